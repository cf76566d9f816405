package dev.nightshift.server.system;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/** Converts between the application's instants and the database's UTC DATETIME(6) columns. */
public final class Times {
  private Times() {}

  public static LocalDateTime db(Instant instant) {
    // what LocalDateTime.ofInstant(instant, UTC) computes, without building the offset's ZoneRules on every call
    return instant == null
        ? null
        : LocalDateTime.ofEpochSecond(instant.getEpochSecond(), instant.getNano(), ZoneOffset.UTC);
  }

  public static Instant instant(Object column) {
    if (column == null) {
      return null;
    }
    if (column instanceof LocalDateTime ldt) {
      return ldt.toInstant(ZoneOffset.UTC);
    }
    if (column instanceof Timestamp ts) {
      return ts.toLocalDateTime().toInstant(ZoneOffset.UTC);
    }
    throw new IllegalArgumentException("not a timestamp: " + column.getClass());
  }

  public static Instant instant(java.sql.ResultSet rs, String column) throws java.sql.SQLException {
    LocalDateTime value = rs.getObject(column, LocalDateTime.class);
    return value == null ? null : value.toInstant(ZoneOffset.UTC);
  }
}
