package dev.nightshift.server.jobs;

import dev.nightshift.server.system.ProblemException;
import dev.nightshift.server.system.Times;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Cuts a job's input into batches as it streams in and writes them in JDBC batches, so a million items are never
 * held in memory at once. Runs inside the submission's transaction: a bad item rolls the whole job back.
 */
class BatchWriter {
  private static final int FLUSH_EVERY = 200;
  private final JdbcTemplate jdbc;
  private final long jobId;
  private final int batchSize;
  private final long maxBatchBytes;
  private final int maxBatches;
  private final Object notBefore;
  private final List<Object[]> batchRows = new ArrayList<>();
  private final List<Object[]> inputRows = new ArrayList<>();
  private StringBuilder current = new StringBuilder();
  private long currentBytes;
  private int currentCount;
  private int batches;
  private long items;

  BatchWriter(JdbcTemplate jdbc, long jobId, int batchSize, long maxBatchBytes, int maxBatches, Instant now) {
    this.jdbc = jdbc;
    this.jobId = jobId;
    this.batchSize = batchSize;
    this.maxBatchBytes = maxBatchBytes;
    this.maxBatches = maxBatches;
    this.notBefore = Times.db(now);
  }

  /** Adds one item, given as one line of compact JSON (no newline). */
  void item(String json) {
    long bytes = json.getBytes(StandardCharsets.UTF_8).length + 1L;
    if (currentBytes + bytes > maxBatchBytes) {
      if (currentCount == 0) {
        throw ProblemException.badRequest(
            "item " + (items + 1) + " is larger than the batch input limit of " + maxBatchBytes + " bytes");
      }
      throw ProblemException.badRequest(
          "batch "
              + (batches + 1)
              + " would exceed the batch input limit of "
              + maxBatchBytes
              + " bytes: use a smaller batchSize");
    }
    current.append(json).append('\n');
    currentBytes += bytes;
    currentCount++;
    items++;
    if (currentCount == batchSize) {
      endItemBatch();
    }
  }

  /** Adds the numbers [start, end) as range batches of batchSize. */
  void range(long start, long end) {
    long count = (end - start + batchSize - 1) / batchSize;
    if (count > maxBatches) {
      throw tooMany(count);
    }
    for (long from = start; from < end; from += batchSize) {
      long to = Math.min(end, from + batchSize);
      addBatch((int) (to - from), from, to);
      items += to - from;
    }
  }

  private void endItemBatch() {
    addBatch(currentCount, null, null);
    inputRows.add(new Object[] {jobId, batches - 1, current.toString()});
    current = new StringBuilder();
    currentBytes = 0;
    currentCount = 0;
  }

  private void addBatch(int itemCount, Long rangeStart, Long rangeEnd) {
    if (batches >= maxBatches) {
      throw tooMany(batches + 1L);
    }
    batchRows.add(
        new Object[] {
          jobId, batches, dev.nightshift.protocol.BatchState.PENDING.name(), itemCount, rangeStart, rangeEnd, notBefore
        });
    batches++;
    if (batchRows.size() >= FLUSH_EVERY) {
      flush();
    }
  }

  private ProblemException tooMany(long count) {
    return ProblemException.badRequest(
        "the job would have " + count + " batches; the limit is " + maxBatches + ": use a larger batchSize");
  }

  /** Writes what is buffered, including a last partial batch; returns nothing, read counts after. */
  void finish() {
    if (currentCount > 0) {
      endItemBatch();
    }
    flush();
  }

  private void flush() {
    if (!batchRows.isEmpty()) {
      jdbc.batchUpdate(
          """
          INSERT INTO batch (job_id, seq, state, item_count, range_start, range_end, not_before)
          VALUES (?, ?, ?, ?, ?, ?, ?)""",
          batchRows);
      batchRows.clear();
    }
    if (!inputRows.isEmpty()) {
      jdbc.batchUpdate("INSERT INTO batch_input (job_id, seq, items) VALUES (?, ?, ?)", inputRows);
      inputRows.clear();
    }
  }

  int batches() {
    return batches;
  }

  long items() {
    return items;
  }
}
