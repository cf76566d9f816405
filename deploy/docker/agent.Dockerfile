# A Nightshift agent for servers and containers (idle policy 'always'). Build from the repository root after
# ./mvnw -DskipTests package:
#   docker build -f deploy/docker/agent.Dockerfile -t nightshift-agent .
# Settings come from NIGHTSHIFT_* variables (docs/agent.md): NIGHTSHIFT_SERVER, NIGHTSHIFT_ENROLLMENT_TOKEN and
# NIGHTSHIFT_TRUSTED_KEYS (the release key: docs/security.md, Signed releases) at least. The data directory keeps the agent's identity: keep it on a volume, one per agent.
FROM eclipse-temurin:21-jre
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/nightshift-agent --shell /usr/sbin/nologin nightshift
COPY worker-agent/target/nightshift-agent.jar /opt/nightshift/nightshift-agent.jar
USER nightshift
WORKDIR /var/lib/nightshift-agent
ENV NIGHTSHIFT_DATA_DIR=/var/lib/nightshift-agent \
    NIGHTSHIFT_IDLE_POLICY=always \
    JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=25"
VOLUME /var/lib/nightshift-agent
# SIGTERM (docker stop): the agent releases its leases and says goodbye; give it the time to
STOPSIGNAL SIGTERM
ENTRYPOINT ["java", "-jar", "/opt/nightshift/nightshift-agent.jar"]
CMD ["run"]
