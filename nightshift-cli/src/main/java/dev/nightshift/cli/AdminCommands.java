package dev.nightshift.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** Commands about workers, code releases and API tokens. */
final class AdminCommands {
  private AdminCommands() {}

  @Command(
      name = "workers",
      mixinStandardHelpOptions = true,
      description = "List workers (the default), or drain, resume or revoke one by name or id.",
      subcommands = {Workers.ListWorkers.class, Workers.Drain.class, Workers.Resume.class, Workers.Revoke.class})
  static final class Workers extends Base {
    @Override
    public Integer call() {
      return list(this);
    }

    static int list(Base cmd) {
      ApiClient.Answer a = cmd.api().get("/api/v1/workers");
      if (cmd.json()) {
        cmd.main().printJson(a.body());
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"NAME", "STATE", "SLOTS", "RUNNING", "HEARTBEAT", "LABELS", "ID", "REASON"});
      for (JsonNode w : a.json().path("items")) {
        String age = w.hasNonNull("heartbeatAgeSeconds") ? Progress.duration(w.get("heartbeatAgeSeconds").asLong()) + " ago" : "never";
        int slots = w.path("slots").asInt();
        rows.add(
            new String[] {
              text(w, "name"), text(w, "state"), (slots - w.path("freeSlots").asInt()) + "/" + slots,
              Integer.toString(w.path("running").size()), age, labels(w.path("labels")), text(w, "id"),
              text(w, "reason")
            });
      }
      Table.print(cmd.main().out, rows);
      return 0;
    }

    private static String labels(JsonNode labels) {
      StringBuilder s = new StringBuilder();
      for (Map.Entry<String, JsonNode> e : labels.properties()) {
        s.append(s.length() == 0 ? "" : ",").append(e.getKey()).append('=').append(e.getValue().asString());
      }
      return s.length() == 0 ? "-" : s.toString();
    }

    /** A worker's id from its id or its name; a name two workers share must be given as an id. */
    static String resolve(Base cmd, String nameOrId) {
      List<JsonNode> byName = new ArrayList<>();
      for (JsonNode w : cmd.api().get("/api/v1/workers").json().path("items")) {
        if (text(w, "id").equals(nameOrId)) {
          return nameOrId;
        }
        if (text(w, "name").equals(nameOrId)) {
          byName.add(w);
        }
      }
      if (byName.isEmpty()) {
        throw CliException.failure("no worker is named or has the id '" + nameOrId + "' (see: nightshift workers)");
      }
      if (byName.size() > 1) {
        List<String> ids = byName.stream().map(w -> text(w, "id")).toList();
        throw CliException.failure(
            byName.size() + " workers are named '" + nameOrId + "': give one of their ids " + ids);
      }
      return text(byName.get(0), "id");
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List workers.")
    static final class ListWorkers extends Base {
      @Override
      public Integer call() {
        return list(this);
      }
    }

    abstract static class Act extends Base {
      @Parameters(paramLabel = "NAME_OR_ID", description = "Worker name or id.")
      String worker;

      abstract String action();

      @Override
      public Integer call() {
        String id = resolve(this, worker);
        ApiClient.Answer a = api().post("/api/v1/workers/" + ApiClient.segment(id) + "/" + action(), null);
        if (json()) {
          main().printJson(a.body());
        } else {
          JsonNode w = a.json();
          main().out.println("worker " + text(w, "name") + " (" + text(w, "id") + ") " + text(w, "state")
              + (w.hasNonNull("drainedAt") ? ", drained by " + text(w, "drainedBy") : ""));
          main().out.flush();
        }
        return 0;
      }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true, description = "The worker finishes its running batches and claims no new ones.")
    static final class Drain extends Act {
      String action() {
        return "drain";
      }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Undo a drain.")
    static final class Resume extends Act {
      String action() {
        return "resume";
      }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Refuse the worker's token from now on; its leases are requeued.")
    static final class Revoke extends Act {
      String action() {
        return "revoke";
      }
    }
  }

  @Command(
      name = "code",
      mixinStandardHelpOptions = true,
      description = "Code releases: status (the default), promote a ref, roll back to a commit.",
      subcommands = {Code.Status.class, Code.Promote.class, Code.Rollback.class})
  static final class Code extends Base {
    @Override
    public Integer call() {
      return status(this, 10);
    }

    static int status(Base cmd, int limit) {
      ApiClient.Answer a = cmd.api().get("/api/v1/code?limit=" + limit);
      if (cmd.json()) {
        cmd.main().printJson(a.body());
        return 0;
      }
      JsonNode body = a.json();
      JsonNode current = body.path("current");
      var out = cmd.main().out;
      out.println("repository: " + text(body, "repository") + " (push there, then: nightshift code promote main)");
      if (current.isNull() || current.isMissingNode()) {
        out.println("no release yet");
        out.flush();
        return 0;
      }
      out.println("current release: " + release(current));
      out.println("history:");
      for (JsonNode r : body.path("history")) {
        out.println("  " + release(r));
      }
      out.flush();
      return 0;
    }

    static String release(JsonNode r) {
      return text(r, "commit") + " version " + text(r, "version") + " by " + text(r, "promotedBy") + " at "
          + text(r, "promotedAt") + (r.path("rollback").asBoolean() ? " (rollback)" : "");
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "The current release and the history of promotions.")
    static final class Status extends Base {
      @Option(names = "--limit", paramLabel = "N", description = "History entries (default 10).")
      int limit = 10;

      @Override
      public Integer call() {
        return status(this, limit);
      }
    }

    abstract static class Move extends Base {
      abstract ObjectNode body();

      @Override
      public Integer call() {
        ApiClient.Answer a = api().post("/api/v1/code/promotions", body());
        if (json()) {
          main().printJson(a.body());
        } else {
          main().out.println("promoted " + release(a.json()));
          main().out.flush();
        }
        return 0;
      }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true, description = "Promote a branch, tag or commit (a fast-forward).")
    static final class Promote extends Move {
      @Parameters(paramLabel = "REF", description = "Branch, tag or commit id, e.g. main.")
      String ref;

      ObjectNode body() {
        return ApiClient.JSON.createObjectNode().put("ref", ref);
      }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true, description = "Promote an older commit (not a fast-forward).")
    static final class Rollback extends Move {
      @Parameters(paramLabel = "COMMIT", description = "Commit id (full or abbreviated).")
      String commit;

      ObjectNode body() {
        return ApiClient.JSON.createObjectNode().put("commit", commit).put("rollback", true);
      }
    }
  }

  @Command(
      name = "tokens",
      mixinStandardHelpOptions = true,
      description = "API tokens (ADMIN only): list (the default), create, revoke.",
      subcommands = {Tokens.ListTokens.class, Tokens.Create.class, Tokens.Revoke.class})
  static final class Tokens extends Base {
    @Override
    public Integer call() {
      return list(this);
    }

    static int list(Base cmd) {
      ApiClient.Answer a = cmd.api().get("/api/v1/api-tokens");
      if (cmd.json()) {
        cmd.main().printJson(a.body());
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"ID", "NAME", "USER", "ROLE", "ACTIVE", "EXPIRES", "LAST USED"});
      for (JsonNode t : a.json().path("items")) {
        rows.add(
            new String[] {
              text(t, "id"), text(t, "name"), text(t, "username"), text(t, "role"),
              t.path("active").asBoolean() ? "yes" : "no", orDash(text(t, "expiresAt")), orDash(text(t, "lastUsedAt"))
            });
      }
      Table.print(cmd.main().out, rows);
      return 0;
    }

    private static String orDash(String s) {
      return s.isEmpty() ? "-" : s;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List API tokens.")
    static final class ListTokens extends Base {
      @Override
      public Integer call() {
        return list(this);
      }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create an API token; it is printed only this once.")
    static final class Create extends Base {
      @Parameters(paramLabel = "NAME", description = "What the token is for.")
      String name;

      @Option(names = "--for", paramLabel = "USER", description = "Owner (default: you).")
      String owner;

      @Option(names = "--role", description = "ADMIN or OPERATOR (default: the owner's; never above it).")
      String role;

      @Option(names = "--expires-in-days", paramLabel = "DAYS", description = "Expiry (default: none).")
      Long expiresInDays;

      @Override
      public Integer call() {
        ObjectNode body = ApiClient.JSON.createObjectNode().put("name", name);
        if (owner != null) {
          body.put("username", owner);
        }
        if (role != null) {
          body.put("role", role.toUpperCase(java.util.Locale.ROOT));
        }
        if (expiresInDays != null) {
          body.put("expiresInDays", expiresInDays);
        }
        ApiClient.Answer a = api().post("/api/v1/api-tokens", body);
        if (json()) {
          main().printJson(a.body());
        } else {
          JsonNode t = a.json();
          var out = main().out;
          if (main().stdoutTerminal()) {
            out.println("token " + text(t, "id") + " \"" + text(t, "name") + "\" for " + text(t, "username") + " ("
                + text(t, "role") + "), shown only this once:");
          }
          out.println(text(t, "token"));
          out.flush();
        }
        return 0;
      }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke an API token by id.")
    static final class Revoke extends Base {
      @Parameters(paramLabel = "ID", description = "Token id (see: nightshift tokens).")
      long id;

      @Override
      public Integer call() {
        api().delete("/api/v1/api-tokens/" + id);
        if (json()) {
          main().printJson("{\"id\":" + id + ",\"revoked\":true}");
        } else {
          main().out.println("revoked token " + id);
          main().out.flush();
        }
        return 0;
      }
    }
  }
}
