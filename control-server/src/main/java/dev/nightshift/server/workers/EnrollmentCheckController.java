package dev.nightshift.server.workers;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * Lets the install scripts check an enrollment token before they install anything: 204 when it would enroll an
 * agent, else 401 with the reason (counted by the failed-authentication limit like any other refused credential).
 * The token comes in {@code Authorization: Bearer}, never in the URL (so never in an access log).
 */
@RestController
class EnrollmentCheckController {
  static final String PATH = "/install/enrollment-check";
  private final EnrollmentService enrollment;

  EnrollmentCheckController(EnrollmentService enrollment) {
    this.enrollment = enrollment;
  }

  @io.swagger.v3.oas.annotations.Operation(
      summary = "Check an enrollment token",
      description = "Whether the enrollment token would enroll an agent now, without using it up: the install scripts"
          + " ask before they install anything. No login; a refusal counts toward the failed-authentication limit.",
      responses = {
        @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "204", description = "the token is usable"),
        @io.swagger.v3.oas.annotations.responses.ApiResponse(
            responseCode = "401", description = "no token, or unknown, expired, used up or revoked: the reason says which")
      })
  @PostMapping(PATH)
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void check(
      @io.swagger.v3.oas.annotations.Parameter(
              description = "Bearer and the enrollment token", example = "Bearer ne_3f1c...")
          @RequestHeader(name = HttpHeaders.AUTHORIZATION, required = false)
          String authorization) {
    String token =
        authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
            ? authorization.substring(7).trim()
            : null;
    enrollment.check(token);
  }
}
