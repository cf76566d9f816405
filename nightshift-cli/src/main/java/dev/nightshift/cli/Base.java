package dev.nightshift.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every command shares: the root's options, the API client and the output streams. */
abstract class Base implements Callable<Integer> {
  @Spec CommandSpec spec;

  Main main() {
    return (Main) spec.root().userObject();
  }

  ApiClient api() {
    return main().api();
  }

  boolean json() {
    return main().json;
  }

  static String text(tools.jackson.databind.JsonNode node, String field) {
    tools.jackson.databind.JsonNode v = node.get(field);
    return v == null || v.isNull() ? "" : v.asString();
  }
}
