package dev.nightshift.server.system;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springdoc.core.models.GroupedOpenApi;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The OpenAPI 3 document ({@code /v3/api-docs}, groups {@code admin} and {@code agent}) and Swagger UI
 * ({@code /swagger-ui.html}); see docs/api.md. Controllers carry the words (summary, description, examples, the
 * errors each operation really answers); this class adds what every operation shares: the security schemes, the
 * problem+json shape of every 4xx/5xx, and the 401/403/503 that the security chains and the database outage answer.
 */
@Configuration(proxyBeanMethods = false)
class OpenApiConfig {
  static final String PROBLEM = "Problem";
  static final String PROBLEM_JSON = "application/problem+json";
  static final String BASIC = "basic";
  static final String BEARER = "bearer";
  static final String AGENT_TOKEN = "agentToken";

  @Bean
  OpenAPI nightshiftOpenApi() {
    return new OpenAPI()
        .info(
            new Info()
                .title("Nightshift")
                .version("v1")
                .description(
                    "The admin API (/api/v1: jobs, batches, results, workers, code, users, tokens, audit) and the"
                        + " agent protocol (/agent/v1) of a Nightshift control server. Admin calls authenticate"
                        + " with HTTP Basic (a Nightshift user) or 'Authorization: Bearer nst_…' (an API token);"
                        + " GET needs ADMIN or OPERATOR, everything else ADMIN; users, API tokens and the audit"
                        + " trail need ADMIN even to read. Agents authenticate with their own agent token (Bearer),"
                        + " obtained from register. Every refusal is an RFC 9457 problem (application/problem+json)"
                        + " whose detail says what to fix.")
                .license(new License().name("see the repository")))
        .components(
            new Components()
                .addSecuritySchemes(
                    BASIC,
                    new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP)
                        .scheme("basic")
                        .description("A Nightshift user and its password (e.g. admin)."))
                .addSecuritySchemes(
                    BEARER,
                    new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP)
                        .scheme("bearer")
                        .bearerFormat("nst_…")
                        .description(
                            "An API token (POST /api/v1/api-tokens), sent as 'Authorization: Bearer nst_…'."))
                .addSecuritySchemes(
                    AGENT_TOKEN,
                    new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP)
                        .scheme("bearer")
                        .description(
                            "An agent's own token, answered once by POST /agent/v1/register; agent protocol only."))
                .addSchemas(PROBLEM, problemSchema()));
  }

  @SuppressWarnings({"rawtypes", "unchecked"})
  private static Schema problemSchema() {
    return new ObjectSchema()
        .description("An RFC 9457 problem: what went wrong, and in detail what to fix.")
        .addProperty("type", new StringSchema().example("about:blank"))
        .addProperty("title", new StringSchema().example("Bad Request"))
        .addProperty("status", new IntegerSchema().example(400))
        .addProperty(
            "detail", new StringSchema().example("limit must be between 1 and 500").description("what to fix"))
        .addProperty("instance", new StringSchema().example("/api/v1/jobs"))
        .addProperty(
            "reason",
            new StringSchema()
                .description(
                    "a machine-readable reason, on refusals a client must act on (agent protocol:"
                        + " IDENTITY_IN_USE, IDENTITY_CLONED, and the ReportStatus names)"));
  }

  @Bean
  GroupedOpenApi adminApi(OperationCustomizer nightshiftOperations, OpenApiCustomizer nightshiftDocument) {
    return GroupedOpenApi.builder()
        .group("admin")
        .displayName("Admin API (/api/v1)")
        .pathsToMatch("/api/**")
        .addOperationCustomizer(nightshiftOperations)
        .addOpenApiCustomizer(nightshiftDocument)
        .build();
  }

  @Bean
  GroupedOpenApi agentApi(OperationCustomizer nightshiftOperations, OpenApiCustomizer nightshiftDocument) {
    return GroupedOpenApi.builder()
        .group("agent")
        .displayName("Agent protocol (/agent/v1)")
        .pathsToMatch("/agent/**")
        .addOperationCustomizer(nightshiftOperations)
        .addOpenApiCustomizer(nightshiftDocument)
        .build();
  }

  /**
   * On the finished document (after springdoc merged the handlers that share a path and method, such as the three
   * bodies of POST /api/v1/jobs): JSON answers are application/json (not springdoc's default any type), every error
   * answer is problem+json only, each security requirement is listed once, and unused schemas go.
   */
  @Bean
  OpenApiCustomizer nightshiftDocument() {
    return openApi -> {
      if (openApi.getPaths() == null) {
        return;
      }
      openApi.getPaths().values().forEach(item -> item.readOperations().forEach(operation -> {
        if (operation.getSecurity() != null) {
          operation.setSecurity(new java.util.ArrayList<>(new java.util.LinkedHashSet<>(operation.getSecurity())));
        }
        if (operation.getResponses() == null) {
          return;
        }
        operation.getResponses().forEach((code, response) -> {
          Content content = response.getContent();
          if (code.startsWith("4") || code.startsWith("5")) {
            response.setContent(problemContent());
          } else if (content != null && content.containsKey("*/*")) {
            MediaType any = content.remove("*/*");
            content.putIfAbsent(org.springframework.http.MediaType.APPLICATION_JSON_VALUE, any);
          }
        });
      }));
      if (openApi.getComponents() != null && openApi.getComponents().getSchemas() != null) {
        String all = io.swagger.v3.core.util.Json.pretty(openApi.getPaths());
        String schemas = io.swagger.v3.core.util.Json.pretty(openApi.getComponents().getSchemas());
        openApi.getComponents().getSchemas().keySet().removeIf(name -> {
          String ref = "\"#/components/schemas/" + name + "\"";
          return !name.equals(PROBLEM) && !all.contains(ref) && !schemas.contains(ref);
        });
      }
    };
  }

  /**
   * Per operation: the security it really needs, the problem+json body on every error answer the controller
   * documents, and the errors every call can get from the security chains and a database outage.
   */
  @Bean
  OperationCustomizer nightshiftOperations() {
    return (operation, handler) -> {
      String path = pathOf(handler);
      boolean agent = path.startsWith("/agent/");
      boolean register = path.endsWith("/register");
      ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
      operation.setResponses(responses);
      if (agent) {
        if (!register) {
          addSecurity(operation, AGENT_TOKEN);
          responses.putIfAbsent(
              "401", problem("Agent token missing, unknown or revoked: enroll the agent again."));
        }
      } else {
        addSecurity(operation, BASIC);
        addSecurity(operation, BEARER);
        responses.putIfAbsent(
            "401", problem("No credentials, or wrong ones (HTTP Basic user, or an API token not expired or revoked)."));
        responses.putIfAbsent(
            "403", problem("The caller's role may not do this (changes need ADMIN; OPERATOR is read-only)."));
      }
      responses.putIfAbsent(
          "429",
          problem("Too many failed authentications from this address; Retry-After says when to try again."));
      responses.putIfAbsent(
          "503", problem("The database is unreachable; nothing was changed. Retry after the Retry-After seconds."));
      for (Map.Entry<String, ApiResponse> e : responses.entrySet()) {
        char first = e.getKey().charAt(0);
        if ((first == '4' || first == '5')
            && (e.getValue().getContent() == null || e.getValue().getContent().get(PROBLEM_JSON) == null)) {
          e.getValue().setContent(problemContent()); // ProblemHandling and the security chains answer problem+json
        }
      }
      return operation;
    };
  }

  private static String pathOf(org.springframework.web.method.HandlerMethod handler) {
    var mapping =
        org.springframework.core.annotation.AnnotatedElementUtils.findMergedAnnotation(
            handler.getMethod(), org.springframework.web.bind.annotation.RequestMapping.class);
    String[] paths = mapping == null ? new String[0] : mapping.path();
    String own = paths.length == 0 ? "" : paths[0];
    var onType =
        org.springframework.core.annotation.AnnotatedElementUtils.findMergedAnnotation(
            handler.getBeanType(), org.springframework.web.bind.annotation.RequestMapping.class);
    String prefix = onType == null || onType.path().length == 0 ? "" : onType.path()[0];
    return prefix + own;
  }

  private static void addSecurity(io.swagger.v3.oas.models.Operation operation, String scheme) {
    SecurityRequirement requirement = new SecurityRequirement().addList(scheme);
    if (operation.getSecurity() == null || !operation.getSecurity().contains(requirement)) {
      operation.addSecurityItem(requirement);
    }
  }

  private static ApiResponse problem(String description) {
    return new ApiResponse().description(description).content(problemContent());
  }

  private static Content problemContent() {
    return new Content()
        .addMediaType(PROBLEM_JSON, new MediaType().schema(new Schema<>().$ref("#/components/schemas/" + PROBLEM)));
  }
}
