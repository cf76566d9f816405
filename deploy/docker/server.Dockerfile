# The Nightshift control server. Build from the repository root after ./mvnw -DskipTests package:
#   docker build -f deploy/docker/server.Dockerfile -t nightshift-server .
# It needs a MySQL 8.0+ / MariaDB 10.6+ database (SPRING_DATASOURCE_*): the embedded one is not in the image.
FROM eclipse-temurin:21-jre
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/nightshift --shell /usr/sbin/nologin nightshift
# the server jar carries the agent it serves at /install/
COPY control-server/target/nightshift-server.jar /opt/nightshift/nightshift-server.jar
USER nightshift
WORKDIR /var/lib/nightshift
ENV NIGHTSHIFT_DATA_DIR=/var/lib/nightshift \
    SERVER_PORT=8080 \
    JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=70"
# the code repository (git/code.git) lives here: keep it on a volume
VOLUME /var/lib/nightshift
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /actuator/health/readiness HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["java", "-jar", "/opt/nightshift/nightshift-server.jar"]
