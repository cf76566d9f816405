package dev.nightshift.server.system;

/**
 * Checks on text the server stores or hands to agents. Names shown to people carry no control characters; text run
 * as a command or passed as an environment variable carries no NUL (no process could receive it); no text carries
 * a lone UTF-16 surrogate (it cannot be stored as UTF-8 and would silently become '?').
 */
public final class Text {
  private Text() {}

  /**
   * The text with every control character (CR, LF, ESC ...) shown as '?', for log lines: text from agents or
   * clients can never forge a line or a terminal escape in the server's log.
   */
  public static String printable(Object value) {
    return value == null ? null : String.valueOf(value).replaceAll("\\p{Cntrl}", "?");
  }

  /** What is wrong with a name (no control characters, no lone surrogates), or null when it is fine. */
  public static String nameProblem(String field, String value) {
    return problem(field, value, true);
  }

  /** What is wrong with command or environment text (no NUL, no lone surrogates), or null when it is fine. */
  public static String textProblem(String field, String value) {
    return problem(field, value, false);
  }

  private static String problem(String field, String value, boolean name) {
    if (value == null) {
      return null;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
        continue;
      }
      if (Character.isSurrogate(c)) {
        return field + " contains an unpaired UTF-16 surrogate at position " + (i + 1) + ": send valid Unicode text";
      }
      if (c == 0 || (name && Character.isISOControl(c))) {
        return field + " must not contain " + (name ? "control characters" : "NUL characters") + " (found U+"
            + String.format("%04X", (int) c) + " at position " + (i + 1) + ")";
      }
    }
    return null;
  }
}
