package dev.nightshift.agent.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each start names the process before it on the same data dir, and records itself for the next. */
class AgentInstanceTest {
  @TempDir Path dir;

  @Test
  void eachStartNamesItsPredecessorAndRecordsItself() throws Exception {
    Path file = dir.resolve("instance");

    AgentInstance first = AgentInstance.start(file);
    AgentInstance second = AgentInstance.start(file);
    AgentInstance third = AgentInstance.start(file);

    assertThat(first.previous()).as("first start on this data dir").isEmpty();
    assertThat(second.previous()).containsExactly(first.id());
    assertThat(third.previous()).as("newest first: the second may have died before its first call")
        .containsExactly(second.id(), first.id());
    assertThat(third.previousHeader()).isEqualTo(second.id() + "," + first.id());
    assertThat(Files.readAllLines(file)).containsExactly(third.id(), second.id(), first.id());
    assertThat(first.id()).isNotEqualTo(second.id());
    AgentInstance later = null;
    for (int i = 0; i < 5; i++) {
      later = AgentInstance.start(file);
    }
    assertThat(later.previous()).as("at most KEPT").hasSize(AgentInstance.KEPT);
  }

  @Test
  void aDamagedFileIsNoPredecessorButTheStartStillRecordsItself() throws Exception {
    Path file = dir.resolve("instance");
    Files.writeString(file, "not an id\n\u0000 with junk that is far too long to be an instance id at all, really");

    AgentInstance started = AgentInstance.start(file);

    assertThat(started.previous()).isEmpty();
    assertThat(Files.readString(file)).isEqualTo(started.id() + "\n");
  }
}
