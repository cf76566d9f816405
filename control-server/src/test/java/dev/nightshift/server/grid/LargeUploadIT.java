package dev.nightshift.server.grid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.ServerProcess;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A 1,000,000-item NDJSON upload (about 190 MB) into a server whose whole heap is 160 MB: it can only succeed if
 * the upload is streamed into batches rather than held in memory. A bad line late in a big upload leaves nothing.
 * The same for a 1,000,000-row CSV upload.
 */
class LargeUploadIT {
  @TempDir Path dir;

  /** Generates {@code count} NDJSON lines of ~190 bytes on the fly, with an optional broken line. */
  static InputStream items(int count, int brokenLine) {
    return lines(
        count,
        line ->
            line == brokenLine
                ? "{\"n\": " + line + ", oops\n"
                : "{\"n\":" + line + ",\"payload\":\"" + "x".repeat(160) + "\"}\n");
  }

  /**
   * A header and {@code count} CSV rows of ~190 bytes (a quoted field with a comma and doubled quotes), with an
   * optional row whose quote is never closed (a later row's quote would close it: make it the last).
   */
  static InputStream csv(int count, int brokenRow) {
    return lines(
        count + 1,
        line ->
            line == 1
                ? "n,label,payload\r\n"
                : (line - 1) + "," + (line - 1 == brokenRow ? "\"open" : "\"a, \"\"b\"\"\"") + ","
                    + "x".repeat(160) + "\r\n");
  }

  /** Generates {@code count} lines on the fly, line n (1-based) from {@code text}. */
  static InputStream lines(int count, java.util.function.IntFunction<String> text) {
    return new InputStream() {
      private int line;
      private byte[] current = new byte[0];
      private int pos;

      private boolean next() {
        if (line >= count) {
          return false;
        }
        line++;
        current = text.apply(line).getBytes(StandardCharsets.UTF_8);
        pos = 0;
        return true;
      }

      @Override
      public int read() {
        if (pos >= current.length && !next()) {
          return -1;
        }
        return current[pos++] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (pos >= current.length && !next()) {
          return -1;
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
      }
    };
  }

  @Test
  void aMillionItemUploadStreamsIntoASmallHeapAndABadLineLeavesNothing() throws Exception {
    try (ServerProcess server = ServerProcess.start(dir, Map.of(), List.of("-Xmx160m"))) {
      Http admin = server.admin();
      dev.nightshift.server.testing.CodeFixture.ensureRelease(server.port);
      Http.Response broken =
          admin.post(
              "/api/v1/jobs?name=broken&command=cat&batchSize=1000",
              HttpRequest.BodyPublishers.ofInputStream(() -> items(300_000, 250_000)),
              "application/x-ndjson");
      assertThat(broken.status()).as(broken.toString()).isEqualTo(400);
      assertThat(broken.detail()).contains("line 250000");
      assertThat(admin.get("/api/v1/jobs").json().get("items")).isEmpty();

      Http.Response r =
          admin.post(
              "/api/v1/jobs?name=million&command=cat&batchSize=1000",
              HttpRequest.BodyPublishers.ofInputStream(() -> items(1_000_000, -1)),
              "application/x-ndjson");
      assertThat(r.status()).as(r.toString()).isEqualTo(201);
      JsonNode job = r.json();
      assertThat(job.get("itemCount").asLong()).isEqualTo(1_000_000);
      assertThat(job.get("batchCount").asInt()).isEqualTo(1_000);

      // The same for CSV: a quote left open in the last row is named by its line and leaves nothing.
      Http.Response badCsv =
          admin.post(
              "/api/v1/jobs?name=broken-csv&command=cat&batchSize=1000",
              HttpRequest.BodyPublishers.ofInputStream(() -> csv(300_000, 300_000)),
              "text/csv");
      assertThat(badCsv.status()).as(badCsv.toString()).isEqualTo(400);
      assertThat(badCsv.detail()).contains("line 300001: a quoted field opened here is never closed");
      assertThat(admin.get("/api/v1/jobs").json().get("items")).hasSize(1);
      Http.Response csv =
          admin.post(
              "/api/v1/jobs?name=million-csv&command=cat&batchSize=1000",
              HttpRequest.BodyPublishers.ofInputStream(() -> csv(1_000_000, -1)),
              "text/csv");
      assertThat(csv.status()).as(csv.toString()).isEqualTo(201);
      assertThat(csv.json().get("itemCount").asLong()).isEqualTo(1_000_000);
      assertThat(csv.json().get("batchCount").asInt()).isEqualTo(1_000);
      assertThat(server.logText()).doesNotContain("OutOfMemoryError");
    }
  }
}
