package dev.nightshift.server.jobs;

import dev.nightshift.server.system.ProblemException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import dev.nightshift.server.system.Text;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.JsonNode;

/**
 * A job as an admin submits it. Either {@code items} (any JSON values) or {@code range} (numbers from start,
 * inclusive, to end, exclusive); everything but name, command and batchSize is optional. {@code maxDataLagSeconds}
 * and {@code minDataPosition} make it a job for workers with fresh reference data only (docs/reference-data.md).
 * {@code retention} ("7d", "12h", "90m") is how long after the job finishes its inputs, results and attempts are kept;
 * left out, the server's {@code nightshift.retention.finished-jobs} applies. {@code secrets} are like {@code env} for
 * the script, but sealed at rest and never shown ({@link JobSecrets}); only in a JSON body, never in a URL.
 */
record JobSubmission(
    String name,
    String command,
    Integer batchSize,
    List<JsonNode> items,
    Range range,
    Integer priority,
    Integer maxAttempts,
    Integer timeoutSeconds,
    Integer maxParallel,
    Map<String, String> env,
    Map<String, String> labels,
    String commit,
    Long maxDataLagSeconds,
    String minDataPosition,
    String retention,
    Map<String, String> secrets,
    String entryPoint,
    List<String> args) {

  /** The most arguments an entry point may be given. */
  static final int MAX_ARGS = 1000;

  /** The longest lag a job may allow: 30 days. */
  static final long MAX_DATA_LAG_SECONDS = 30L * 24 * 3600;

  record Range(Long start, Long end) {}

  static final int DEFAULT_MAX_ATTEMPTS = 3;
  static final int DEFAULT_TIMEOUT_SECONDS = 3600;
  static final int MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
  /** env and labels are each stored as one JSON text (a MySQL TEXT column): all names and values together. */
  static final int MAX_MAP_BYTES = 65_535;
  static final int MAX_LABEL_VALUE = 200;
  static final Duration MAX_RETENTION = Duration.ofDays(36_500);

  /** "30d", "12h", "90m" (whole days, hours or minutes) as a duration; null when not of that form. */
  static Duration parseRetention(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,7})([dhm])").matcher(text.strip());
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "d" -> Duration.ofDays(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofMinutes(n);
    };
  }
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** Adds an error when the map, stored as JSON, passes {@link #MAX_MAP_BYTES}. */
  private static void tooLarge(String field, Map<String, String> map, List<String> errors) {
    int bytes = JSON.writeValueAsBytes(map).length;
    if (bytes > MAX_MAP_BYTES) {
      errors.add(field + " is " + bytes + " bytes as JSON; all its names and values together may be at most "
          + MAX_MAP_BYTES + " bytes (UTF-8)");
    }
  }

  /** Checks every field, collecting all problems into one message, and applies defaults. */
  JobSpec validate(boolean streamed) {
    List<String> errors = new ArrayList<>();
    if (name == null || name.isBlank()) {
      errors.add("name is required");
    } else if (name.length() > 200) {
      errors.add("name must be at most 200 characters");
    } else if (Text.nameProblem("name", name) != null) {
      errors.add(Text.nameProblem("name", name));
    }
    if (entryPoint != null) {
      if (command != null) {
        errors.add("give either command (a shell command) or entryPoint (an entry point of the release's"
            + " nightshift.json), not both; agents that run only signed code accept entryPoint only");
      }
      if (!entryPoint.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")) {
        errors.add("entryPoint must be the name of an entry point in the release's nightshift.json: 1-100 letters,"
            + " digits, '_', '.', '-' (got '" + entryPoint + "')");
      }
      if (args != null) {
        if (args.size() > MAX_ARGS) {
          errors.add("args has " + args.size() + " elements; at most " + MAX_ARGS + " are allowed");
        }
        for (int i = 0; i < args.size(); i++) {
          String a = args.get(i);
          if (a == null) {
            errors.add("args[" + i + "] is null; every argument must be a string");
          } else if (a.indexOf('\0') >= 0) {
            errors.add("args[" + i + "] holds a NUL character, which no program argument can");
          }
        }
        if (errors.isEmpty() && JSON.writeValueAsBytes(args).length > MAX_MAP_BYTES) {
          errors.add("args are more than " + MAX_MAP_BYTES + " bytes as JSON");
        }
      }
    } else if (args != null) {
      errors.add("args go with an entryPoint (they are appended to its command); a command carries its arguments"
          + " itself");
    } else if (command == null || command.isBlank()) {
      errors.add("command or entryPoint is required: entryPoint names an entry point of the release's"
          + " nightshift.json (what agents that run only signed code accept), command is a shell command run for"
          + " each batch");
    } else if (command.length() > 10_000) {
      errors.add("command must be at most 10000 characters");
    } else if (Text.textProblem("command", command) != null) {
      errors.add(Text.textProblem("command", command));
    }
    if (batchSize == null) {
      errors.add("batchSize is required (items per batch, at least 1)");
    } else if (batchSize < 1 || batchSize > 1_000_000) {
      errors.add("batchSize must be between 1 and 1000000 (got " + batchSize + ")");
    }
    if (!streamed) {
      if (items == null && range == null) {
        errors.add("give either items (a JSON array) or range ({\"start\": 0, \"end\": 1000})");
      } else if (items != null && range != null) {
        errors.add("give either items or range, not both");
      }
      if (range != null) {
        if (range.start() == null || range.end() == null) {
          errors.add("range needs both start (inclusive) and end (exclusive)");
        } else if (range.end() <= range.start()) {
          errors.add("range end must be greater than start (end is exclusive)");
        }
      }
      if (items != null && items.isEmpty()) {
        errors.add("items is empty: a job needs at least one item");
      }
    }
    if (priority != null && (priority < -1000 || priority > 1000)) {
      errors.add("priority must be between -1000 and 1000 (higher runs first)");
    }
    if (maxAttempts != null && (maxAttempts < 1 || maxAttempts > 100)) {
      errors.add("maxAttempts must be between 1 and 100 (got " + maxAttempts + ")");
    }
    if (timeoutSeconds != null && (timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS)) {
      errors.add("timeoutSeconds must be between 1 and " + MAX_TIMEOUT_SECONDS + " (got " + timeoutSeconds + ")");
    }
    if (maxParallel != null && maxParallel < 1) {
      errors.add("maxParallel must be at least 1, or left out for no cap (got " + maxParallel + ")");
    }
    Map<String, String> cleanEnv = new LinkedHashMap<>();
    if (env != null) {
      env.forEach(
          (k, v) -> {
            if (k == null || !k.matches("[A-Za-z_][A-Za-z0-9_]{0,127}")) {
              errors.add("env name '" + k + "' is not a valid variable name");
            } else if (k.startsWith("NIGHTSHIFT_")) {
              errors.add("env name '" + k + "' is reserved: NIGHTSHIFT_* variables are set by the agent");
            } else if (v == null) {
              errors.add("env '" + k + "' has no value");
            } else if (Text.textProblem("env '" + k + "'", v) != null) {
              errors.add(Text.textProblem("env '" + k + "'", v));
            } else {
              cleanEnv.put(k, v);
            }
          });
      tooLarge("env", cleanEnv, errors);
    }
    Map<String, String> cleanSecrets = new LinkedHashMap<>();
    if (secrets != null) {
      secrets.forEach(
          (k, v) -> {
            if (k == null || !k.matches("[A-Za-z_][A-Za-z0-9_]{0,127}")) {
              errors.add("secret name '" + k + "' is not a valid variable name");
            } else if (k.startsWith("NIGHTSHIFT_")) {
              errors.add("secret name '" + k + "' is reserved: NIGHTSHIFT_* variables are set by the agent");
            } else if (cleanEnv.containsKey(k)) {
              errors.add("'" + k + "' is both in env and in secrets: give it in one of them");
            } else if (v == null || v.isEmpty()) {
              errors.add("secret '" + k + "' has no value");
            } else if (v.indexOf('\0') >= 0) {
              errors.add("secret '" + k + "' holds a NUL character, which no environment variable can");
            } else {
              cleanSecrets.put(k, v);
            }
          });
      tooLarge("secrets", cleanSecrets, errors);
    }
    Map<String, String> cleanLabels = new LinkedHashMap<>();
    if (labels != null) {
      labels.forEach(
          (k, v) -> {
            if (k == null || !k.matches("[A-Za-z0-9_.-]{1,64}") || v == null || v.isBlank()) {
              errors.add("label '" + k + "' is not valid: keys are 1-64 letters, digits, '_', '.', '-' with a value");
            } else if (v.length() > MAX_LABEL_VALUE) {
              errors.add("label '" + k + "' has a value of " + v.length() + " characters; the limit is "
                  + MAX_LABEL_VALUE);
            } else if (Text.nameProblem("label '" + k + "'", v) != null) {
              errors.add(Text.nameProblem("label '" + k + "'", v));
            } else {
              cleanLabels.put(k, v);
            }
          });
      tooLarge("labels", cleanLabels, errors);
    }
    if (commit != null && !commit.matches("[0-9a-f]{7,64}")) {
      errors.add("commit must be a hexadecimal commit id");
    }
    if (maxDataLagSeconds != null && (maxDataLagSeconds < 0 || maxDataLagSeconds > MAX_DATA_LAG_SECONDS)) {
      errors.add("maxDataLagSeconds must be from 0 to " + MAX_DATA_LAG_SECONDS
          + " (the most a worker's replica may lag behind the primary)");
    }
    String position = minDataPosition == null ? null : minDataPosition.replaceAll("\\s+", "");
    if (minDataPosition != null) {
      String problem = dev.nightshift.protocol.GtidPositions.problem(position);
      if (problem != null) {
        errors.add("minDataPosition: " + problem);
      }
    }
    Duration keep = null;
    if (retention != null) {
      keep = parseRetention(retention);
      if (keep == null || keep.isZero() || keep.compareTo(MAX_RETENTION) > 0) {
        errors.add("retention must be a whole number of days, hours or minutes such as \"7d\", \"12h\" or"
            + " \"90m\", at least 1m and at most 36500d (got '" + retention + "'); leave it out for the server's"
            + " default");
      }
    }
    if (!errors.isEmpty()) {
      throw ProblemException.badRequest(String.join("; ", errors));
    }
    return new JobSpec(
        name.strip(),
        command,
        batchSize,
        priority == null ? 0 : priority,
        maxAttempts == null ? DEFAULT_MAX_ATTEMPTS : maxAttempts,
        timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : timeoutSeconds,
        maxParallel,
        cleanEnv,
        cleanLabels,
        commit,
        maxDataLagSeconds == null ? null : maxDataLagSeconds.intValue(),
        position,
        keep,
        cleanSecrets,
        entryPoint,
        entryPoint == null || args == null ? (entryPoint == null ? null : List.of()) : List.copyOf(args));
  }
}
