package dev.nightshift.server.system;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nightshift.server.testing.Http;
import dev.nightshift.server.testing.NightshiftTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;
import org.springframework.web.util.pattern.PathPattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The OpenAPI document over real HTTP is complete: every operation has a summary and a description, every
 * parameter a description, every request body an example per media type, every answer a description, every error a
 * problem+json body; and every endpoint Spring MVC serves under /api/** or /agent/** is in it, with each media type it
 * consumes; and no two documented types share a schema name. How to annotate a new endpoint so this passes:
 * docs/api.md, "OpenAPI document and Swagger UI".
 */
@NightshiftTest
class OpenApiDocumentTest {
  @LocalServerPort int port;

  @Autowired
  @Qualifier("requestMappingHandlerMapping")
  RequestMappingHandlerMapping mappings;

  private JsonNode document(String path) {
    Http.Response answer = Http.admin(port).get(path);
    assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
    assertThat(answer.contentType()).startsWith("application/json");
    try { // kept for reading: target/openapi/<group>.json
      java.nio.file.Path file = java.nio.file.Path.of("target/openapi" + path.substring("/v3/api-docs".length()) + ".json");
      java.nio.file.Files.createDirectories(java.nio.file.Path.of("target/openapi"));
      java.nio.file.Files.writeString(
          path.equals("/v3/api-docs") ? java.nio.file.Path.of("target/openapi/all.json") : file, answer.body());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return answer.json();
  }

  @Test
  void everyOperationHasSummaryDescriptionParameterDescriptionsAndBodyExamples() {
    JsonNode doc = document("/v3/api-docs");
    assertThat(doc.path("openapi").asString()).startsWith("3.");
    assertThat(doc.path("paths").size()).as("paths in the document").isGreaterThan(20);
    assertThat(incomplete(doc)).isEmpty();
    JsonNode submit = doc.path("paths").path("/api/v1/jobs").path("post");
    assertThat(submit.path("requestBody").path("content").propertyNames())
        .containsExactlyInAnyOrder("application/json", "application/x-ndjson", "text/csv");
    assertThat(submit.path("parameters").findValuesAsString("name"))
        .as("the streamed uploads' query parameters")
        .contains("name", "command", "batchSize", "env", "label", "retention", "csvHeader");
  }

  /** The check itself can fail: the real document with one description taken out is reported. */
  @Test
  void aMissingDescriptionOrExampleIsReported() {
    JsonNode doc = document("/v3/api-docs");
    ObjectNode cancel = (ObjectNode) doc.path("paths").path("/api/v1/jobs/{id}/cancel").path("post");
    assertThat(cancel.isMissingNode()).isFalse();
    cancel.remove("description");
    ObjectNode register = (ObjectNode) doc.path("paths").path("/agent/v1/register").path("post");
    ObjectNode json = (ObjectNode) register.path("requestBody").path("content").path("application/json");
    json.remove("example");
    json.remove("examples");
    assertThat(incomplete(doc))
        .contains(
            "POST /api/v1/jobs/{id}/cancel: no description",
            "POST /agent/v1/register: request body application/json has no example");
  }

  @Test
  void everyEndpointUnderApiAndAgentIsDocumentedWithEveryMediaTypeItConsumes() {
    JsonNode doc = document("/v3/api-docs");
    List<String> missing = new ArrayList<>();
    int seen = 0;
    for (Map.Entry<RequestMappingInfo, HandlerMethod> e : mappings.getHandlerMethods().entrySet()) {
      RequestMappingInfo info = e.getKey();
      if (info.getPathPatternsCondition() == null) {
        continue;
      }
      for (PathPattern pattern : info.getPathPatternsCondition().getPatterns()) {
        String path = pattern.getPatternString();
        if (!path.startsWith("/api/") && !path.startsWith("/agent/")) {
          continue;
        }
        seen++;
        var methods = info.getMethodsCondition().getMethods();
        if (methods.isEmpty()) {
          missing.add(path + " (" + e.getValue() + ") maps every HTTP method: name the method");
          continue;
        }
        for (RequestMethod method : methods) {
          JsonNode op = doc.path("paths").path(path).path(method.name().toLowerCase());
          if (op.isMissingNode()) {
            missing.add(method + " " + path + " (" + e.getValue().getShortLogMessage() + ")");
            continue;
          }
          for (var type : info.getConsumesCondition().getConsumableMediaTypes()) {
            if (op.path("requestBody").path("content").path(type.toString()).isMissingNode()) {
              missing.add(method + " " + path + " consumes " + type + " but the document has no such request body");
            }
          }
        }
      }
    }
    assertThat(seen).as("endpoints under /api and /agent").isGreaterThan(30);
    assertThat(missing).as("endpoints Spring MVC serves that the OpenAPI document lacks").isEmpty();
  }

  /**
   * springdoc names a schema after the type's simple name: two types with one name (ApiTokens.Created and
   * EnrollmentService.Created) would share one schema, and one endpoint's answer would be documented wrong. Every
   * type an endpoint under /api or /agent takes or answers, down through record components, needs its own name
   * ({@code @Schema(name = ...)} where simple names clash).
   */
  @Test
  void noTwoTypesShareASchemaName() {
    Map<String, java.util.Set<Class<?>>> byName = new java.util.TreeMap<>();
    java.util.Set<Class<?>> seen = new java.util.HashSet<>();
    mappings.getHandlerMethods().forEach((info, handler) -> {
      if (info.getPatternValues().stream().noneMatch(p -> p.startsWith("/api/") || p.startsWith("/agent/"))) {
        return;
      }
      collect(handler.getMethod().getGenericReturnType(), byName, seen);
      for (java.lang.reflect.Parameter p : handler.getMethod().getParameters()) {
        collect(p.getParameterizedType(), byName, seen);
      }
      var operation = handler.getMethodAnnotation(io.swagger.v3.oas.annotations.Operation.class);
      if (operation != null) {
        for (var content : operation.requestBody().content()) {
          collect(content.schema().implementation(), byName, seen);
        }
      }
    });
    assertThat(byName).as("schema names").containsKey("JobView");
    assertThat(byName.entrySet().stream().filter(e -> e.getValue().size() > 1).map(Object::toString).toList())
        .as("types that would share one OpenAPI schema")
        .isEmpty();
  }

  private static void collect(java.lang.reflect.Type type, Map<String, java.util.Set<Class<?>>> byName,
      java.util.Set<Class<?>> seen) {
    if (type instanceof java.lang.reflect.ParameterizedType p) {
      collect(p.getRawType(), byName, seen);
      for (java.lang.reflect.Type arg : p.getActualTypeArguments()) {
        collect(arg, byName, seen);
      }
      return;
    }
    if (!(type instanceof Class<?> c) || c.isPrimitive() || c.isArray() && c.getComponentType().isPrimitive()) {
      return;
    }
    if (c.isArray()) {
      collect(c.getComponentType(), byName, seen);
      return;
    }
    if (!seen.add(c) || !c.getName().startsWith("dev.nightshift.")) {
      return;
    }
    var schema = c.getAnnotation(io.swagger.v3.oas.annotations.media.Schema.class);
    String name = schema != null && !schema.name().isEmpty() ? schema.name() : c.getSimpleName();
    byName.computeIfAbsent(name, k -> new java.util.HashSet<>()).add(c);
    if (c.isRecord()) {
      for (var component : c.getRecordComponents()) {
        collect(component.getGenericType(), byName, seen);
      }
    }
  }

  @Test
  void theGroupsSplitTheAdminApiFromTheAgentProtocol() {
    JsonNode admin = document("/v3/api-docs/admin");
    JsonNode agent = document("/v3/api-docs/agent");
    assertThat(admin.path("paths").propertyNames()).isNotEmpty().allMatch(p -> p.startsWith("/api/v1/"));
    assertThat(agent.path("paths").propertyNames())
        .contains("/agent/v1/register", "/agent/v1/claim")
        .allMatch(p -> p.startsWith("/agent/v1/"));
    assertThat(admin.path("components").path("securitySchemes").propertyNames()).contains("basic", "bearer");
    assertThat(incomplete(admin)).isEmpty();
    assertThat(incomplete(agent)).isEmpty();
  }

  @Test
  void theDocumentAndSwaggerUiAreForAdminsAndOperatorsOnly() {
    Http.admin(port)
        .post("/api/v1/users", "{\"username\": \"openapi-reader\", \"password\": \"reader-password-1\", \"role\": \"OPERATOR\"}");
    Http operator = Http.basic(port, "openapi-reader", "reader-password-1");
    Http anonymous = Http.anonymous(port);
    for (String path : List.of("/v3/api-docs", "/v3/api-docs/admin", "/v3/api-docs.yaml", "/swagger-ui/index.html")) {
      Http.Response refused = anonymous.get(path);
      assertThat(refused.status()).as(path + " anonymous: " + refused).isEqualTo(401);
      assertThat(refused.isProblem()).as(refused.toString()).isTrue();
      Http.Response read = operator.get(path);
      assertThat(read.status()).as(path + " operator: " + read).isEqualTo(200);
    }
    Http.Response yaml = Http.admin(port).get("/v3/api-docs.yaml");
    assertThat(yaml.body()).startsWith("openapi: 3.").contains("/api/v1/jobs:", "/agent/v1/claim:");
    Http.Response ui = Http.admin(port).get("/swagger-ui.html");
    assertThat(ui.status()).as(ui.toString()).isIn(200, 302);
    Http.Response index = Http.admin(port).get("/swagger-ui/index.html");
    assertThat(index.body()).contains("Swagger UI");
    Http.Response config = Http.admin(port).get("/v3/api-docs/swagger-config");
    assertThat(config.status()).as(config.toString()).isEqualTo(200);
    assertThat(config.json().path("urls").findValuesAsString("url")).contains("/v3/api-docs/admin", "/v3/api-docs/agent");
  }

  /** Everything the document lacks, one line each ("METHOD /path: what"). */
  static List<String> incomplete(JsonNode doc) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, JsonNode> path : doc.path("paths").properties()) {
      for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
        String where = op.getKey().toUpperCase() + " " + path.getKey();
        JsonNode o = op.getValue();
        if (o.path("summary").asString("").isBlank()) {
          out.add(where + ": no summary");
        }
        if (o.path("description").asString("").isBlank()) {
          out.add(where + ": no description");
        }
        for (JsonNode p : o.path("parameters")) {
          if (p.path("description").asString("").isBlank()) {
            out.add(where + ": parameter " + p.path("name").asString() + " has no description");
          }
        }
        JsonNode body = o.path("requestBody");
        if (!body.isMissingNode()) {
          if (body.path("description").asString("").isBlank()) {
            out.add(where + ": request body has no description");
          }
          if (body.path("content").isEmpty()) {
            out.add(where + ": request body has no media type");
          }
          for (Map.Entry<String, JsonNode> type : body.path("content").properties()) {
            JsonNode t = type.getValue();
            if (t.path("example").isMissingNode() && t.path("examples").isEmpty()) {
              out.add(where + ": request body " + type.getKey() + " has no example");
            }
          }
        }
        TreeSet<String> codes = new TreeSet<>(o.path("responses").propertyNames());
        if (codes.stream().noneMatch(c -> c.startsWith("2"))) {
          out.add(where + ": no success response");
        }
        if (codes.stream().noneMatch(c -> c.startsWith("4"))) {
          out.add(where + ": no error response");
        }
        for (String code : codes) {
          JsonNode r = o.path("responses").path(code);
          if (r.path("description").asString("").isBlank()) {
            out.add(where + ": response " + code + " has no description");
          }
          if ((code.startsWith("4") || code.startsWith("5"))
              && r.path("content").path("application/problem+json").isMissingNode()) {
            out.add(where + ": response " + code + " is not application/problem+json");
          }
        }
      }
    }
    return out;
  }
}
