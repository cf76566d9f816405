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

  private ScriptEnv() {}
}
