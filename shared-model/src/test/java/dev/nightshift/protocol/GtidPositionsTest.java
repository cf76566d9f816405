package dev.nightshift.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** GTID positions of both dialects: which covers which, and which texts are refused. */
class GtidPositionsTest {
  static final String A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
  static final String B = "4f22fa47-71ca-11e1-9e33-c80aa9429562";

  @Test
  void mariadbComparesSequenceNumbersPerDomain() {
    assertThat(GtidPositions.covers("0-1-120", "0-1-100")).isTrue();
    assertThat(GtidPositions.covers("0-1-100", "0-1-100")).isTrue();
    assertThat(GtidPositions.covers("0-1-99", "0-1-100")).isFalse();
    assertThat(GtidPositions.covers("0-2-130", "0-1-100")).as("another server in the same domain").isTrue();
    assertThat(GtidPositions.covers("0-1-120,1-3-7", "1-3-7,0-1-110")).isTrue();
    assertThat(GtidPositions.covers("0-1-120", "0-1-110,1-3-7")).as("domain 1 missing").isFalse();
  }

  @Test
  void mysqlNeedsEveryIntervalOfEverySource() {
    assertThat(GtidPositions.covers(A + ":1-500", A + ":1-200")).isTrue();
    assertThat(GtidPositions.covers(A + ":1-500,\n" + B + ":1-9", B + ":3")).isTrue();
    assertThat(GtidPositions.covers(A + ":1-100", A + ":1-200")).isFalse();
    assertThat(GtidPositions.covers(A + ":1-500", B + ":1")).isFalse();
    assertThat(GtidPositions.covers(A.toUpperCase() + ":1-5:8-9", A + ":8")).isTrue();
  }

  @Test
  void unknownOrMixedPositionsNeverCover() {
    assertThat(GtidPositions.covers(null, "0-1-1")).isFalse();
    assertThat(GtidPositions.covers("", "0-1-1")).isFalse();
    assertThat(GtidPositions.covers(A + ":1-5", "0-1-1")).isFalse();
    assertThat(GtidPositions.covers("0-1-1", A + ":1")).isFalse();
    assertThat(GtidPositions.covers("garbage", "0-1-1")).isFalse();
    assertThat(GtidPositions.covers("anything", null)).isTrue();
  }

  @Test
  void problemsNameWhatIsWrong() {
    assertThat(GtidPositions.problem("0-1-100")).isNull();
    assertThat(GtidPositions.problem(A + ":1-100:200")).isNull();
    assertThat(GtidPositions.problem("")).contains("must not be empty");
    assertThat(GtidPositions.problem("0-1")).contains("not domain-server-seq");
    assertThat(GtidPositions.problem("0-x-1")).contains("'x' is not a number");
    assertThat(GtidPositions.problem("nouuid:1-2")).contains("not a server uuid");
    assertThat(GtidPositions.problem(A + ":9-3")).contains("ends before it starts");
    assertThat(GtidPositions.problem(A)).contains("MariaDB");
    assertThat(GtidPositions.problem("0-1-1,".repeat(400))).contains("at most 2000 characters");
  }
}
