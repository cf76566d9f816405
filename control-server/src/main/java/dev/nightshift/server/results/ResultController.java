package dev.nightshift.server.results;

import dev.nightshift.server.system.ProblemException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

/**
 * Streams a job's results: for each succeeded batch, in batch order, exactly what its script wrote to stdout
 * (a missing final newline is added so batches never run together). Reads in keyset pages: constant memory.
 */
@RestController
class ResultController {
  private static final int PAGE = 200;
  private static final MediaType NDJSON = MediaType.parseMediaType("application/x-ndjson;charset=UTF-8");
  private final JdbcClient jdbc;

  ResultController(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  private record Chunk(int seq, String output) {}

  @GetMapping("/api/v1/jobs/{id}/results")
  ResponseEntity<StreamingResponseBody> results(@PathVariable long id) {
    String state =
        jdbc.sql("SELECT state FROM job WHERE id = ?")
            .param(id)
            .query(String.class)
            .optional()
            .orElseThrow(() -> ProblemException.notFound("job", id));
    StreamingResponseBody body = out -> write(id, out);
    return ResponseEntity.ok().contentType(NDJSON).header("Nightshift-Job-State", state).body(body);
  }

  private void write(long jobId, OutputStream out) throws java.io.IOException {
    int after = -1;
    while (true) {
      List<Chunk> page =
          jdbc.sql("SELECT seq, output FROM batch_result WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?")
              .params(jobId, after, PAGE)
              .query((rs, n) -> new Chunk(rs.getInt(1), rs.getString(2)))
              .list();
      for (Chunk c : page) {
        if (!c.output.isEmpty()) {
          out.write(c.output.getBytes(StandardCharsets.UTF_8));
          if (c.output.charAt(c.output.length() - 1) != '\n') {
            out.write('\n');
          }
        }
        after = c.seq;
      }
      out.flush();
      if (page.size() < PAGE) {
        return;
      }
    }
  }
}
