package dev.nightshift.cli;

/** A refusal the CLI reports as {@code nightshift: <message>} on stderr with a distinct exit code. */
final class CliException extends RuntimeException {
  /** The command ran and failed: a refused request, a failed or cancelled job, a malformed file. */
  static final int FAILURE = 1;
  /** The command line is wrong (picocli's own code for bad usage). */
  static final int USAGE = 2;
  /** The server could not be reached at all. */
  static final int UNREACHABLE = 3;
  /** The server refused the credentials (401) or the role (403). */
  static final int AUTH = 4;

  final int exitCode;

  CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  static CliException failure(String message) {
    return new CliException(FAILURE, message);
  }

  static CliException usage(String message) {
    return new CliException(USAGE, message);
  }
}
