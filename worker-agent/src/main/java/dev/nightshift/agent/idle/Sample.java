package dev.nightshift.agent.idle;

/**
 * One probe reading: a value, or unknown (null) when the probe could not read its signal; {@code text} says what
 * was read, or why nothing could be, in words for {@code nightshift-agent status}.
 */
public record Sample<T>(T value, String text) {
  public static <T> Sample<T> known(T value, String text) {
    return new Sample<>(value, text);
  }

  public static <T> Sample<T> unknown(String why) {
    return new Sample<>(null, "unknown (" + why + ")");
  }

  public boolean isKnown() {
    return value != null;
  }
}
