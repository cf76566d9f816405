package dev.nightshift.server.jobs;

import dev.nightshift.server.system.ProblemException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads NDJSON items from a stream one line at a time, never holding more than one line: each non-blank line must
 * be exactly one JSON value; an error names the line. Lines are passed on as sent (trimmed).
 */
final class NdjsonItems {
  private final JsonMapper json;
  private final int maxLine;

  NdjsonItems(JsonMapper json, int maxLine) {
    this.json = json;
    this.maxLine = maxLine;
  }

  void read(InputStream in, Consumer<String> sink) {
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    Reader reader = new InputStreamReader(in, decoder);
    char[] buf = new char[64 * 1024];
    StringBuilder line = new StringBuilder();
    long lineNo = 1;
    try {
      int n;
      while ((n = reader.read(buf)) > 0) {
        int from = 0;
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            line.append(buf, from, i - from);
            accept(line, lineNo++, sink);
            line.setLength(0);
            from = i + 1;
          }
        }
        line.append(buf, from, n - from);
        if (line.length() > maxLine) {
          throw ProblemException.badRequest(
              "line " + lineNo + " is longer than the limit of " + maxLine + " characters for one item");
        }
      }
      accept(line, lineNo, sink);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw ProblemException.badRequest("line " + lineNo + " is not valid UTF-8: send the items as UTF-8");
    } catch (IOException e) {
      if (e instanceof dev.nightshift.server.system.PayloadTooLargeException) {
        throw new UncheckedIOException(e);
      }
      throw new UncheckedIOException("reading the upload failed at line " + lineNo, e);
    }
  }

  private void accept(StringBuilder raw, long lineNo, Consumer<String> sink) {
    if (raw.length() > maxLine) {
      throw ProblemException.badRequest(
          "line " + lineNo + " is longer than the limit of " + maxLine + " characters for one item");
    }
    String line = raw.toString().strip();
    if (lineNo == 1 && line.startsWith("\uFEFF")) {
      line = line.substring(1).strip();
    }
    if (line.isEmpty()) {
      return;
    }
    try (JsonParser parser = json.createParser(line)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        return;
      }
      parser.skipChildren();
      if (parser.nextToken() != null) {
        throw ProblemException.badRequest(
            "line " + lineNo + " holds more than one JSON value: put one item per line");
      }
    } catch (JacksonException e) {
      throw ProblemException.badRequest(
          "line " + lineNo + " is not valid JSON (" + e.getOriginalMessage() + "): put one JSON value per line");
    }
    sink.accept(line);
  }
}
