package dev.nightshift.server.hostile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, byte for byte as given: for requests the JDK client refuses to send (invalid header
 * bytes, bad request lines, wrong Content-Length, restricted headers such as Host, Connection and Expect) and for
 * reading whatever comes back, even when it is not well-formed.
 */
final class RawHttp {
  private RawHttp() {}

  /** What came back: the final status (0 when no status line arrived), headers (lower-case names) and body. */
  record Answer(int status, Map<String, String> headers, byte[] body, String failure) {
    String contentType() {
      return headers.getOrDefault("content-type", "");
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    boolean answered() {
      return status > 0;
    }
  }

  /**
   * Sends the request and reads until the server closes the connection (requests should say
   * {@code Connection: close}) or the timeout passes. With {@code halfClose} the socket's output is shut down after
   * sending, so the server sees the body end early.
   */
  static Answer exchange(int port, byte[] request, boolean halfClose, int timeoutMillis) {
    try (Socket socket = new Socket()) {
      socket.setSoTimeout(timeoutMillis);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      String writeFailure = null;
      try {
        OutputStream out = socket.getOutputStream();
        out.write(request);
        out.flush();
        if (halfClose) {
          socket.shutdownOutput();
        }
      } catch (IOException e) {
        writeFailure = "write failed: " + e.getMessage(); // the server may have answered and closed early
      }
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      String readFailure = null;
      try {
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[16 * 1024];
        for (int n; (n = in.read(buf)) >= 0; ) {
          got.write(buf, 0, n);
        }
      } catch (SocketTimeoutException e) {
        readFailure = "no end of answer within " + timeoutMillis + " ms";
      } catch (IOException e) {
        readFailure = "read failed: " + e.getMessage();
      }
      Answer answer = parse(got.toByteArray());
      if (!answer.answered()) {
        String why = readFailure != null ? readFailure : writeFailure != null ? writeFailure : "connection closed";
        return new Answer(0, answer.headers, answer.body, why + " (" + got.size() + " bytes)");
      }
      return answer;
    } catch (IOException e) {
      return new Answer(0, Map.of(), new byte[0], "connect failed: " + e.getMessage());
    }
  }

  /** Parses the last non-1xx response in the bytes (interim 100 Continue answers are skipped). */
  static Answer parse(byte[] raw) {
    int at = 0;
    while (true) {
      int end = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), at);
      if (end < 0 || !startsWith(raw, at, "HTTP/1.")) {
        return new Answer(0, Map.of(), slice(raw, at, raw.length), null);
      }
      String head = new String(raw, at, end - at, StandardCharsets.ISO_8859_1);
      String[] lines = head.split("\r\n");
      String[] statusLine = lines[0].split(" ", 3);
      int status;
      try {
        status = Integer.parseInt(statusLine[1]);
      } catch (RuntimeException e) {
        return new Answer(0, Map.of(), slice(raw, at, raw.length), null);
      }
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
      }
      int bodyStart = end + 4;
      if (status >= 100 && status < 200) {
        at = bodyStart;
        continue;
      }
      byte[] rest = slice(raw, bodyStart, raw.length);
      if ("chunked".equalsIgnoreCase(headers.getOrDefault("transfer-encoding", ""))) {
        rest = dechunk(rest);
      } else if (headers.containsKey("content-length")) {
        try {
          int length = Integer.parseInt(headers.get("content-length"));
          rest = slice(rest, 0, Math.min(length, rest.length));
        } catch (NumberFormatException e) {
          // keep what arrived
        }
      }
      return new Answer(status, headers, rest, null);
    }
  }

  private static byte[] dechunk(byte[] in) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < in.length) {
      int lineEnd = indexOf(in, new byte[] {'\r', '\n'}, at);
      if (lineEnd < 0) {
        break;
      }
      String sizeText = new String(in, at, lineEnd - at, StandardCharsets.US_ASCII).split(";")[0].trim();
      int size;
      try {
        size = Integer.parseInt(sizeText, 16);
      } catch (NumberFormatException e) {
        break;
      }
      if (size == 0) {
        break;
      }
      int from = lineEnd + 2;
      out.write(in, from, Math.min(size, in.length - from));
      at = from + size + 2;
    }
    return out.toByteArray();
  }

  private static boolean startsWith(byte[] raw, int at, String prefix) {
    if (raw.length - at < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (raw[at + i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static byte[] slice(byte[] raw, int from, int to) {
    byte[] out = new byte[Math.max(0, to - from)];
    System.arraycopy(raw, from, out, 0, out.length);
    return out;
  }
}
