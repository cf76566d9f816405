package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;

/** The server's fast instant reader answers exactly as Jackson's own, for what agents send and for anything else. */
class InstantJsonTest {
  static final JsonMapper JACKSON = JsonMapper.builder().build();
  static final JsonMapper FAST =
      JsonMapper.builder().addModule(new SimpleModule().addDeserializer(Instant.class, new InstantJson())).build();

  @Test
  void whatAgentsSendIsReadOnTheFastPathToTheSameInstant() {
    Random random = new Random(42);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      long second = random.nextLong(0, 4_102_444_800L); // 1970 to 2100
      int nanos = switch (i % 4) {
        case 0 -> 0;
        case 1 -> random.nextInt(1_000) * 1_000_000;
        case 2 -> random.nextInt(1_000_000) * 1_000;
        default -> random.nextInt(1_000_000_000);
      };
      sent.add(Instant.ofEpochSecond(second, nanos).toString());
    }
    // fractions of every length, the last second of a day, leap days
    sent.addAll(List.of("2026-12-03T20:07:48.1Z", "2026-12-03T20:07:48.12Z", "2026-12-03T20:07:48.1234Z",
        "2026-12-03T20:07:48.12345Z", "2026-12-03T20:07:48.1234567Z", "2026-12-03T20:07:48.12345678Z",
        "2026-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00Z", "2000-02-29T00:00:00Z", "0000-01-01T00:00:00Z"));
    for (String s : sent) {
      assertThat(InstantJson.parse(s)).as(s).isNotNull().isEqualTo(Instant.parse(s));
      assertThat(FAST.readValue(quoted(s), Instant.class)).as(s).isEqualTo(JACKSON.readValue(quoted(s), Instant.class));
    }
  }

  @Test
  void anythingElseIsJacksonsToAcceptOrRefuseWithItsOwnMessage() {
    // tried: impossible fields, a leap second, broken separators and lengths, lower case, offsets, padding, years
    // beyond four digits, non-digits, empty, and a number
    List<String> others = List.of(
        "\"2026-13-01T00:00:00Z\"", "\"2026-02-30T00:00:00Z\"", "\"2025-02-29T00:00:00Z\"", "\"2026-12-03T24:00:00Z\"",
        "\"2026-12-03T23:60:00Z\"", "\"2026-12-31T23:59:60Z\"", "\"2026-12-03T20:07:48.Z\"",
        "\"2026-12-03T20:07:48.1234567890Z\"", "\"2026-12-03t20:07:48Z\"", "\"2026-12-03T20:07:48z\"",
        "\"2026-12-03T20:07:48+01:00\"", "\"2026-12-03T20:07:48.5+0000\"", "\" 2026-12-03T20:07:48Z \"",
        "\"+10000-01-01T00:00:00Z\"", "\"-0001-01-01T00:00:00Z\"", "\"2026-12-03T2a:07:48Z\"", "\"2026/12/03T20:07:48Z\"",
        "\"2026-12-03 20:07:48Z\"", "\"\"", "\"yesterday\"", "1733256468", "1733256468.5", "null");
    for (String json : others) {
      String unquoted = json.startsWith("\"") ? json.substring(1, json.length() - 1) : json;
      assertThat(InstantJson.parse(unquoted)).as("not on the fast path: %s", json).isNull();
      assertThat(answer(FAST, json)).as(json).isEqualTo(answer(JACKSON, json));
    }
  }

  private static String answer(JsonMapper mapper, String json) {
    try {
      return "value " + mapper.readValue(json, Instant.class);
    } catch (RuntimeException e) {
      return e.getClass().getName() + ": " + e.getMessage().lines().findFirst().orElse("");
    }
  }

  private static String quoted(String s) {
    return '"' + s + '"';
  }
}
