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

  @PostMapping(PATH)
  @ResponseStatus(HttpStatus.NO_CONTENT)
  void check(@RequestHeader(name = HttpHeaders.AUTHORIZATION, required = false) String authorization) {
    String token =
        authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
            ? authorization.substring(7).trim()
            : null;
    enrollment.check(token);
  }
}
