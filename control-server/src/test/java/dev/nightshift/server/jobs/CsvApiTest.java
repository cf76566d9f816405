package dev.nightshift.server.jobs;

import static dev.nightshift.server.jobs.JobApiTest.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.protocol.Lease;
import dev.nightshift.server.testing.Db;
import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.Jobs;
import dev.nightshift.server.testing.NightshiftTest;
import dev.nightshift.server.testing.TestAgent;
import java.net.http.HttpRequest;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/** CSV in and out over real HTTP: uploads become items exactly as RFC 4180 says, results export as CSV. */
@NightshiftTest
class CsvApiTest {
  private static final String UPLOAD = "/api/v1/jobs?name=csv&command=cat&batchSize=";
  @LocalServerPort int port;
  @Autowired JdbcTemplate jdbc;
  Http admin;

  @BeforeEach
  void setUp() {
    Db.reset(jdbc);
    dev.nightshift.server.testing.CodeFixture.ensureRelease(port);
    admin = Http.admin(port);
  }

  /** The agent that made the last claimAll's claim (it alone may report those leases). */
  private TestAgent agent;

  private List<Lease> claimAll(int batches) {
    agent = TestAgent.enroll(port, "csv-agent", batches, Map.of());
    List<Lease> leases = new java.util.ArrayList<>(agent.claim(batches, 0));
    leases.sort(Comparator.comparingLong(Lease::batchId));
    return leases;
  }

  @Test
  void aHeaderRowTurnsEachRowIntoAJsonObjectWhateverTheQuotingLineEndingsAndBom() {
    String csv =
        "\uFEFFid,name,note\r\n"
            + "1,Ann,plain\r\n"
            + "2,\"Smith, Bob\",\"says \"\"hi\"\"\"\r\n"
            + "\r\n"
            + "3,Zoë,\"two\r\nlines\"\n"
            + "4,,\"\"\n"
            + "5,\"x\",last without a line break";
    Http.Response r = admin.post(UPLOAD + "2", csv, "text/csv");
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    assertThat(r.json().get("itemCount").asInt()).isEqualTo(5);
    assertThat(r.json().get("batchCount").asInt()).isEqualTo(3);
    List<Lease> leases = claimAll(3);
    assertThat(leases.get(0).input().items())
        .isEqualTo(
            "{\"id\":\"1\",\"name\":\"Ann\",\"note\":\"plain\"}\n"
                + "{\"id\":\"2\",\"name\":\"Smith, Bob\",\"note\":\"says \\\"hi\\\"\"}\n");
    assertThat(leases.get(1).input().items())
        .isEqualTo(
            "{\"id\":\"3\",\"name\":\"Zoë\",\"note\":\"two\\r\\nlines\"}\n"
                + "{\"id\":\"4\",\"name\":\"\",\"note\":\"\"}\n");
    assertThat(leases.get(2).input().items())
        .isEqualTo("{\"id\":\"5\",\"name\":\"x\",\"note\":\"last without a line break\"}\n");
  }

  @Test
  void withoutAHeaderEachLineIsOneStringItem() {
    String csv = "\uFEFFa,b,\"c\"\r\nplain line\n\n  spaced  \n";
    Http.Response r = admin.post(UPLOAD + "10&csvHeader=false", csv, "text/csv; charset=utf-8");
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    assertThat(r.json().get("itemCount").asInt()).isEqualTo(3);
    assertThat(claimAll(1).get(0).input().items())
        .isEqualTo("\"a,b,\\\"c\\\"\"\n\"plain line\"\n\"  spaced  \"\n");
  }

  @Test
  void aLargeCsvStreamsIntoBatches() {
    String csv =
        "n,square\n"
            + IntStream.range(0, 20_000).mapToObj(i -> i + "," + (long) i * i).collect(Collectors.joining("\n"));
    Http.Response r =
        admin.post(
            UPLOAD + "1000&retention=7d",
            HttpRequest.BodyPublishers.ofInputStream(
                () -> new java.io.ByteArrayInputStream(csv.getBytes(java.nio.charset.StandardCharsets.UTF_8))),
            "text/csv");
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    assertThat(r.json().get("itemCount").asInt()).isEqualTo(20_000);
    assertThat(r.json().get("batchCount").asInt()).isEqualTo(20);
    assertThat(r.json().get("retention").get("period").asString()).isEqualTo("7d");
    assertThat(r.json().get("retention").get("source").asString()).isEqualTo("job");
  }

  /**
   * Bad inputs tried: an unterminated quote (named by the line it opened on), a row with more fields than the
   * header and one with fewer, an empty header name, a duplicate header name, a quote inside an unquoted field,
   * text after a closing quote, invalid UTF-8, a header without rows, an empty upload, csvHeader with an NDJSON
   * upload, csvHeader that is not a boolean, and a bad retention. Each answers 400 problem+json naming the line or
   * the fix, and nothing of a job is left behind.
   */
  @Test
  void badCsvIsRefusedNamingTheLineAndCreatesNothing() {
    assertProblem(admin.post(UPLOAD + "1", "a,b\n1,2\n3,\"open\n4,5\n", "text/csv"), 400, "line 3: a quoted field");
    assertProblem(admin.post(UPLOAD + "1", "a,b\n1,2\n1,2,3\n", "text/csv"), 400, "line 3: the row has 3 field(s)");
    assertProblem(admin.post(UPLOAD + "1", "a,b\r\n\"x\ny\",2\r\n5\r\n", "text/csv"), 400, "line 4: the row has 1");
    assertProblem(admin.post(UPLOAD + "1", "a,,c\n1,2,3\n", "text/csv"), 400, "line 1: column 2 of the header");
    assertProblem(admin.post(UPLOAD + "1", "\n\na,b,a\n1,2,3\n", "text/csv"), 400, "line 3: the header row names");
    assertProblem(admin.post(UPLOAD + "1", "a\nsay \"hi\"\n", "text/csv"), 400, "line 2: a quote inside");
    assertProblem(admin.post(UPLOAD + "1", "a,b\n\"x\"y,2\n", "text/csv"), 400, "line 2: text follows");
    assertProblem(
        admin.post(
            UPLOAD + "1",
            HttpRequest.BodyPublishers.ofByteArray(new byte[] {'a', '\n', 'b', '\n', (byte) 0xC3, '\n'}),
            "text/csv"),
        400,
        "line 3 is not valid UTF-8");
    assertProblem(admin.post(UPLOAD + "1", "a,b\n", "text/csv"), 400, "no items");
    assertProblem(admin.post(UPLOAD + "1", "", "text/csv"), 400, "no items");
    assertProblem(admin.post(UPLOAD + "1&csvHeader=false", "\n\r\n", "text/csv"), 400, "no items");
    assertProblem(
        admin.post(UPLOAD + "1&csvHeader=false", "1\n", "application/x-ndjson"), 400, "only to CSV uploads");
    assertProblem(admin.post(UPLOAD + "1&csvHeader=maybe", "a\n1\n", "text/csv"), 400, "true or false");
    assertProblem(admin.post(UPLOAD + "1&retention=forever", "a\n1\n", "text/csv"), 400, "retention must be");
    assertProblem(admin.post(UPLOAD + "1&retention=0d", "a\n1\n", "text/csv"), 400, "retention must be");

    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM job", Integer.class)).isZero();
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch", Integer.class)).isZero();
    assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM batch_input", Integer.class)).isZero();
  }

  @Test
  void resultsExportAsCsvWithFlatObjectsAsColumnsAndEverythingElseAsJson() {
    long id = Jobs.submit(admin, Jobs.range("export", "cat", 3, 1));
    List<Lease> leases = claimAll(3);
    TestAgent owner = agent;
    owner.complete(leases.get(2), "{\"n\":3,\"nested\":{\"a\":1}}\nplain text, with \"quotes\"\n");
    owner.complete(leases.get(0), "{\"n\":1,\"name\":\"one, first\"}\r\n\n{\"n\":2,\"ok\":true,\"name\":null}\n");
    owner.complete(leases.get(1), "");
    String expected =
        "index,batch,line,n,name,ok,result\r\n"
            + "0,0,1,1,\"one, first\",,\r\n"
            + "1,0,2,2,,true,\r\n"
            + "2,2,1,,,,\"{\"\"n\"\":3,\"\"nested\"\":{\"\"a\"\":1}}\"\r\n"
            + "3,2,2,,,,\"plain text, with \"\"quotes\"\"\"\r\n";
    Http.Response byFormat = admin.get("/api/v1/jobs/" + id + "/results?format=csv");
    assertThat(byFormat.status()).as(byFormat.toString()).isEqualTo(200);
    assertThat(byFormat.contentType()).startsWith("text/csv");
    assertThat(byFormat.body()).isEqualTo(expected);
    Http.Response byAccept = admin.withHeader("Accept", "text/csv").get("/api/v1/jobs/" + id + "/results");
    assertThat(byAccept.contentType()).startsWith("text/csv");
    assertThat(byAccept.body()).isEqualTo(expected);
    Http.Response ndjson = admin.get("/api/v1/jobs/" + id + "/results");
    assertThat(ndjson.contentType()).startsWith("application/x-ndjson");
    assertProblem(admin.get("/api/v1/jobs/" + id + "/results?format=xml"), 400, "format must be ndjson or csv");
  }

  @Test
  void onlyFlatResultsNeedNoResultColumn() {
    long id = Jobs.submit(admin, Jobs.range("flat", "cat", 1, 1));
    List<Lease> leases = claimAll(1);
    agent.complete(leases.get(0), "{\"k\":\"v\"}\n{\"k\":\"line\\nbreak\",\"x\":1.5}\n");
    assertThat(admin.get("/api/v1/jobs/" + id + "/results?format=csv").body())
        .isEqualTo("index,batch,line,k,x\r\n0,0,1,v,\r\n1,0,2,\"line\nbreak\",1.5\r\n");
  }

}
