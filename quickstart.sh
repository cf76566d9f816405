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
# The local agent reads the enrollment token from a file: not on its command line (ps shows that to every user).
token_file="$state/enrollment.token"
(umask 077 && printf '%s\n' "$NIGHTSHIFT_ENROLLMENT_TOKEN" > "$token_file")

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
# Ctrl-C (or a TERM) is the normal way to stop: stop both and end here, successfully.
trap 'stop; exit 0' INT TERM
trap stop EXIT

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

# Jobs run promoted code. A fresh grid gets examples/hello, pushed and promoted; a restarted one keeps what it has.
auth="admin:$NIGHTSHIFT_ADMIN_PASSWORD"
api="http://127.0.0.1:$port/api/v1/code"
repo="http://127.0.0.1:$port/git/code.git"
# git reads the admin credentials from its environment: not in the command line (ps), not in messages.
git_server() {
  GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader \
    GIT_CONFIG_VALUE_0="Authorization: Basic $(printf '%s' "$auth" | base64 | tr -d '\n')" git "$@"
}
current_field() { sed -n "s/.*\"current\":{[^}]*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
promote_main() { # prints the promoted version, or why the server refused
  local answer status
  answer=$(curl -sS -u "$auth" -H 'Content-Type: application/json' -d '{"ref":"main"}' -w '\n%{http_code}' \
    "$api/promotions" 2>&1) || { echo "$answer" | head -n 1; return 1; }
  status=$(echo "$answer" | tail -n 1)
  case "$status" in
    2??) echo "$answer" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p' ;;
    *) echo "HTTP $status $(echo "$answer" | sed -n '1s/.*"detail":"\([^"]*\)".*/\1/p')"; return 1 ;;
  esac
}
seed_code() { # one line: what the grid's promoted code is now
  local current seed out version what found
  if ! command -v curl >/dev/null; then
    echo "not checked (no curl): push code to the repository above and promote it"; return
  fi
  current=$(curl -fsS -u "$auth" "$api" 2>&1) || { echo "not checked: $current"; return; }
  if ! echo "$current" | grep -q '"current":null'; then
    version=$(echo "$current" | current_field version)
    echo "version ${version:-unknown} (commit $(echo "$current" | current_field commit | cut -c1-12))," \
      "promoted earlier"
    return
  fi
  if ! command -v git >/dev/null; then
    echo "none (install git, or push code to the repository above and promote it)"; return
  fi
  seed=$(mktemp -d)
  cp -R examples/hello/. "$seed/"
  out=$(cd "$seed" && git init -q -b main && git add -A \
    && git -c user.name=quickstart -c user.email=quickstart@localhost commit -q -m "examples/hello" 2>&1) \
    || { rm -rf "$seed"; echo "none (could not commit examples/hello: $(echo "$out" | tail -n 1))"; return; }
  # The repository may already have a main branch (pushed before, but never promoted): never overwrite it.
  found=0
  out=$(git_server ls-remote --exit-code --heads "$repo" main 2>&1) || found=$? # 2: no such branch
  if [ "$found" = 0 ]; then
    out=$(cd "$seed" && git_server fetch -q "$repo" main 2>&1) \
      || { rm -rf "$seed"; echo "none (fetching main failed: $(echo "$out" | tail -n 1))"; return; }
    if [ "$(cd "$seed" && git rev-parse 'FETCH_HEAD^{tree}')" != "$(cd "$seed" && git rev-parse 'HEAD^{tree}')" ]; then
      rm -rf "$seed"
      echo "none: the repository's main branch is not examples/hello; promote it with" \
        "curl -u admin:... -H 'Content-Type: application/json' -d '{\"ref\":\"main\"}' $api/promotions"
      return
    fi
    what="examples/hello, already in the repository, promoted"
  elif [ "$found" = 2 ]; then
    out=$(cd "$seed" && git_server push -q "$repo" main 2>&1) \
      || { rm -rf "$seed"; echo "none (pushing examples/hello failed: $(echo "$out" | tail -n 1))"; return; }
    what="examples/hello pushed and promoted"
  else
    rm -rf "$seed"; echo "none (the code repository did not answer: $(echo "$out" | tail -n 1))"; return
  fi
  rm -rf "$seed"
  if version=$(promote_main); then
    echo "$what (version ${version:-unknown})"
  else
    echo "none (promoting main failed: $version)"
  fi
}
code_status=$(seed_code)

echo "Starting a local agent (log: $state/agent.log)..."
echo "WARNING: the quickstart agent runs with --allow-unsigned: it runs UNSIGNED code and raw shell commands from this"
echo "WARNING: server. For real desktops, sign releases and start agents with --trusted-key (docs/security.md)."
java -jar "$agent_jar" run --server "http://127.0.0.1:$port" --enrollment-token-file "$token_file" \
  --data-dir "$state/agent" --slots 2 --name "$(hostname)-local" --allow-unsigned > "$state/agent.log" 2>&1 &
agent_pid=$!

cat <<BANNER

  Nightshift is running.

  API and dashboard   http://127.0.0.1:$port/   (API under /api/v1, health at /actuator/health)
  Admin user          admin
  Admin password      $NIGHTSHIFT_ADMIN_PASSWORD
  Enrollment token    $NIGHTSHIFT_ENROLLMENT_TOKEN   (for more agents)
  Credentials file    $credentials

  Code repository     http://127.0.0.1:$port/git/code.git   (push as admin; promote with POST /api/v1/code/promotions)
  Promoted code       $code_status

  Try it:
    curl -u admin:$NIGHTSHIFT_ADMIN_PASSWORD -H 'Content-Type: application/json' \\
      -d '{"name":"hello","command":"sh process.sh","batchSize":2,"items":[1,2,3,4,5]}' http://127.0.0.1:$port/api/v1/jobs
    curl -u admin:$NIGHTSHIFT_ADMIN_PASSWORD http://127.0.0.1:$port/api/v1/jobs/1/results

  Another agent on this or any machine (copy $token_file there, readable only by the agent's user;
  plain http:// to another machine is refused unless allowed: for a trial only, use TLS otherwise):
    java -jar $agent_jar run --server http://<this-host>:$port --allow-insecure-http \\
      --enrollment-token-file $token_file --data-dir ~/.nightshift/agent \\
      --trusted-key "\$(cat ~/.ssh/nightshift-release.pub)"   (or --allow-unsigned, for a trial only)

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
echo "quickstart: the server stopped by itself; the end of its log:" >&2
tail -n 20 "$state/server.log" >&2
exit 1
