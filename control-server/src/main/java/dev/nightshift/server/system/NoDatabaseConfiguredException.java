package dev.nightshift.server.system;

/** Start-up without a database URL and without the embedded database on the class path. */
class NoDatabaseConfiguredException extends RuntimeException {
  NoDatabaseConfiguredException() {
    super("no database configured");
  }
}
