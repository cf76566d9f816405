package dev.nightshift.server.security;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import dev.nightshift.server.system.JsonBodies;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Users and API tokens (ADMIN only; the API chain lets OPERATOR read). */
@Tag(name = "users", description = "Users and API tokens (ADMIN only, even to read)")
@RestController
@RequestMapping("/api/v1")
class UserController {
  private final UserService users;
  private final ApiTokens tokens;
  private final JsonMapper json;

  UserController(UserService users, ApiTokens tokens, JsonMapper json) {
    this.users = users;
    this.tokens = tokens;
    this.json = json;
  }

  record NewUser(String username, String password, Role role) {}

  record UserChange(String password, Role role, Boolean enabled) {}

  /**
   * @param name what the token is for (shown in lists and the audit)
   * @param username the owner; default: the caller
   * @param role the token's role, at most the owner's; default: the owner's
   * @param expiresInDays days until it stops working; default: never
   */
  record NewApiToken(String name, String username, Role role, Long expiresInDays) {}

  @Operation(
      summary = "List users",
      description = "Every user with its role and whether it is enabled (never passwords).",
      responses = {
        @ApiResponse(responseCode = "200", description = "items: the users")
      })
  @GetMapping("/users")
  Map<String, List<UserService.UserView>> list() {
    return Map.of("items", users.list());
  }

  @Operation(
      summary = "Create a user",
      description = "A user who logs in to the API (HTTP Basic), Git and the dashboard with this password. Audited.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "username, password, role (ADMIN or OPERATOR)",
          content = @Content(
              mediaType = "application/json",
              schema = @Schema(implementation = NewUser.class),
              examples = {
                  @ExampleObject(name = "operator", value = """
                      {"username": "ci", "password": "a-long-secret-42", "role": "OPERATOR"}""")
              })),
      responses = {
        @ApiResponse(responseCode = "201", description = "created; Location: /api/v1/users/{username}; the user"),
        @ApiResponse(responseCode = "400", description = "a missing or invalid username, a password the rules refuse (the detail says why), a role other than ADMIN or OPERATOR, or an unknown field"),
        @ApiResponse(responseCode = "409", description = "a user with this name exists")
      })
  @PostMapping("/users")
  ResponseEntity<UserService.UserView> create(@RequestBody JsonNode body) {
    NewUser request = JsonBodies.read(json, body, NewUser.class);
    UserService.UserView created = users.create(request.username(), request.password(), request.role());
    return ResponseEntity.created(URI.create("/api/v1/users/" + created.username())).body(created);
  }

  @Operation(
      summary = "Get a user",
      description = "One user with its role and whether it is enabled.",
      responses = {
        @ApiResponse(responseCode = "200", description = "the user"),
        @ApiResponse(responseCode = "404", description = "no user with this name")
      })
  @GetMapping("/users/{username}")
  UserService.UserView get(@Parameter(description = "the user's name", example = "ci") @PathVariable String username) {
    return users.get(username);
  }

  @Operation(
      summary = "Change a user",
      description = "Changes the fields sent: password, role, enabled (a disabled user can no longer log in). Audited.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "any of password, role, enabled",
          content = @Content(
              mediaType = "application/json",
              schema = @Schema(implementation = UserChange.class),
              examples = {
                  @ExampleObject(name = "disable", value = """
                      {"enabled": false}"""),
                  @ExampleObject(name = "role", value = """
                      {"role": "ADMIN"}""")
              })),
      responses = {
        @ApiResponse(responseCode = "200", description = "the user after the change"),
        @ApiResponse(responseCode = "400", description = "a password the rules refuse (the detail says why), an unknown role or field"),
        @ApiResponse(responseCode = "404", description = "no user with this name"),
        @ApiResponse(responseCode = "409", description = "the change would leave no enabled ADMIN")
      })
  @PatchMapping("/users/{username}")
  UserService.UserView update(@Parameter(description = "the user's name", example = "ci") @PathVariable String username, @RequestBody JsonNode body) {
    UserChange change = JsonBodies.read(json, body, UserChange.class);
    return users.update(username, change.password(), change.role(), change.enabled());
  }

  @Operation(
      summary = "Delete a user",
      description = "The user can no longer log in; its API tokens stop working. Audited.",
      responses = {
        @ApiResponse(responseCode = "204", description = "deleted"),
        @ApiResponse(responseCode = "404", description = "no user with this name"),
        @ApiResponse(responseCode = "409", description = "the last enabled ADMIN cannot be deleted")
      })
  @DeleteMapping("/users/{username}")
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void delete(@Parameter(description = "the user's name", example = "ci") @PathVariable String username) {
    users.delete(username);
  }

  /** A new API token: the answer is the only time the token itself is shown. */
  @Operation(
      summary = "Create an API token",
      description = "A token for scripts, sent as Authorization: Bearer nst_... The answer is the only time the token itself is shown. Its role is at most its owner's. Audited.",
      requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(
          required = true,
          description = "name; optional username (default: the caller), role (default: the owner's), expiresInDays (default: never)",
          content = @Content(
              mediaType = "application/json",
              schema = @Schema(implementation = NewApiToken.class),
              examples = {
                  @ExampleObject(name = "ci", value = """
                      {"name": "nightly import", "username": "ci", "role": "OPERATOR", "expiresInDays": 90}""")
              })),
      responses = {
        @ApiResponse(responseCode = "201", description = "created; Location: /api/v1/api-tokens/{id}; the token (shown once)"),
        @ApiResponse(responseCode = "400", description = "no name, a role above the owner's, expiresInDays out of range, or an unknown field"),
        @ApiResponse(responseCode = "404", description = "no user named username"),
        @ApiResponse(responseCode = "409", description = "the owner is disabled")
      })
  @PostMapping("/api-tokens")
  ResponseEntity<ApiTokens.Created> createToken(@RequestBody JsonNode body, Principal user) {
    NewApiToken request = JsonBodies.read(json, body, NewApiToken.class);
    String owner = request.username() == null || request.username().isBlank() ? user.getName() : request.username();
    ApiTokens.Created created =
        tokens.create(request.name(), owner, request.role(), request.expiresInDays(), user.getName());
    return ResponseEntity.created(URI.create("/api/v1/api-tokens/" + created.id())).body(created);
  }

  @Operation(
      summary = "List API tokens",
      description = "Every API token with its name, owner, role, expiry, last use and whether it was revoked (never the token itself).",
      responses = {
        @ApiResponse(responseCode = "200", description = "items: the tokens")
      })
  @GetMapping("/api-tokens")
  Map<String, List<ApiTokens.TokenView>> listTokens() {
    return Map.of("items", tokens.list());
  }

  @Operation(
      summary = "Revoke an API token",
      description = "Calls with the token are refused (401) at once. Audited.",
      responses = {
        @ApiResponse(responseCode = "204", description = "revoked"),
        @ApiResponse(responseCode = "404", description = "no API token with this id")
      })
  @DeleteMapping("/api-tokens/{id}")
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void revokeToken(@Parameter(description = "the API token's id", example = "5") @PathVariable long id) {
    tokens.revoke(id);
  }
}
