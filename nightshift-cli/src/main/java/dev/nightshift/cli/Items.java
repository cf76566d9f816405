package dev.nightshift.cli;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.LongConsumer;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;

/**
 * Items files as the server streams them: a JSON array becomes NDJSON (one line per element), NDJSON goes as it is
 * (CSV goes as it is too, as {@code text/csv}: the server parses it). Converts as the upload reads, so memory does
 * not grow with the file; a malformed array throws {@link ItemsException} naming the line, which aborts the upload.
 */
final class Items {
  enum Format {
    JSON,
    NDJSON,
    CSV;

    static Format parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw CliException.usage("format '" + s + "' is not one of json, ndjson, csv");
      }
    }
  }

  private Items() {}

  /** The format by file name; null when the name does not say (the content decides: '[' starts a JSON array). */
  static Format byName(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".csv")) {
      return Format.CSV;
    }
    if (n.endsWith(".ndjson") || n.endsWith(".jsonl")) {
      return Format.NDJSON;
    }
    return null;
  }

  /** NDJSON read from {@code source} in {@code format} (null: JSON when it starts with '[', else NDJSON). */
  static InputStream ndjson(InputStream source, Format format, String name) throws IOException {
    BufferedInputStream in = new BufferedInputStream(source, 64 * 1024);
    if (format == null) {
      format = startsWithBracket(in) ? Format.JSON : Format.NDJSON;
    }
    return switch (format) {
      case NDJSON -> in;
      case JSON -> new Converted(new JsonArrayItems(in, name));
      case CSV -> throw new IllegalArgumentException("CSV goes to the server as it is");
    };
  }

  private static boolean startsWithBracket(BufferedInputStream in) throws IOException {
    in.mark(64 * 1024);
    try {
      int c;
      int n = 0;
      do {
        c = in.read();
        n++;
      } while (c >= 0 && n < 64 * 1024 && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF
          || c == 0xBB || c == 0xBF));
      return c == '[';
    } finally {
      in.reset();
    }
  }

  /** Produces the next item as one JSON line, or null at the end. */
  interface Source {
    String next() throws IOException;
  }

  /** An InputStream over the lines a {@link Source} produces. */
  static final class Converted extends InputStream {
    private final Source source;
    private byte[] buf = new byte[0];
    private int pos;
    private boolean end;

    Converted(Source source) {
      this.source = source;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      while (pos >= buf.length) {
        if (end) {
          return -1;
        }
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        while (chunk.size() < 64 * 1024) {
          String line = source.next();
          if (line == null) {
            end = true;
            break;
          }
          chunk.writeBytes(line.getBytes(StandardCharsets.UTF_8));
          chunk.write('\n');
        }
        buf = chunk.toByteArray();
        pos = 0;
      }
      int n = Math.min(len, buf.length - pos);
      System.arraycopy(buf, pos, b, off, n);
      pos += n;
      return n;
    }
  }

  /** Elements of a top-level JSON array, streamed. */
  static final class JsonArrayItems implements Source {
    private static final tools.jackson.databind.ObjectReader ELEMENT =
        ApiClient.JSON
            .readerFor(JsonNode.class)
            .without(tools.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final JsonParser parser;
    private final String name;
    private boolean started;

    JsonArrayItems(InputStream in, String name) {
      this.parser = ApiClient.JSON.createParser(in);
      this.name = name;
    }

    @Override
    public String next() throws IOException {
      try {
        if (!started) {
          started = true;
          if (parser.nextToken() != JsonToken.START_ARRAY) {
            throw new ItemsException(name + ": expected a JSON array of items (or use --format ndjson)");
          }
        }
        JsonToken t = parser.nextToken();
        if (t == JsonToken.END_ARRAY) {
          if (parser.nextToken() != null) {
            throw new ItemsException(
                name + " line " + parser.currentLocation().getLineNr() + ": content after the end of the array");
          }
          return null;
        }
        if (t == null) {
          throw new ItemsException(name + ": the JSON array is not closed (missing ']')");
        }
        JsonNode item = ELEMENT.readValue(parser);
        return ApiClient.JSON.writeValueAsString(item);
      } catch (JacksonException e) {
        throw new ItemsException(
            name + " line " + e.getLocation().getLineNr() + ": malformed JSON: " + e.getOriginalMessage());
      }
    }
  }

  /** Counts the bytes read through it and reports the running total. */
  static final class Counting extends FilterInputStream {
    private final LongConsumer progress;
    private long count;

    Counting(InputStream in, LongConsumer progress) {
      super(in);
      this.progress = progress;
    }

    @Override
    public int read() throws IOException {
      int c = super.read();
      if (c >= 0) {
        progress.accept(++count);
      }
      return c;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
        progress.accept(count);
      }
      return n;
    }

    long count() {
      return count;
    }
  }
}
