package dev.nightshift.server.security;

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

  @GetMapping("/users")
  Map<String, List<UserService.UserView>> list() {
    return Map.of("items", users.list());
  }

  @PostMapping("/users")
  ResponseEntity<UserService.UserView> create(@RequestBody JsonNode body) {
    NewUser request = JsonBodies.read(json, body, NewUser.class);
    UserService.UserView created = users.create(request.username(), request.password(), request.role());
    return ResponseEntity.created(URI.create("/api/v1/users/" + created.username())).body(created);
  }

  @GetMapping("/users/{username}")
  UserService.UserView get(@PathVariable String username) {
    return users.get(username);
  }

  @PatchMapping("/users/{username}")
  UserService.UserView update(@PathVariable String username, @RequestBody JsonNode body) {
    UserChange change = JsonBodies.read(json, body, UserChange.class);
    return users.update(username, change.password(), change.role(), change.enabled());
  }

  @DeleteMapping("/users/{username}")
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void delete(@PathVariable String username) {
    users.delete(username);
  }

  /** A new API token: the answer is the only time the token itself is shown. */
  @PostMapping("/api-tokens")
  ResponseEntity<ApiTokens.Created> createToken(@RequestBody JsonNode body, Principal user) {
    NewApiToken request = JsonBodies.read(json, body, NewApiToken.class);
    String owner = request.username() == null || request.username().isBlank() ? user.getName() : request.username();
    ApiTokens.Created created =
        tokens.create(request.name(), owner, request.role(), request.expiresInDays(), user.getName());
    return ResponseEntity.created(URI.create("/api/v1/api-tokens/" + created.id())).body(created);
  }

  @GetMapping("/api-tokens")
  Map<String, List<ApiTokens.TokenView>> listTokens() {
    return Map.of("items", tokens.list());
  }

  @DeleteMapping("/api-tokens/{id}")
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void revokeToken(@PathVariable long id) {
    tokens.revoke(id);
  }
}
