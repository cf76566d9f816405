package dev.nightshift.agent.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nightshift.agent.testing.FakeAgentServer;
import dev.nightshift.protocol.HostFacts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

class IdentityStoreTest {
  @TempDir Path data;

  @Test
  void savesAtomicallyAndLoadsBack() throws Exception {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    assertThat(store.load()).isEmpty();

    store.save(new Identity("w-1", "nsa_secret", "https://grid.example.com"));
    store.save(new Identity("w-2", "nsa_secret2", "https://grid.example.com"));

    assertThat(store.load()).contains(new Identity("w-2", "nsa_secret2", "https://grid.example.com"));
    try (var files = Files.list(data)) {
      assertThat(files).extracting(p -> p.getFileName().toString()).containsExactly("identity.json");
    }
    assertThat(Files.readString(data.resolve("identity.json"))).contains("\"workerId\"", "\"agentToken\"", "\"server\"");
  }

  @Test
  @DisabledOnOs(OS.WINDOWS)
  void isReadableByItsOwnerOnly() throws Exception {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    store.save(new Identity("w-1", "nsa_secret", "https://grid.example.com"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("identity.json"))))
        .isEqualTo("rw-------");
  }

  @Test
  void neverPrintsTheToken() {
    assertThat(new Identity("w-1", "nsa_secret", "https://x").toString()).doesNotContain("nsa_secret");
  }

  @Test
  void aCorruptFileSaysWhatToDo() throws Exception {
    Files.writeString(data.resolve("identity.json"), "{broken");
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    assertThatThrownBy(store::load).hasMessageContaining("corrupt").hasMessageContaining("enroll again");
  }

  @Test
  void enrollsOnceAndPersistsTheAnswer() {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    FakeAgentServer server = new FakeAgentServer();
    Enrollment e = new Enrollment(store, null, "https://x", "enroll", "pc-1", 2, Map.of("os", "linux"),
        () -> new HostFacts("pc-1", "Linux", "amd64", 4, 0, "dev", "17"));

    assertThat(e.ensureEnrolled(server)).isEqualTo(Enrollment.Status.ENROLLED);
    assertThat(e.ensureEnrolled(server)).isEqualTo(Enrollment.Status.ENROLLED);

    assertThat(server.registers).singleElement().satisfies(r -> {
      assertThat(r.name()).isEqualTo("pc-1");
      assertThat(r.slots()).isEqualTo(2);
      assertThat(r.labels()).containsEntry("os", "linux");
    });
    assertThat(store.load()).contains(new Identity("worker-1", "agent-token-1", "https://x"));
    assertThat(e.token()).isEqualTo("agent-token-1");
  }

  @Test
  void withoutAnEnrollmentTokenARefusedIdentityIsKeptAndNothingRegisters() {
    IdentityStore store = new IdentityStore(data.resolve("identity.json"));
    Identity id = new Identity("w-1", "old", "https://x");
    Enrollment e = new Enrollment(store, id, "https://x", null, "pc", 1, Map.of(), () -> null);

    e.refused(id);

    assertThat(e.current()).contains(id);
    assertThat(e.hasEnrollmentToken()).isFalse();
  }
}
