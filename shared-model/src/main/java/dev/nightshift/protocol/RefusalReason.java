package dev.nightshift.protocol;

/**
 * Why an agent refused to run a lease ({@link AttemptOutcome#REFUSED}); a refusal's error reads {@code
 * "<REASON>: <explanation>"}.
 */
public enum RefusalReason {
  /** The commit carries no signature (or the lease names no commit at all). */
  UNSIGNED_RELEASE,
  /** The commit is signed, but by a key this agent does not trust. */
  UNTRUSTED_KEY,
  /** The signature does not verify: the commit was changed after signing, or the signature is malformed. */
  BAD_SIGNATURE,
  /** The job names an entry point the commit's manifest ({@code nightshift.json}) lacks, or there is no manifest. */
  NO_ENTRY_POINT,
  /** The lease carries a raw command; an agent that runs only signed code runs only the manifest's entry points. */
  RAW_COMMAND_REFUSED;

  /** The error text of a refusal: the reason, a colon, the explanation. */
  public String error(String explanation) {
    return name() + ": " + explanation;
  }

  /** The reason an attempt's error names, or null when it names none. */
  public static RefusalReason of(String error) {
    if (error == null) {
      return null;
    }
    int colon = error.indexOf(':');
    if (colon < 0) {
      return null;
    }
    try {
      return valueOf(error.substring(0, colon));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
