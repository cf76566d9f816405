package dev.nightshift.agent.trust;

import dev.nightshift.agent.system.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The entry points a release offers, from {@code nightshift.json} at its root:
 *
 * <pre>{"entryPoints": {"process": {"command": ["python3", "process.py"], "description": "..."}}}</pre>
 *
 * A job names an entry point and its arguments; the agent runs the entry point's command followed by the arguments,
 * without a shell. Since the manifest is part of the signed commit, the commands a job can run are the signer's.
 */
public record Manifest(Map<String, EntryPoint> entryPoints) {
  /** The manifest's path in the repository. */
  public static final String FILE = "nightshift.json";

  /** One runnable command of a release. */
  public record EntryPoint(List<String> command, String description) {
    public EntryPoint {
      command = List.copyOf(command);
    }
  }

  public Manifest {
    entryPoints = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entryPoints));
  }

  /**
   * Parses a manifest.
   *
   * @throws IllegalArgumentException naming what is wrong with it
   */
  public static Manifest parse(byte[] json) {
    JsonNode root;
    try {
      root = Json.mapper().readTree(json);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(FILE + " is not valid JSON: " + e.getMessage());
    }
    JsonNode eps = root == null ? null : root.get("entryPoints");
    if (eps == null || !eps.isObject()) {
      throw new IllegalArgumentException(FILE + " needs an object \"entryPoints\": {\"name\": {\"command\":"
          + " [\"python3\", \"process.py\"]}}");
    }
    Map<String, EntryPoint> found = new LinkedHashMap<>();
    for (var e : eps.properties()) {
      JsonNode cmd = e.getValue().get("command");
      if (cmd == null || !cmd.isArray() || cmd.isEmpty()) {
        throw new IllegalArgumentException(FILE + ": entry point '" + e.getKey() + "' needs \"command\": a"
            + " non-empty array of strings (the program and its first arguments; no shell runs it)");
      }
      List<String> argv = new ArrayList<>();
      for (JsonNode a : cmd) {
        if (!a.isString()) {
          throw new IllegalArgumentException(FILE + ": entry point '" + e.getKey() + "': command holds a "
              + a.getNodeType() + "; every element must be a string");
        }
        argv.add(a.asString());
      }
      JsonNode d = e.getValue().get("description");
      found.put(e.getKey(), new EntryPoint(argv, d == null || d.isNull() ? null : d.asString()));
    }
    return new Manifest(found);
  }
}
