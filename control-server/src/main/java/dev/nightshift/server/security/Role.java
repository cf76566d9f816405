package dev.nightshift.server.security;

/** What a user may do. ADMIN changes things; OPERATOR reads everything and changes nothing. */
public enum Role {
  ADMIN,
  OPERATOR
}
