package dev.nightshift.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The dashboard as a logged-in admin sees it: signs in through the login form once, then fetches pages. */
public final class DashboardPages {
  private final HttpClient client;
  private final String base;

  private DashboardPages(HttpClient client, String base) {
    this.client = client;
    this.base = base;
  }

  /** Signs in as admin (form login with its CSRF token). */
  public static DashboardPages admin(int port) throws Exception {
    HttpClient client =
        HttpClient.newBuilder().cookieHandler(new CookieManager()).followRedirects(HttpClient.Redirect.NEVER).build();
    DashboardPages pages = new DashboardPages(client, "http://127.0.0.1:" + port);
    Matcher csrf = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"").matcher(pages.get("/login").body());
    assertThat(csrf.find()).as("the login form carries a CSRF token").isTrue();
    String form = "username=admin&password=" + URLEncoder.encode(Http.ADMIN_PASSWORD, StandardCharsets.UTF_8)
        + "&_csrf=" + URLEncoder.encode(csrf.group(1), StandardCharsets.UTF_8);
    HttpResponse<String> in =
        client.send(
            HttpRequest.newBuilder(URI.create(pages.base + "/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(in.headers().firstValue("Location").orElse("")).doesNotContain("error");
    return pages;
  }

  public HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
