package dev.nightshift.server.security;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Security settings ({@code NIGHTSHIFT_SECURITY_*}).
 *
 * @param authFailureLimit failed authentications (wrong password, unknown token, refused enrollment) one source
 *     address may make per window before its further attempts are refused with 429
 * @param authFailureWindow the window over which failures are counted; a blocked address may try again when it ends
 * @param apiTokenMaxDays the longest life an API token may be given; tokens without an expiry are allowed
 */
@ConfigurationProperties("nightshift.security")
public record SecurityProperties(
    @DefaultValue("10") int authFailureLimit,
    @DefaultValue("1m") Duration authFailureWindow,
    @DefaultValue("3650") int apiTokenMaxDays) {}
