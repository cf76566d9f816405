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
 * @param credentialCacheTtl how long a password that passed bcrypt is remembered (as an HMAC, never the password),
 *     so repeated HTTP Basic calls skip bcrypt; {@code 0} = bcrypt at every call. Role, enabled flag and password
 *     changes take effect at the next call regardless
 * @param credentialCacheSize most remembered passwords per server instance; when full, new ones are not remembered
 *     (those calls pay bcrypt) until entries expire
 * @param reservedLabels label keys only an admin may give a worker ({@code PUT /api/v1/workers/{id}/labels}): an
 *     agent declaring one of them at enrollment has it dropped, so a job requiring it never goes to a machine
 *     that merely says it qualifies (e.g. {@code secure-zone})
 * @param enrollmentApproval when true, a newly enrolled worker claims nothing until an admin approves it
 *     ({@code POST /api/v1/workers/{id}/approve}, or the dashboard's Workers page)
 */
@ConfigurationProperties("nightshift.security")
public record SecurityProperties(
    @DefaultValue("10") int authFailureLimit,
    @DefaultValue("1m") Duration authFailureWindow,
    @DefaultValue("3650") int apiTokenMaxDays,
    @DefaultValue("60s") Duration credentialCacheTtl,
    @DefaultValue("10000") int credentialCacheSize,
    @DefaultValue java.util.List<String> reservedLabels,
    @DefaultValue("false") boolean enrollmentApproval) {

  public SecurityProperties {
    reservedLabels =
        reservedLabels == null
            ? java.util.List.of()
            : reservedLabels.stream().map(String::strip).filter(k -> !k.isEmpty()).toList();
  }
}
