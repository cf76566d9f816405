package dev.nightshift.server.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import java.util.Set;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Stops cross-site request forgery on {@code /api/**}: a browser that has cached an admin's Basic credentials sends
 * them with any request to this server, also one a page on another origin makes it send. So a state-changing API
 * request (anything but GET, HEAD, OPTIONS) is refused
 * <ul>
 *   <li>403 when the browser says it comes from another site ({@code Sec-Fetch-Site: cross-site} or
 *       {@code same-site}) or from another origin ({@code Origin} not this server's scheme, host and port, or
 *       {@code null});
 *   <li>415 when its body is of a type an HTML form can send without the page being allowed to
 *       ({@code text/plain}, {@code application/x-www-form-urlencoded}, {@code multipart/form-data}): API writes
 *       take {@code application/json} (items also {@code application/x-ndjson}), which another origin cannot send
 *       without a CORS preflight, and this server answers no preflight.
 * </ul>
 * Scripts (curl, CI) send neither header, so they are not affected; the dashboard's own forms post to
 * {@code /ui/**} with a CSRF token.
 */
class BrowserWriteFilter extends OncePerRequestFilter {
  private static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS", "TRACE");
  private static final Set<String> FORM_TYPES =
      Set.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data");
  private final JsonMapper json;

  BrowserWriteFilter(JsonMapper json) {
    this.json = json;
  }

  @Override
  protected boolean shouldNotFilter(HttpServletRequest request) {
    return SAFE.contains(request.getMethod()) || !request.getRequestURI().startsWith("/api/");
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String site = request.getHeader("Sec-Fetch-Site");
    if (site != null && (site.equalsIgnoreCase("cross-site") || site.equalsIgnoreCase("same-site"))) {
      SecurityConfig.problem(json, response, HttpStatus.FORBIDDEN,
          "Cross-site request refused: a page on another site may not change anything here (Sec-Fetch-Site: "
              + site + "). Use the dashboard, or call the API from a script.", "CROSS_SITE");
      return;
    }
    String origin = request.getHeader("Origin");
    if (origin != null && !sameOrigin(origin, request)) {
      SecurityConfig.problem(json, response, HttpStatus.FORBIDDEN,
          "Cross-origin request refused: Origin " + clip(origin) + " is not this server. Use the dashboard, or"
              + " call the API from a script.", "CROSS_SITE");
      return;
    }
    String type = request.getContentType();
    if (type != null) {
      String mediaType = type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (FORM_TYPES.contains(mediaType)) {
        SecurityConfig.problem(json, response, HttpStatus.UNSUPPORTED_MEDIA_TYPE,
            "API writes take Content-Type: application/json (job items also application/x-ndjson), not "
                + mediaType + ".", "FORM_CONTENT_TYPE");
        return;
      }
    }
    chain.doFilter(request, response);
  }

  /** Whether {@code origin} is this server as the request reached it (scheme, host and port). */
  private static boolean sameOrigin(String origin, HttpServletRequest request) {
    try {
      URI o = URI.create(origin.trim());
      if (o.getScheme() == null || o.getHost() == null) {
        return false; // "null" (sandboxed frames, file: pages) and garbage
      }
      int port = o.getPort() != -1 ? o.getPort() : o.getScheme().equalsIgnoreCase("https") ? 443 : 80;
      return o.getScheme().equalsIgnoreCase(request.getScheme())
          && o.getHost().equalsIgnoreCase(request.getServerName())
          && port == request.getServerPort();
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String clip(String s) {
    String oneLine = s.replaceAll("\\p{Cntrl}", "?");
    return oneLine.length() > 100 ? oneLine.substring(0, 100) + "…" : oneLine;
  }
}
