package dev.nightshift.server.system;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import org.springframework.boot.jackson.JacksonComponent;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.ValueDeserializer;
import tools.jackson.databind.ext.javatime.deser.InstantDeserializer;

/**
 * Reads the instants agents send ({@code Instant.toString()}: {@code 2026-12-03T20:07:48.123456Z}, two in every
 * report) without Jackson's {@code DateTimeFormatter} parse, which built a parse context and a field map per value
 * and took about 9 % of the server's CPU while agents drained no-op batches (JFR, QueueBenchmark). Any other form
 * (an offset, a lower-case z, a number, a bad value) goes to Jackson's own {@link InstantDeserializer}, so what is
 * accepted, and the error for what is not, are exactly Jackson's. {@code InstantJsonTest} compares the two.
 */
@JacksonComponent
public class InstantJson extends ValueDeserializer<Instant> {
  private static final int SHORTEST = "2026-12-03T20:07:48Z".length();
  private static final int LONGEST = "2026-12-03T20:07:48.123456789Z".length();

  @Override
  public Instant deserialize(JsonParser p, DeserializationContext ctxt) {
    if (p.currentToken() == JsonToken.VALUE_STRING) {
      Instant fast = parse(p.getString());
      if (fast != null) {
        return fast;
      }
    }
    return InstantDeserializer.INSTANT.deserialize(p, ctxt);
  }

  @Override
  public Class<?> handledType() {
    return Instant.class;
  }

  /** {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} with valid fields, or null for anything else. */
  static Instant parse(String s) {
    int n = s.length();
    if (n < SHORTEST || n > LONGEST || n == SHORTEST + 1 || s.charAt(n - 1) != 'Z') {
      return null;
    }
    if (s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T' || s.charAt(13) != ':'
        || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    if ((year | month | day | hour | minute | second) < 0 || hour > 23 || minute > 59 || second > 59) {
      return null;
    }
    int nanos = 0;
    if (n > SHORTEST) {
      if (s.charAt(19) != '.') {
        return null;
      }
      int fraction = n - SHORTEST - 1;
      nanos = digits(s, 20, fraction);
      if (nanos < 0) {
        return null;
      }
      for (int i = fraction; i < 9; i++) {
        nanos *= 10;
      }
    }
    long days;
    try {
      days = LocalDate.of(year, month, day).toEpochDay();
    } catch (DateTimeException e) {
      return null; // Jackson says what is wrong with it
    }
    return Instant.ofEpochSecond(days * 86_400 + hour * 3_600 + minute * 60 + second, nanos);
  }

  /** The decimal value of s[from, from + count), or -1 if any of them is not an ASCII digit. */
  private static int digits(String s, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
