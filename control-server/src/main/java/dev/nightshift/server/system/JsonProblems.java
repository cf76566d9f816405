package dev.nightshift.server.system;

import java.util.List;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

/** Turns Jackson's errors into sentences that name the field or position and say what was expected. */
public final class JsonProblems {
  private JsonProblems() {}

  public static String describe(JacksonException json) {
    String field = fieldPath(json.getPath());
    if (json instanceof UnrecognizedPropertyException unknown) {
      return "Unknown field '"
          + field
          + "'; known fields are: "
          + unknown.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", "));
    }
    if (json instanceof InvalidFormatException invalid) {
      return "Field '"
          + field
          + "' has the wrong type: got "
          + quote(invalid.getValue())
          + ", expected "
          + typeName(invalid.getTargetType());
    }
    if (json instanceof MismatchedInputException mismatch && !field.isEmpty()) {
      return "Field '" + field + "' has the wrong type: expected " + typeName(mismatch.getTargetType());
    }
    TokenStreamLocation at = json.getLocation();
    String where = at == null || at.getLineNr() < 0 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    return "Malformed JSON" + where + ": " + json.getOriginalMessage();
  }

  private static String fieldPath(List<JacksonException.Reference> path) {
    StringBuilder out = new StringBuilder();
    for (JacksonException.Reference ref : path) {
      if (ref.getPropertyName() != null) {
        if (!out.isEmpty()) {
          out.append('.');
        }
        out.append(ref.getPropertyName());
      } else if (ref.getIndex() >= 0) {
        out.append('[').append(ref.getIndex()).append(']');
      }
    }
    return out.toString();
  }

  private static String quote(Object value) {
    return value instanceof String s ? "\"" + s + "\"" : String.valueOf(value);
  }

  static String typeName(Class<?> type) {
    if (type == null) {
      return "another type";
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "a whole number";
    }
    if (type == String.class) {
      return "a string";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (java.util.Map.class.isAssignableFrom(type) || type.isRecord()) {
      return "an object";
    }
    if (java.util.Collection.class.isAssignableFrom(type) || type.isArray()) {
      return "an array";
    }
    if (type.isEnum()) {
      return "one of " + java.util.Arrays.toString(type.getEnumConstants());
    }
    return type.getSimpleName();
  }
}
