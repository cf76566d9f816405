package dev.nightshift.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ItemsTest {
  private static String convert(String text, Items.Format format) throws IOException {
    try (InputStream in =
        Items.ndjson(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), format, "f")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void json_array_becomes_one_line_per_element() throws IOException {
    assertThat(convert(" [1, {\"a\": [1,2]},\n \"x\"]\n", null)).isEqualTo("1\n{\"a\":[1,2]}\n\"x\"\n");
    assertThat(convert("[]", Items.Format.JSON)).isEmpty();
  }

  @Test
  void ndjson_passes_through() throws IOException {
    assertThat(convert("{\"a\":1}\n{\"a\":2}\n", null)).isEqualTo("{\"a\":1}\n{\"a\":2}\n");
  }

  @Test
  void malformed_files_name_the_line() {
    assertThatThrownBy(() -> convert("[1,\n2,\n{oops}]", null))
        .isInstanceOf(ItemsException.class)
        .hasMessageStartingWith("f line 3: malformed JSON");
    assertThatThrownBy(() -> convert("[1, 2", null)).isInstanceOf(ItemsException.class).hasMessageStartingWith("f");
    assertThatThrownBy(() -> convert("{\"a\":1}", Items.Format.JSON)).hasMessageContaining("expected a JSON array");
  }
}
