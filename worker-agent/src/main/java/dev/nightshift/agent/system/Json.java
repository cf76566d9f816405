package dev.nightshift.agent.system;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.nightshift.protocol.ClaimRequest;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** The one JSON mapper configuration of the agent: tolerant of fields a newer server adds. */
public final class Json {
  private static final JsonMapper MAPPER =
      JsonMapper.builder()
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
          .addMixIn(ClaimRequest.class, WithoutNulls.class)
          .build();

  /** A claim without reports is sent exactly as before reports rode on claims, for servers that predate them. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  private interface WithoutNulls {}

  private Json() {}

  public static JsonMapper mapper() {
    return MAPPER;
  }
}
