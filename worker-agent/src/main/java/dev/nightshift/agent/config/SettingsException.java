package dev.nightshift.agent.config;

/** Configuration that cannot work; the message says what to fix. The CLI exits with status 2. */
public class SettingsException extends RuntimeException {
  public SettingsException(String message) {
    super(message);
  }
}
