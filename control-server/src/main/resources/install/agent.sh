#!/bin/sh
# Installs the Nightshift worker agent on Linux or macOS, from the server that served this script.
#
#   curl -fsSL @NIGHTSHIFT_SERVER@/install/agent.sh | sh -s -- --token T
#   curl -fsSL @NIGHTSHIFT_SERVER@/install/agent.sh | sh -s -- --uninstall
#
# It checks the enrollment token with the server, downloads the agent jar and checks its SHA-256, and only then
# installs: PREFIX/lib/nightshift-agent.jar, PREFIX/bin/nightshift-agent (the launcher), PREFIX/etc/agent.properties
# (the settings and the enrollment token, mode 0600: never on a command line) and PREFIX/data (the data directory),
# and registers a service: a systemd unit (system-wide when run as root, as user 'nightshift'; else a --user unit),
# or a launchd agent on macOS. Needs curl, and Java 17 or newer (java on PATH, or --java); on Linux x64 without one it
# installs the server's runtime bundle (a minimal Java made with jlink) into PREFIX/runtime.
# `--help` lists the options; docs/operations.md ("Rolling out agents") walks through it.
set -eu

SERVER='@NIGHTSHIFT_SERVER@'
PROG=nightshift-agent-install

usage() {
  cat <<EOF
Usage: sh agent.sh [options]
  --token T             enrollment token (or --token-file F, or the environment variable NIGHTSHIFT_ENROLLMENT_TOKEN)
  --token-file F        read the enrollment token from file F (first line)
  --server URL          the Nightshift server (default: $SERVER)
  --prefix DIR          install into DIR (default: /opt/nightshift-agent as root, else ~/.nightshift-agent)
  --name NAME           the worker's name (default: the host name)
  --slots N             batches run at once (default 1)
  --label K=V           a label (repeat)
  --idle-policy P       always | desktop (default: the agent's)
  --host-idle-file F    an agent in a VM: the file the host companion writes (docs/idle-policy.md)
  --trusted-key KEY     run releases signed by this Ed25519 key: 'ssh-ed25519 AAAA... comment' (quoted) or a file of
                        such lines; repeat for more (docs/security.md, Signed releases)
  --allow-unsigned      run unsigned code and raw shell commands from the server (trusts whoever controls it)
  --java PATH           the java to run the agent with (default: java on PATH; 17 or newer)
  --bundled-java        run the agent on the server's Java runtime bundle (Linux x64), even if a Java is found; it
                        is used anyway when no Java 17 or newer is found
  --user USER           as root: the account the service runs as (default nightshift; created if missing)
  --no-service          install the files only; register no service (start PREFIX/bin/nightshift-agent run yourself)
  --uninstall           stop and remove the service and PREFIX (its data directory too)
  --host-companion F    on the host of a VM: install only the host companion, writing the idle seconds to F
  -h, --help            this text
EOF
}

fail() {
  echo "$PROG: $*" >&2
  exit 1
}

token=${NIGHTSHIFT_ENROLLMENT_TOKEN:-}
token_file=
prefix=
name=
slots=
labels=
idle_policy=
host_idle_file=
trusted_keys=
allow_unsigned=0
java=
bundled_java=0
service_user=nightshift
service=1
uninstall=0
companion=

need_value() {
  [ "$2" -ge 2 ] || { echo "$PROG: $1 needs a value (see --help)" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
  case "$1" in
    --token) need_value "$1" $#; token=$2; shift 2 ;;
    --token-file) need_value "$1" $#; token_file=$2; shift 2 ;;
    --server) need_value "$1" $#; SERVER=$2; shift 2 ;;
    --prefix) need_value "$1" $#; prefix=$2; shift 2 ;;
    --name) need_value "$1" $#; name=$2; shift 2 ;;
    --slots) need_value "$1" $#; slots=$2; shift 2 ;;
    --label) need_value "$1" $#; labels=${labels:+$labels,}$2; shift 2 ;;
    --idle-policy) need_value "$1" $#; idle_policy=$2; shift 2 ;;
    --host-idle-file) need_value "$1" $#; host_idle_file=$2; shift 2 ;;
    --trusted-key) need_value "$1" $#; trusted_keys=${trusted_keys:+$trusted_keys;}$2; shift 2 ;;
    --allow-unsigned) allow_unsigned=1; shift ;;
    --java) need_value "$1" $#; java=$2; shift 2 ;;
    --bundled-java) bundled_java=1; shift ;;
    --user) need_value "$1" $#; service_user=$2; shift 2 ;;
    --no-service) service=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    --host-companion) need_value "$1" $#; companion=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$PROG: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

[ -z "$java" ] || [ "$bundled_java" = 0 ] \
  || { echo "$PROG: --java and --bundled-java say different things: pass one of them" >&2; exit 2; }
SERVER=${SERVER%/}
case "$SERVER" in
  http://*|https://*) ;;
  *) echo "$PROG: --server must be an http:// or https:// URL, not '$SERVER'" >&2; exit 2 ;;
esac
os=$(uname -s)
case "$os" in
  Linux|Darwin) ;;
  *) fail "this script installs on Linux and macOS; on Windows use install-agent.ps1 from $SERVER/install/" ;;
esac
root=0
[ "$(id -u)" = 0 ] && root=1
if [ -z "$prefix" ]; then
  if [ "$root" = 1 ]; then prefix=/opt/nightshift-agent; else prefix=$HOME/.nightshift-agent; fi
fi
case "$prefix" in
  /*) ;;
  *) prefix=$(pwd)/$prefix ;;
esac
prefix=${prefix%/}
# The prefix goes into unit files and a launcher: keep it free of characters they would need quoted.
case "$prefix" in
  *[!A-Za-z0-9._/+-]*) echo "$PROG: choose a --prefix of letters, digits and . _ / + - only (not '$prefix')" >&2; exit 2 ;;
esac
if [ "$root" = 1 ]; then
  unit_dir=/etc/systemd/system
  systemctl_scope=
else
  unit_dir=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
  systemctl_scope=--user
fi

# ---- services ---------------------------------------------------------------------------------------------------
has() { command -v "$1" >/dev/null 2>&1; }

systemd_running() { has systemctl && [ -d /run/systemd/system ]; }

# register_service NAME FILE: install and start the unit / launchd agent written at FILE
register_service() {
  if [ "$os" = Darwin ]; then
    mkdir -p "$HOME/Library/LaunchAgents"
    target=$HOME/Library/LaunchAgents/dev.nightshift.$1.plist
    launchctl bootout "gui/$(id -u)" "$target" >/dev/null 2>&1 || true
    cp "$2" "$target"
    launchctl bootstrap "gui/$(id -u)" "$target" || launchctl load -w "$target"
    echo "Registered the launchd agent $target"
  else
    systemd_running || fail "no running systemd here: use --no-service and start $prefix/bin/$1 yourself"
    mkdir -p "$unit_dir"
    cp "$2" "$unit_dir/$1.service"
    # shellcheck disable=SC2086 # empty for system units
    systemctl $systemctl_scope daemon-reload
    # shellcheck disable=SC2086
    systemctl $systemctl_scope enable "$1.service" >/dev/null 2>&1
    # shellcheck disable=SC2086
    systemctl $systemctl_scope restart "$1.service" </dev/null
    echo "Registered and started $unit_dir/$1.service"
    if [ "$root" = 0 ] && has loginctl; then
      echo "  (a --user unit runs while you are logged in; 'loginctl enable-linger $(id -un)' keeps it running)"
    fi
  fi
}

# write_plist FILE NAME KEEPALIVE LOG PROGRAM ARGS...: a launchd agent definition (macOS)
write_plist() {
  plist_file=$1 plist_name=$2 plist_keepalive=$3 plist_log=$4
  shift 4
  plist_args=
  for a in "$@"; do plist_args="$plist_args<string>$a</string>"; done
  cat >"$plist_file" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>dev.nightshift.$plist_name</string>
  <key>ProgramArguments</key>
  <array>$plist_args</array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key>$plist_keepalive
  <key>ThrottleInterval</key><integer>30</integer>
  <key>ProcessType</key><string>Background</string>
  <key>Nice</key><integer>10</integer>
  <key>StandardOutPath</key><string>$plist_log</string>
  <key>StandardErrorPath</key><string>$plist_log</string>
</dict>
</plist>
EOF
}

unregister_service() {
  if [ "$os" = Darwin ]; then
    target=$HOME/Library/LaunchAgents/dev.nightshift.$1.plist
    if [ -f "$target" ]; then
      launchctl bootout "gui/$(id -u)" "$target" >/dev/null 2>&1 || launchctl unload -w "$target" >/dev/null 2>&1 || true
      rm -f "$target"
      echo "Removed the launchd agent $target"
    fi
  elif [ -f "$unit_dir/$1.service" ]; then
    if systemd_running; then
      # shellcheck disable=SC2086
      systemctl $systemctl_scope disable --now "$1.service" >/dev/null 2>&1 || true
    fi
    rm -f "$unit_dir/$1.service"
    if systemd_running; then
      # shellcheck disable=SC2086
      systemctl $systemctl_scope daemon-reload || true
    fi
    echo "Removed $unit_dir/$1.service"
  fi
}

# ---- uninstall --------------------------------------------------------------------------------------------------
if [ "$uninstall" = 1 ]; then
  if [ -n "$companion" ] || [ -f "$prefix/bin/nightshift-host-idle" ]; then
    unregister_service nightshift-host-idle
  fi
  unregister_service nightshift-agent
  if [ -d "$prefix" ]; then
    [ -f "$prefix/installed-by-agent.sh" ] \
      || fail "$prefix was not installed by this script (no installed-by-agent.sh in it): not removing it"
    rm -rf "$prefix"
    echo "Removed $prefix"
  else
    echo "Nothing installed at $prefix"
  fi
  exit 0
fi

# ---- what it needs ----------------------------------------------------------------------------------------------
has curl || fail "curl is needed: install it (e.g. apt-get install curl) and run this again"
sha256() {
  if has sha256sum; then sha256sum "$1" | cut -d' ' -f1
  elif has shasum; then shasum -a 256 "$1" | cut -d' ' -f1
  elif has openssl; then openssl dgst -sha256 "$1" | sed 's/.*= *//'
  else fail "no sha256sum, shasum or openssl to check the download with"
  fi
}
stage=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-agent.XXXXXX")
created_prefix=0
finish() {
  status=$?
  rm -rf "$stage"
  if [ "$status" != 0 ] && [ "$created_prefix" = 1 ]; then
    rm -rf "$prefix"
    echo "$PROG: nothing was installed (removed $prefix again)" >&2
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# fetch PATH FILE: download $SERVER/PATH to FILE, or stop with what went wrong
fetch() {
  code=$(curl -sS -L -o "$2" -w '%{http_code}' "$SERVER/$1" 2>"$stage/curl.err") \
    || fail "cannot reach the server at $SERVER: $(tr '\n' ' ' <"$stage/curl.err")- is it running, and is --server right? Nothing was installed."
  [ "$code" = 200 ] || fail "$SERVER/$1 answered HTTP $code$(detail "$2"). Nothing was installed."
}
# the detail of a problem+json answer, if any
detail() {
  d=$(sed -n 's/.*"detail":"\([^"]*\)".*/\1/p' "$1" 2>/dev/null | head -n 1)
  [ -n "$d" ] && printf ': %s' "$d"
  return 0
}

# ---- the host companion (on the host of a VM; no agent, no token) ---------------------------------------------
if [ -n "$companion" ]; then
  [ "$root" = 0 ] || [ "$service" = 0 ] \
    || fail "run the host companion as the desktop user, not root: it reads that user's idle time"
  fetch install/host-idle.sh "$stage/host-idle.sh"
  [ -d "$prefix" ] || created_prefix=1
  mkdir -p "$prefix/bin" "$prefix/etc"
  : >"$prefix/installed-by-agent.sh"
  cp "$stage/host-idle.sh" "$prefix/bin/nightshift-host-idle"
  chmod 755 "$prefix/bin/nightshift-host-idle"
  if [ "$os" = Darwin ]; then
    write_plist "$prefix/etc/nightshift-host-idle.plist" nightshift-host-idle "<true/>" "$prefix/host-idle.log" \
      /bin/sh "$prefix/bin/nightshift-host-idle" "$companion"
    unit=$prefix/etc/nightshift-host-idle.plist
  else
    cat >"$prefix/etc/nightshift-host-idle.service" <<EOF
[Unit]
Description=Nightshift host companion: this user's idle seconds for an agent in a VM
Documentation=$SERVER/install/host-idle.sh

[Service]
ExecStart=/bin/sh $prefix/bin/nightshift-host-idle $companion
Restart=always
RestartSec=10

[Install]
WantedBy=default.target
EOF
    unit=$prefix/etc/nightshift-host-idle.service
  fi
  if [ "$service" = 1 ]; then register_service nightshift-host-idle "$unit"; fi
  created_prefix=0
  echo "Installed the host companion: $prefix/bin/nightshift-host-idle writes $companion"
  echo "  pause the agent in the VM for 2 h: $prefix/bin/nightshift-host-idle --pause 2h $companion"
  exit 0
fi

# ---- check everything before installing anything ----------------------------------------------------------------
if [ -n "$token_file" ]; then
  [ -r "$token_file" ] || fail "cannot read the token file $token_file"
  token=$(head -n 1 "$token_file" | tr -d '\r')
fi
[ -n "$token" ] || { echo "$PROG: an enrollment token is needed: --token T, --token-file F or NIGHTSHIFT_ENROLLMENT_TOKEN (admins create one with POST /api/v1/enrollment-tokens)" >&2; exit 2; }
case "$token" in
  *[!A-Za-z0-9._~+/=-]*) echo "$PROG: the token has characters no enrollment token has: check what you pasted" >&2; exit 2 ;;
esac
case "$slots" in
  ''|[1-9]|[1-9][0-9]|[1-2][0-9][0-9]) ;;
  *) echo "$PROG: --slots takes a number from 1 to 256, not '$slots'" >&2; exit 2 ;;
esac
for v in "$name" "$labels" "$idle_policy" "$host_idle_file"; do
  case "$v" in
    *'
'*|*\\*) echo "$PROG: settings may not hold a line break or a backslash: '$v'" >&2; exit 2 ;;
  esac
done

# java_major JAVA: the feature version of that java, or nothing
java_major() {
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1
}
runtime_bundle=nightshift-agent-runtime-linux-x64.tar.gz
bundle_here=0
[ "$os" = Linux ] && [ "$(uname -m)" = x86_64 ] && bundle_here=1
if [ -n "$java" ]; then
  [ -x "$java" ] || fail "--java $java is not an executable file"
  java_major=$(java_major "$java")
  { [ -n "$java_major" ] && [ "$java_major" -ge 17 ] 2>/dev/null; } \
    || fail "$java is Java ${java_major:-of an unknown version}; the agent needs 17 or newer"
elif [ "$bundled_java" = 0 ]; then
  java=$(command -v java 2>/dev/null || true)
  java_major=
  [ -z "$java" ] || java_major=$(java_major "$java")
  if [ -z "$java" ] || ! [ "$java_major" -ge 17 ] 2>/dev/null; then
    found=${java:+$java is Java ${java_major:-of an unknown version}}
    [ "$bundle_here" = 1 ] \
      || fail "${found:-no java found}: install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless, brew install openjdk@17) or pass --java PATH"
    echo "${found:-No java found}: installing the server's Java runtime bundle (--bundled-java)"
    bundled_java=1
    java=
  fi
fi
if [ "$bundled_java" = 1 ]; then
  [ "$bundle_here" = 1 ] \
    || fail "the server's runtime bundle is for Linux x64, not $os $(uname -m): install Java 17 or newer and pass --java PATH"
  has tar || fail "tar is needed to unpack the runtime bundle: install it, or install Java 17 or newer"
fi
case "$java" in ''|/*) ;; *) java=$(cd "$(dirname "$java")" && pwd)/$(basename "$java") ;; esac

# the token goes to curl in a config file in the private staging directory: never on a command line
printf 'header = "Authorization: Bearer %s"\n' "$token" >"$stage/curl.cfg"
code=$(curl -sS -K "$stage/curl.cfg" -X POST -o "$stage/check" -w '%{http_code}' \
  "$SERVER/install/enrollment-check" 2>"$stage/curl.err") \
  || fail "cannot reach the server at $SERVER: $(tr '\n' ' ' <"$stage/curl.err")- is it running, and is --server right? Nothing was installed."
rm -f "$stage/curl.cfg"
case "$code" in
  204) ;;
  401) fail "the server refused the enrollment token$(detail "$stage/check"). Nothing was installed." ;;
  429) fail "too many failed attempts from this address$(detail "$stage/check"). Nothing was installed." ;;
  *) fail "checking the token at $SERVER answered HTTP $code$(detail "$stage/check"). Nothing was installed." ;;
esac

fetch install/nightshift-agent.jar.sha256 "$stage/sum"
expected=$(cut -d' ' -f1 <"$stage/sum" | head -n 1)
fetch install/nightshift-agent.jar "$stage/nightshift-agent.jar"
actual=$(sha256 "$stage/nightshift-agent.jar")
[ "$actual" = "$expected" ] \
  || fail "the downloaded agent's SHA-256 is $actual but the server says $expected: the download was cut short or changed on the way (a proxy?). Nothing was installed; run this again."
if [ "$bundled_java" = 1 ]; then
  code=$(curl -sS -L -o "$stage/runtime.sum" -w '%{http_code}' "$SERVER/install/$runtime_bundle.sha256" 2>"$stage/curl.err") \
    || fail "cannot reach the server at $SERVER: $(tr '\n' ' ' <"$stage/curl.err")- Nothing was installed."
  [ "$code" != 404 ] \
    || fail "no Java 17 here, and the server has no runtime bundle$(detail "$stage/runtime.sum"). Install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or pass --java PATH. Nothing was installed."
  [ "$code" = 200 ] || fail "$SERVER/install/$runtime_bundle.sha256 answered HTTP $code$(detail "$stage/runtime.sum"). Nothing was installed."
  runtime_expected=$(cut -d' ' -f1 <"$stage/runtime.sum" | head -n 1)
  fetch "install/$runtime_bundle" "$stage/$runtime_bundle"
  runtime_actual=$(sha256 "$stage/$runtime_bundle")
  [ "$runtime_actual" = "$runtime_expected" ] \
    || fail "the downloaded runtime bundle's SHA-256 is $runtime_actual but the server says $runtime_expected: the download was cut short or changed on the way (a proxy?). Nothing was installed; run this again."
  mkdir "$stage/runtime"
  tar -xzf "$stage/$runtime_bundle" -C "$stage/runtime" || fail "could not unpack the runtime bundle. Nothing was installed."
  rm -f "$stage/$runtime_bundle"
  java=$stage/runtime/bin/java
fi
version=$("$java" -jar "$stage/nightshift-agent.jar" version </dev/null 2>&1 | head -n 1) \
  || fail "the downloaded agent does not start with $java: $version. Nothing was installed."

if [ "$root" = 1 ] && [ "$service" = 1 ] && [ "$os" = Linux ]; then
  if ! id "$service_user" >/dev/null 2>&1; then
    has useradd || fail "no user '$service_user' and no useradd to create it: create it, or pass --user"
    nologin=$(command -v nologin 2>/dev/null || echo /usr/sbin/nologin)
    useradd --system --home-dir "$prefix/data" --no-create-home --shell "$nologin" "$service_user"
    echo "Created the system user $service_user"
  fi
fi
if [ "$os" = Darwin ] && [ "$root" = 1 ] && [ "$service" = 1 ]; then
  fail "on macOS run this as the desktop user, without sudo: the agent runs as that user's launchd agent (it must see the user's idle time)"
fi

# ---- install ----------------------------------------------------------------------------------------------------
[ -d "$prefix" ] || created_prefix=1
umask 022
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/etc"
: >"$prefix/installed-by-agent.sh"
mkdir -p "$prefix/data"
chmod 700 "$prefix/data"
mv -f "$stage/nightshift-agent.jar" "$prefix/lib/nightshift-agent.jar"
printf '%s  nightshift-agent.jar\n' "$expected" >"$prefix/lib/nightshift-agent.jar.sha256"
# the runtime bundle: replaced as a whole on a reinstall, removed when this install uses another java
rm -rf "$prefix/runtime"
if [ "$bundled_java" = 1 ]; then
  mv "$stage/runtime" "$prefix/runtime"
  printf '%s  %s\n' "$runtime_expected" "$runtime_bundle" >"$prefix/runtime/bundle.sha256"
  java=$prefix/runtime/bin/java
fi

# settings and the enrollment token: readable by the agent's user only
(
  umask 077
  {
    echo "# Written by $SERVER/install/agent.sh; keys as in docs/agent.md (Settings)"
    echo "server=$SERVER"
    echo "enrollment-token=$token"
    echo "data-dir=$prefix/data"
    [ -z "$name" ] || echo "name=$name"
    [ -z "$slots" ] || echo "slots=$slots"
    [ -z "$labels" ] || echo "labels=$labels"
    [ -z "$idle_policy" ] || echo "idle-policy=$idle_policy"
    [ -z "$host_idle_file" ] || echo "host-idle-file=$host_idle_file"
    [ -z "$trusted_keys" ] || echo "trusted-keys=$trusted_keys"
    [ "$allow_unsigned" = 0 ] || echo "allow-unsigned=true"
  } >"$prefix/etc/agent.properties.tmp"
  mv -f "$prefix/etc/agent.properties.tmp" "$prefix/etc/agent.properties"
)
chmod 600 "$prefix/etc/agent.properties"

cat >"$prefix/bin/nightshift-agent" <<EOF
#!/bin/sh
# The Nightshift agent with the settings in $prefix/etc/agent.properties (written by agent.sh).
#   nightshift-agent run | once | status | pause --for 2h | resume | version | --help
#   nightshift-agent launch --data DIR -- run   (the service: run, kept current by the server)
NIGHTSHIFT_CONFIG=$prefix/etc/agent.properties
NIGHTSHIFT_DATA_DIR=$prefix/data
export NIGHTSHIFT_CONFIG NIGHTSHIFT_DATA_DIR
# shellcheck disable=SC2086 # JVM options, split on purpose
exec $java \${NIGHTSHIFT_JAVA_OPTS:--Xmx256m} -jar $prefix/lib/nightshift-agent.jar "\$@"
EOF
chmod 755 "$prefix/bin/nightshift-agent"

if [ "$os" = Darwin ]; then
  write_plist "$prefix/etc/nightshift-agent.plist" nightshift-agent \
    "<dict><key>SuccessfulExit</key><false/></dict>" "$prefix/data/launchd.log" "$prefix/bin/nightshift-agent" \
    launch --data "$prefix/data" -- run
  unit=$prefix/etc/nightshift-agent.plist
else
  if [ "$root" = 1 ]; then
    account="User=$service_user
Group=$(id -gn "$service_user" 2>/dev/null || echo "$service_user")
# Hardening: the agent and its scripts write only their data directory.
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=$prefix/data
CapabilityBoundingSet="
    wanted=multi-user.target
  else
    account="# a --user unit: runs as $(id -un)"
    wanted=default.target
  fi
  cat >"$prefix/etc/nightshift-agent.service" <<EOF
[Unit]
Description=Nightshift worker agent
Documentation=$SERVER/install/agent.sh
After=network-online.target
Wants=network-online.target

[Service]
# The launcher runs the agent and follows the updates the server offers (docs/operations.md, "Upgrading agents")
ExecStart=$prefix/bin/nightshift-agent launch --data $prefix/data -- run
$account
# SIGTERM: the agent stops its batches, releases their leases and says goodbye
Restart=on-failure
RestartSec=30
TimeoutStopSec=30
Nice=10

[Install]
WantedBy=$wanted
EOF
  unit=$prefix/etc/nightshift-agent.service
fi

if [ "$root" = 1 ] && [ "$service" = 1 ] && [ "$os" = Linux ]; then
  chown -R "$service_user" "$prefix/data" "$prefix/etc/agent.properties"
fi
if [ "$service" = 1 ]; then register_service nightshift-agent "$unit"; fi
created_prefix=0

echo "Installed $version into $prefix (settings: $prefix/etc/agent.properties)"
if [ "$service" = 0 ]; then
  echo "  no service registered (--no-service); start it with: $prefix/bin/nightshift-agent run"
fi
echo "  status: $prefix/bin/nightshift-agent status   uninstall: sh agent.sh --uninstall --prefix $prefix"
if [ "$allow_unsigned" = 1 ]; then
  echo "  WARNING: --allow-unsigned: this agent runs unsigned code and raw commands from $SERVER"
elif [ -z "$trusted_keys" ]; then
  echo "  note: no --trusted-key: the agent will not start until one is set (trusted-keys in $prefix/etc/agent.properties)"
fi
