package dev.nightshift.server.system;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads an admin API request body into its record, refusing fields the record does not have (a typo such as
 * {@code passwrod} or {@code batchsize} would otherwise be silently ignored), also inside nested records. The agent
 * protocol stays lenient on purpose: a newer agent may send fields an older server does not know.
 */
public final class JsonBodies {
  private JsonBodies() {}

  public static <T extends Record> T read(JsonMapper json, JsonNode body, Class<T> type) {
    if (body == null || !body.isObject()) {
      throw ProblemException.badRequest(
          "the body must be a JSON object with the fields " + new TreeSet<>(components(type).keySet()));
    }
    List<String> unknown = new ArrayList<>();
    collectUnknown(body, type, "", unknown);
    if (!unknown.isEmpty()) {
      throw ProblemException.badRequest(
          "unknown field(s) " + unknown + "; known fields are " + new TreeSet<>(components(type).keySet()));
    }
    try {
      return json.treeToValue(body, type);
    } catch (JacksonException e) {
      throw ProblemException.badRequest(JsonProblems.describe(e));
    }
  }

  private static void collectUnknown(JsonNode node, Class<?> type, String prefix, List<String> out) {
    Map<String, RecordComponent> known = components(type);
    for (String name : node.propertyNames()) {
      RecordComponent component = known.get(name);
      if (component == null) {
        out.add(prefix + name);
      } else if (component.getType().isRecord() && node.get(name).isObject()) {
        collectUnknown(node.get(name), component.getType(), prefix + name + ".", out);
      }
    }
  }

  private static Map<String, RecordComponent> components(Class<?> type) {
    Map<String, RecordComponent> out = new LinkedHashMap<>();
    for (RecordComponent c : type.getRecordComponents()) {
      out.put(c.getName(), c);
    }
    return out;
  }
}
