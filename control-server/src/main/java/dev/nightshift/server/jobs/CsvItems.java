package dev.nightshift.server.jobs;

import dev.nightshift.server.system.ProblemException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Reads CSV items from a stream one record at a time (RFC 4180: quoted fields may hold commas, doubled quotes and
 * line breaks; CRLF or LF; UTF-8 with or without a byte order mark). With a header row each record becomes a JSON
 * object keyed by the header's names, every value a string; without one ({@code csvHeader=false}) each line is one
 * JSON string item, taken as sent. Blank lines are skipped. Errors name the line where the record starts.
 */
final class CsvItems {
  private final JsonMapper json;
  private final int maxRecord;

  CsvItems(JsonMapper json, int maxRecord) {
    this.json = json;
    this.maxRecord = maxRecord;
  }

  void read(InputStream in, boolean header, Consumer<String> sink) {
    Records records = new Records(in, maxRecord);
    try {
      if (!header) {
        String line;
        while ((line = records.nextLine()) != null) {
          if (!line.isEmpty()) {
            sink.accept(json.writeValueAsString(line));
          }
        }
        return;
      }
      List<String> names = records.next();
      if (names == null) {
        return; // no items: the submission says so
      }
      long headerLine = records.recordLine;
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < names.size(); i++) {
        String name = names.get(i).strip();
        names.set(i, name);
        if (name.isEmpty()) {
          throw ProblemException.badRequest(
              "line " + headerLine + ": column " + (i + 1) + " of the header row has no name; name every column"
                  + " (or send csvHeader=false to take each line as one string item)");
        }
        if (!seen.add(name)) {
          throw ProblemException.badRequest(
              "line " + headerLine + ": the header row names column '" + name + "' twice; column names must be"
                  + " unique");
        }
      }
      List<String> row;
      while ((row = records.next()) != null) {
        if (row.size() != names.size()) {
          throw ProblemException.badRequest(
              "line " + records.recordLine + ": the row has " + row.size() + " field(s) but the header has "
                  + names.size() + "; quote fields that hold commas (\"a,b\")");
        }
        ObjectNode item = json.createObjectNode();
        for (int i = 0; i < names.size(); i++) {
          item.put(names.get(i), row.get(i));
        }
        sink.accept(json.writeValueAsString(item));
      }
    } catch (CharacterCodingException e) {
      throw ProblemException.badRequest(
          "line " + records.line + " is not valid UTF-8: save the CSV as UTF-8 and send it again");
    } catch (IOException e) {
      if (e instanceof dev.nightshift.server.system.PayloadTooLargeException) {
        throw new UncheckedIOException(e);
      }
      throw new UncheckedIOException("reading the upload failed at line " + records.line, e);
    }
  }

  /**
   * A character-level RFC 4180 reader that keeps only the current record. It decodes UTF-8 itself so that
   * everything before a malformed byte is read first and the error names the line the byte is on.
   */
  private static final class Records {
    private final InputStream in;
    private final int maxRecord;
    private final CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteBuffer bytes = ByteBuffer.allocate(64 * 1024).flip();
    private final CharBuffer chars = CharBuffer.allocate(64 * 1024);
    private final char[] buf = chars.array();
    private boolean eof;
    private CoderResult malformed;
    private int pos;
    private int len;
    private boolean started;
    /** The physical line being read (1-based). */
    long line = 1;
    /** The line the last record returned started on. */
    long recordLine;

    Records(InputStream in, int maxRecord) {
      this.in = in;
      this.maxRecord = maxRecord;
    }

    /** Decodes the next characters into buf; false at the end of the input. */
    private boolean fill() throws IOException {
      chars.clear();
      while (chars.position() == 0) {
        if (malformed != null) {
          malformed.throwException();
        }
        if (!bytes.hasRemaining() && eof) {
          return false;
        }
        if (!eof) {
          bytes.compact();
          int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
          if (n < 0) {
            eof = true;
          } else {
            bytes.position(bytes.position() + n);
          }
          bytes.flip();
        }
        CoderResult result = decoder.decode(bytes, chars, eof);
        if (result.isError()) {
          malformed = result; // thrown once the characters before it are read
        } else if (eof && !bytes.hasRemaining()) {
          decoder.flush(chars);
          eof = true;
        }
      }
      pos = 0;
      len = chars.position();
      return true;
    }

    /** The next character, or -1 at the end; a byte order mark at the very start is skipped. */
    private int read() throws IOException {
      if (pos == len) {
        if (!fill()) {
          len = 0;
          pos = 0;
          return -1;
        }
      }
      char c = buf[pos++];
      if (!started) {
        started = true;
        if (c == '\uFEFF') {
          return read();
        }
      }
      return c;
    }

    private int peek() throws IOException {
      int c = read();
      if (c >= 0) {
        pos--;
      }
      return c;
    }

    private void tooLong(int size) {
      if (size > maxRecord) {
        throw ProblemException.badRequest(
            "line " + recordLine + ": the record is longer than the limit of " + maxRecord
                + " characters for one item (is a quote left open?)");
      }
    }

    /** One physical line without its line break, or null at the end. */
    String nextLine() throws IOException {
      StringBuilder sb = new StringBuilder();
      recordLine = line;
      int c = read();
      if (c < 0) {
        return null;
      }
      while (c >= 0 && c != '\n') {
        sb.append((char) c);
        tooLong(sb.length());
        c = read();
      }
      line++;
      int end = sb.length();
      if (end > 0 && sb.charAt(end - 1) == '\r') {
        sb.setLength(end - 1);
      }
      return sb.toString();
    }

    /** The next non-blank record's fields, or null at the end. */
    List<String> next() throws IOException {
      while (true) {
        recordLine = line;
        int c = peek();
        if (c < 0) {
          return null;
        }
        if (c == '\n' || c == '\r') {
          read();
          if (c == '\r' && peek() == '\n') {
            read();
          }
          line++;
          continue; // a blank line
        }
        return record();
      }
    }

    private List<String> record() throws IOException {
      List<String> fields = new ArrayList<>();
      StringBuilder field = new StringBuilder();
      int size = 0;
      while (true) {
        int c = read();
        if (c == '"' && field.isEmpty()) {
          long opened = line;
          while (true) {
            int q = read();
            if (q < 0) {
              throw ProblemException.badRequest(
                  "line " + opened + ": a quoted field opened here is never closed; close it with \" (write a"
                      + " quote inside a field as \"\")");
            }
            if (q == '"') {
              if (peek() == '"') {
                read();
                field.append('"');
              } else {
                break;
              }
            } else {
              if (q == '\n') {
                line++;
              }
              field.append((char) q);
            }
            tooLong(size + field.length());
          }
          c = read();
          if (c >= 0 && c != ',' && c != '\n' && c != '\r') {
            throw ProblemException.badRequest(
                "line " + line + ": text follows the closing quote of a field; write a quote inside a quoted field"
                    + " as \"\"");
          }
        } else {
          while (c >= 0 && c != ',' && c != '\n' && c != '\r') {
            if (c == '"') {
              throw ProblemException.badRequest(
                  "line " + line + ": a quote inside an unquoted field; enclose the field in quotes and double"
                      + " the quote (\"say \"\"hi\"\"\")");
            }
            field.append((char) c);
            tooLong(size + field.length());
            c = read();
          }
        }
        size += field.length() + 1;
        fields.add(field.toString());
        field.setLength(0);
        if (c == ',') {
          continue;
        }
        if (c == '\r' && peek() == '\n') {
          read();
        }
        if (c >= 0) {
          line++;
        }
        return fields;
      }
    }
  }
}
