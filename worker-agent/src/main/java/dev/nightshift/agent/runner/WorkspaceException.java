package dev.nightshift.agent.runner;

import java.io.IOException;

/**
 * A lease's workspace cannot be provided (e.g. its commit cannot be fetched): the attempt fails with {@link
 * #getMessage()} as its one-line error and {@link #log()} as the log an operator reads.
 */
public class WorkspaceException extends IOException {
  private final String log;

  /**
   * @param reason one line saying why, e.g. "commit abc1234 is not on the server (...): was it pushed?"
   * @param log the explanation reported as the attempt's log
   */
  public WorkspaceException(String reason, String log, Throwable cause) {
    super(reason, cause);
    this.log = log;
  }

  public String log() {
    return log;
  }
}
