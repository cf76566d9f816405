package dev.nightshift.server.security;

import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.authentication.dao.DaoAuthenticationProvider;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * Password authentication (API Basic, Git Basic, the dashboard's login form) that runs bcrypt once per user and
 * password per {@link VerifiedCredentials} TTL. Everything else is Spring's {@link DaoAuthenticationProvider},
 * unchanged: the user's row (password hash, role, enabled) is read at every call, a disabled user is refused before
 * its password is looked at, an unknown user still costs a bcrypt (no timing difference), a wrong password is
 * checked with bcrypt every time and never cached.
 */
class CachingPasswordProvider extends DaoAuthenticationProvider {
  private final VerifiedCredentials verified;

  CachingPasswordProvider(UserDetailsService users, PasswordEncoder encoder, VerifiedCredentials verified) {
    super(users);
    setPasswordEncoder(encoder);
    this.verified = verified;
  }

  @Override
  protected void additionalAuthenticationChecks(UserDetails user, UsernamePasswordAuthenticationToken authentication) {
    Object credentials = authentication.getCredentials();
    String presented = credentials == null ? null : credentials.toString();
    if (verified.verified(user.getUsername(), presented, user.getPassword())) {
      return;
    }
    verified.countBcryptCheck();
    super.additionalAuthenticationChecks(user, authentication); // throws BadCredentialsException on a mismatch
    verified.remember(user.getUsername(), presented, user.getPassword());
  }
}
