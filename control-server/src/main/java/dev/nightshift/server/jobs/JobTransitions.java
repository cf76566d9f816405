package dev.nightshift.server.jobs;

import dev.nightshift.protocol.JobState;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The job state machine in one table. Batches drive QUEUED to RUNNING and on to SUCCEEDED or FAILED; admins
 * pause, resume, cancel and retry. Anything not listed is refused with the reason.
 */
final class JobTransitions {
  private static final Map<JobState, Set<JobState>> ALLOWED = new EnumMap<>(JobState.class);

  static {
    ALLOWED.put(
        JobState.QUEUED,
        EnumSet.of(JobState.RUNNING, JobState.PAUSED, JobState.CANCELLED, JobState.SUCCEEDED, JobState.FAILED));
    ALLOWED.put(
        JobState.RUNNING, EnumSet.of(JobState.PAUSED, JobState.CANCELLED, JobState.SUCCEEDED, JobState.FAILED));
    ALLOWED.put(
        JobState.PAUSED,
        EnumSet.of(JobState.QUEUED, JobState.RUNNING, JobState.CANCELLED, JobState.SUCCEEDED, JobState.FAILED));
    ALLOWED.put(JobState.FAILED, EnumSet.of(JobState.RUNNING));
    ALLOWED.put(JobState.SUCCEEDED, EnumSet.noneOf(JobState.class));
    ALLOWED.put(JobState.CANCELLED, EnumSet.noneOf(JobState.class));
  }

  private JobTransitions() {}

  static boolean allowed(JobState from, JobState to) {
    return ALLOWED.get(from).contains(to);
  }
}
