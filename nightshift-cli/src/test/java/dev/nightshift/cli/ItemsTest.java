package dev.nightshift.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
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
  void csv_rows_become_objects_with_quotes_commas_and_newlines() throws IOException {
    String csv = "\uFEFFid,addr\r\n1,\"Main St, 1\"\r\n\r\n2,\"say \"\"hi\"\"\nthere\"\n3,\n";
    assertThat(convert(csv, Items.Format.CSV))
        .isEqualTo(
            "{\"id\":\"1\",\"addr\":\"Main St, 1\"}\n{\"id\":\"2\",\"addr\":\"say \\\"hi\\\"\\nthere\"}\n"
                + "{\"id\":\"3\",\"addr\":\"\"}\n");
  }

  @Test
  void malformed_files_name_the_line() {
    assertThatThrownBy(() -> convert("a,b\n1,2\n1,2,3\n", Items.Format.CSV))
        .isInstanceOf(ItemsException.class)
        .hasMessage("f line 3: 3 fields, but the header row has 2");
    assertThatThrownBy(() -> convert("a\n\"open\n", Items.Format.CSV))
        .hasMessage("f line 2: a quoted field is not closed");
    assertThatThrownBy(() -> convert("[1,\n2,\n{oops}]", null))
        .isInstanceOf(ItemsException.class)
        .hasMessageStartingWith("f line 3: malformed JSON");
    assertThatThrownBy(() -> convert("[1, 2", null)).hasMessageContaining("f");
    assertThatThrownBy(() -> convert("{\"a\":1}", Items.Format.JSON)).hasMessageContaining("expected a JSON array");
  }

  @Test
  void results_as_csv_take_columns_from_the_first_line() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long rows =
        JobCommands.Results.toCsv(
            new ByteArrayInputStream(
                "{\"id\":1,\"ok\":true,\"geo\":{\"x\":1}}\n{\"id\":2,\"ok\":false,\"note\":\"a,b\"}\n"
                    .getBytes(StandardCharsets.UTF_8)),
            out);
    assertThat(rows).isEqualTo(3);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .isEqualTo("id,ok,geo\n1,true,\"{\"\"x\"\":1}\"\n2,false,\n");
  }
}
