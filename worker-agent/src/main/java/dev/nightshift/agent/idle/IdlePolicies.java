package dev.nightshift.agent.idle;

import dev.nightshift.agent.config.SettingsException;
import java.util.List;

/** The idle policies by name, as {@code --idle-policy} selects them. */
public final class IdlePolicies {
  /** Every known policy name. */
  public static final List<String> NAMES = List.of("always");

  private IdlePolicies() {}

  public static IdlePolicy named(String name) {
    if ("always".equals(name)) {
      return () -> IdleVerdict.run("idle policy 'always': runs whenever there is work");
    }
    throw new SettingsException(
        "unknown idle policy '" + name + "': known policies are " + String.join(", ", NAMES));
  }
}
