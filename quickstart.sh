#!/usr/bin/env bash
# Starts a working Nightshift grid on this machine: the control server on its embedded database (a real MariaDB
# from a jar; data kept in .nightshift/server, surviving restarts) and one local agent. Prints the URL and the admin
# credentials. Ctrl-C stops both. Needs only a JDK 17+ (the Maven wrapper fetches Maven).
#
#   ./quickstart.sh                 build, then start on port 8080
#   SERVER_PORT=9090 ./quickstart.sh
#   NIGHTSHIFT_SKIP_BUILD=1 ./quickstart.sh   reuse the jars already built
set -euo pipefail
cd "$(dirname "$0")"

port="${SERVER_PORT:-8080}"
state="${NIGHTSHIFT_HOME:-$PWD/.nightshift}"
server_jar=control-server/target/nightshift-server.jar
agent_jar=worker-agent/target/nightshift-agent.jar

command -v java >/dev/null || { echo "quickstart: no 'java' on PATH: install a JDK 17 or newer" >&2; exit 1; }

if [ "${NIGHTSHIFT_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$server_jar" ] || [ ! -f "$agent_jar" ]; then
  echo "Building (./mvnw package, tests skipped; ./mvnw verify runs them)..."
  ./mvnw -B -q -ntp -DskipTests package
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "quickstart: port $port is already in use; choose another with SERVER_PORT=9090 ./quickstart.sh" >&2
  exit 1
fi

mkdir -p "$state"
chmod 700 "$state"
credentials="$state/credentials"
if [ ! -f "$credentials" ]; then
  random() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 24; }
  umask 077
  printf 'NIGHTSHIFT_ADMIN_PASSWORD=%s\nNIGHTSHIFT_ENROLLMENT_TOKEN=%s\n' "$(random)" "$(random)" > "$credentials"
fi
# shellcheck disable=SC1090
. "$credentials"

server_pid=""
agent_pid=""
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping..."
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  echo "Stopped. Data is kept in $state (delete it to start afresh)."
}
trap stop INT TERM EXIT

echo "Starting the control server on port $port (log: $state/server.log)..."
SERVER_PORT="$port" NIGHTSHIFT_DATA_DIR="$state/server" \
  NIGHTSHIFT_ADMIN_PASSWORD="$NIGHTSHIFT_ADMIN_PASSWORD" NIGHTSHIFT_ENROLLMENT_TOKEN="$NIGHTSHIFT_ENROLLMENT_TOKEN" \
  java -Dloader.path=control-server/target/embedded-db -jar "$server_jar" > "$state/server.log" 2>&1 &
server_pid=$!

healthy() {
  if command -v curl >/dev/null; then
    curl -fs "http://127.0.0.1:$port/actuator/health" >/dev/null
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /actuator/health HTTP/1.0\r\n\r\n' >&3 && head -1 <&3 | grep -q ' 200 ') 2>/dev/null
  fi
}
for _ in $(seq 1 180); do
  healthy && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "quickstart: the server stopped during start-up; the end of its log:" >&2
    tail -n 40 "$state/server.log" >&2
    exit 1
  fi
  sleep 1
done
healthy || { echo "quickstart: the server did not become healthy in 3 minutes; see $state/server.log" >&2; exit 1; }

# Jobs run promoted code: on a fresh grid, push examples/hello and promote it (needs the git client).
auth="admin:$NIGHTSHIFT_ADMIN_PASSWORD"
seeded=""
if command -v curl >/dev/null && curl -fs -u "$auth" "http://127.0.0.1:$port/api/v1/code" | grep -q '"current":null'; then
  if command -v git >/dev/null; then
    seed=$(mktemp -d)
    cp -R examples/hello/. "$seed/"
    (cd "$seed" && git init -q -b main && git add -A \
      && git -c user.name=quickstart -c user.email=quickstart@localhost commit -q -m "examples/hello" \
      && git push -q "http://$auth@127.0.0.1:$port/git/code.git" main) \
      && curl -fs -u "$auth" -H 'Content-Type: application/json' -d '{"ref":"main"}' \
           "http://127.0.0.1:$port/api/v1/code/promotions" >/dev/null \
      && seeded="yes"
    rm -rf "$seed"
  fi
fi

echo "Starting a local agent (log: $state/agent.log)..."
java -jar "$agent_jar" run --server "http://127.0.0.1:$port" --enrollment-token "$NIGHTSHIFT_ENROLLMENT_TOKEN" \
  --data-dir "$state/agent" --slots 2 --name "$(hostname)-local" > "$state/agent.log" 2>&1 &
agent_pid=$!

cat <<BANNER

  Nightshift is running.

  API and dashboard   http://127.0.0.1:$port/   (API under /api/v1, health at /actuator/health)
  Admin user          admin
  Admin password      $NIGHTSHIFT_ADMIN_PASSWORD
  Enrollment token    $NIGHTSHIFT_ENROLLMENT_TOKEN   (for more agents)
  Credentials file    $credentials

  Code repository     http://127.0.0.1:$port/git/code.git   (push as admin; promote with POST /api/v1/code/promotions)
$( [ -n "$seeded" ] && echo "                      seeded with examples/hello and promoted (version $(head -n 1 examples/hello/VERSION))" )

  Try it:
    curl -u admin:$NIGHTSHIFT_ADMIN_PASSWORD -H 'Content-Type: application/json' \\
      -d '{"name":"hello","command":"sh process.sh","batchSize":2,"items":[1,2,3,4,5]}' http://127.0.0.1:$port/api/v1/jobs
    curl -u admin:$NIGHTSHIFT_ADMIN_PASSWORD http://127.0.0.1:$port/api/v1/jobs/1/results

  Another agent on this or any machine:
    java -jar $agent_jar run --server http://<this-host>:$port --enrollment-token $NIGHTSHIFT_ENROLLMENT_TOKEN --data-dir ~/.nightshift/agent

  Press Ctrl-C to stop.
BANNER

while kill -0 "$server_pid" 2>/dev/null; do
  if [ -n "$agent_pid" ] && ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "quickstart: the local agent stopped; the end of its log:" >&2
    tail -n 20 "$state/agent.log" >&2
    agent_pid=""
  fi
  sleep 2
done
echo "quickstart: the server stopped; the end of its log:" >&2
tail -n 20 "$state/server.log" >&2
