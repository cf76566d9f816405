package dev.nightshift.server.system;

import java.util.regex.Pattern;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.convert.converter.Converter;
import org.springframework.format.FormatterRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Ids and numbers in paths and query parameters are plain decimal digits with an optional minus sign. Spring's own
 * conversion also reads {@code +1}, {@code 0x10}, {@code #10} and surrounding spaces, so {@code /api/v1/jobs/0x10}
 * would name job 16; here such values are refused (400, naming the parameter).
 */
@Configuration(proxyBeanMethods = false)
class StrictNumbers implements WebMvcConfigurer {
  private static final Pattern DECIMAL = Pattern.compile("-?[0-9]{1,20}");

  @Override
  public void addFormatters(FormatterRegistry registry) {
    registry.addConverter(String.class, Long.class, (Converter<String, Long>) s -> s.isEmpty() ? null : Long.valueOf(decimal(s)));
    registry.addConverter(
        String.class, Integer.class, (Converter<String, Integer>) s -> s.isEmpty() ? null : Integer.valueOf(decimal(s)));
  }

  private static String decimal(String s) {
    if (!DECIMAL.matcher(s).matches()) {
      throw new NumberFormatException("not a decimal number: " + s);
    }
    return s;
  }
}
