package dev.nightshift.protocol;

/** Names of the environment variables the script contract gives every processing script. */
public final class ScriptEnv {
  public static final String JOB_ID = "NIGHTSHIFT_JOB_ID";
  public static final String BATCH_ID = "NIGHTSHIFT_BATCH_ID";
  public static final String ATTEMPT = "NIGHTSHIFT_ATTEMPT";
  public static final String COMMIT = "NIGHTSHIFT_COMMIT";
  public static final String VERSION = "NIGHTSHIFT_VERSION";
  public static final String RANGE_START = "NIGHTSHIFT_RANGE_START";
  public static final String RANGE_END = "NIGHTSHIFT_RANGE_END";
  public static final String ITEM_COUNT = "NIGHTSHIFT_ITEM_COUNT";
  /**
   * A fresh empty directory of this attempt's own (0700), deleted when it ends; {@code TMPDIR}, {@code TMP} and
   * {@code TEMP} name it too, so temporary files of one batch are never seen by another.
   */
  public static final String SCRATCH_DIR = "NIGHTSHIFT_SCRATCH_DIR";

  /** The reference-data database's JDBC URL, set only when the agent has a data source. */
  public static final String DATA_SOURCE_URL = "NIGHTSHIFT_DATA_SOURCE_URL";
  /** Its user name, when one is configured. */
  public static final String DATA_SOURCE_USER = "NIGHTSHIFT_DATA_SOURCE_USER";
  /** Its password, when one is configured (never in the job spec: from the agent's settings or a file). */
  public static final String DATA_SOURCE_PASSWORD = "NIGHTSHIFT_DATA_SOURCE_PASSWORD";
  /** The GTID position the data had when the script started, when known. */
  public static final String DATA_POSITION = "NIGHTSHIFT_DATA_POSITION";

  private ScriptEnv() {}
}
