package dev.nightshift.server.system;

import java.beans.PropertyEditorSupport;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.InitBinder;

/**
 * Ids and numbers in paths and query parameters are plain decimal digits with an optional minus sign. Spring's own
 * number editor also reads {@code +1}, {@code 0x10}, {@code #10} and surrounding spaces, so {@code /api/v1/jobs/0x10}
 * would name job 16; here such values are refused (400, naming the parameter, from {@link ProblemHandling}). An
 * editor, not a converter: Spring falls back to its lenient editor when a converter refuses.
 */
@ControllerAdvice
class StrictNumbers {
  private static final Pattern DECIMAL = Pattern.compile("-?[0-9]{1,19}");

  @InitBinder
  void decimalOnly(WebDataBinder binder) {
    binder.registerCustomEditor(long.class, new Decimal(Long::valueOf, false));
    binder.registerCustomEditor(Long.class, new Decimal(Long::valueOf, true));
    binder.registerCustomEditor(int.class, new Decimal(Integer::valueOf, false));
    binder.registerCustomEditor(Integer.class, new Decimal(Integer::valueOf, true));
  }

  /** Reads decimal digits only; NumberFormatException (an IllegalArgumentException) becomes a type mismatch. */
  private static final class Decimal extends PropertyEditorSupport {
    private final Function<String, Number> parse;
    private final boolean emptyIsNull;

    Decimal(Function<String, Number> parse, boolean emptyIsNull) {
      this.parse = parse;
      this.emptyIsNull = emptyIsNull;
    }

    @Override
    public void setAsText(String text) {
      if (text == null || (text.isEmpty() && emptyIsNull)) {
        setValue(null);
        return;
      }
      if (!DECIMAL.matcher(text).matches()) {
        throw new NumberFormatException("not a decimal number: " + text);
      }
      setValue(parse.apply(text));
    }
  }
}
