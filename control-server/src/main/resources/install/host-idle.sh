#!/bin/sh
# Nightshift host companion (Linux and macOS hosts): writes this desktop user's idle seconds into FILE, which a
# Nightshift agent in a VM reads with --host-idle-file (FILE in a folder shared into the VM). Format
# (docs/idle-policy.md): the idle seconds as the first word; the rest of the line is a comment for people
# (lock state, source, time). Rewritten every 30 s through a temp file and a rename; when no idle source answers,
# FILE is removed, so the agent reads "unknown" at once instead of a stale value.
#
#   host-idle.sh FILE                 keep FILE current (what the service runs)
#   host-idle.sh --once FILE          write FILE once
#   host-idle.sh --pause 2h FILE      the owner's "pause for 2 h": report the user as active (0 s idle) until then,
#                                     so the agent in the VM runs nothing (also 30m, 90s, 1d)
#   host-idle.sh --resume FILE        end the pause
#   host-idle.sh --print              print the idle seconds and where they come from; write nothing
#
# Sources: Linux - xprintidle (X11, with DISPLAY set), else logind (IdleHint/IdleSinceHint and LockedHint of the
# user's session); macOS - HIDIdleTime from ioreg. Environment: NIGHTSHIFT_HOST_IDLE_INTERVAL (seconds, default 30),
# NIGHTSHIFT_HOST_IDLE_STATE (where the pause is kept, default ~/.nightshift-host-idle).
set -eu

PROG=nightshift-host-idle
interval=${NIGHTSHIFT_HOST_IDLE_INTERVAL:-30}
state=${NIGHTSHIFT_HOST_IDLE_STATE:-$HOME/.nightshift-host-idle}
pause_file=$state/pause-until

usage() {
  sed -n '2,19p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' || true
}

has() { command -v "$1" >/dev/null 2>&1; }

# Prints "SECONDS LOCKED SOURCE" (LOCKED: yes, no or unknown), or nothing when no source answers.
probe() {
  case "$(uname -s)" in
    Darwin)
      ns=$(ioreg -c IOHIDSystem 2>/dev/null | awk '/HIDIdleTime/ { print $NF; exit }')
      [ -n "$ns" ] && echo "$((ns / 1000000000)) unknown ioreg-HIDIdleTime"
      return 0
      ;;
  esac
  locked=unknown
  session=
  if has loginctl; then
    session=${XDG_SESSION_ID:-}
    if [ -z "$session" ]; then
      session=$(loginctl list-sessions --no-legend 2>/dev/null \
        | awk -v u="$(id -un)" '$3 == u { print $1; exit }')
    fi
    if [ -n "$session" ]; then
      case "$(loginctl show-session "$session" -p LockedHint --value 2>/dev/null)" in
        yes) locked=yes ;;
        no) locked=no ;;
      esac
    fi
  fi
  if [ -n "${DISPLAY:-}" ] && has xprintidle; then
    ms=$(xprintidle 2>/dev/null || true)
    case "$ms" in
      ''|*[!0-9]*) ;;
      *) echo "$((ms / 1000)) $locked xprintidle"; return 0 ;;
    esac
  fi
  if [ -n "$session" ]; then
    hint=$(loginctl show-session "$session" -p IdleHint --value 2>/dev/null || true)
    since=$(loginctl show-session "$session" -p IdleSinceHint --value 2>/dev/null || true)
    if [ "$hint" = no ]; then
      echo "0 $locked logind"
    elif [ "$hint" = yes ] && [ -n "$since" ] && [ "$since" != 0 ]; then
      # IdleSinceHint: microseconds since the epoch; 0 means the session never tracked idle (unknown)
      echo "$(($(date +%s) - since / 1000000)) $locked logind"
    fi
  fi
  return 0
}

# Seconds of a duration like 2h, 30m, 90s, 1d
seconds_of() {
  case "$1" in
    *[!0-9]*[smhd]|*[smhd]?*|[smhd]|'') return 1 ;;
    *s) echo "${1%s}" ;;
    *m) echo "$((${1%m} * 60))" ;;
    *h) echo "$((${1%h} * 3600))" ;;
    *d) echo "$((${1%d} * 86400))" ;;
    *) return 1 ;;
  esac
}

# The pause's end (epoch seconds) while one holds, else nothing
paused_until() {
  [ -f "$pause_file" ] || return 0
  until=$(head -n 1 "$pause_file" 2>/dev/null || true)
  case "$until" in ''|*[!0-9]*) return 0 ;; esac
  [ "$until" -gt "$(date +%s)" ] && echo "$until"
  return 0
}

write_once() {
  file=$1
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  until=$(paused_until)
  if [ -n "$until" ]; then
    line="0 paused-by-owner-until=$until at=$now"
  else
    reading=$(probe)
    if [ -z "$reading" ]; then
      rm -f "$file"
      return 0
    fi
    # shellcheck disable=SC2086 # three words, split on purpose
    set -- $reading
    line="$1 locked=$2 source=$3 at=$now"
  fi
  tmp=$file.tmp.$$
  printf '%s\n' "$line" >"$tmp"
  mv -f "$tmp" "$file"
}

case "${1:-}" in
  -h|--help|'') usage; [ -n "${1:-}" ]; exit $? ;;
  --print)
    reading=$(probe)
    [ -n "$reading" ] || { echo "$PROG: no idle source answers here (no xprintidle with DISPLAY, no logind session idle hint, no ioreg)" >&2; exit 1; }
    # shellcheck disable=SC2086
    set -- $reading
    echo "idle $1 s, locked $2 (source $3)"
    until=$(paused_until)
    [ -z "$until" ] || echo "paused by the owner until $(date -d "@$until" 2>/dev/null || echo "$until (epoch seconds)")"
    exit 0
    ;;
  --once)
    [ $# = 2 ] || { echo "$PROG: --once FILE" >&2; exit 2; }
    write_once "$2"
    exit 0
    ;;
  --pause)
    [ $# = 3 ] || { echo "$PROG: --pause DURATION FILE (e.g. --pause 2h /mnt/shared/nightshift-idle)" >&2; exit 2; }
    secs=$(seconds_of "$2") || { echo "$PROG: '$2' is not a duration: use e.g. 2h, 30m, 90s, 1d" >&2; exit 2; }
    mkdir -p "$state"
    echo "$(($(date +%s) + secs))" >"$pause_file"
    write_once "$3"
    echo "The agent in the VM pauses for $2 (it reads you as active); end it early with: $0 --resume $3"
    exit 0
    ;;
  --resume)
    [ $# = 2 ] || { echo "$PROG: --resume FILE" >&2; exit 2; }
    rm -f "$pause_file"
    write_once "$2"
    echo "Pause ended."
    exit 0
    ;;
  -*) echo "$PROG: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

[ $# = 1 ] || { echo "$PROG: FILE (see --help)" >&2; exit 2; }
case "$interval" in ''|*[!0-9]*|0) echo "$PROG: NIGHTSHIFT_HOST_IDLE_INTERVAL must be a positive number of seconds" >&2; exit 2 ;; esac
[ "$interval" -le 60 ] || echo "$PROG: an interval over 60 s lets the file go stale between writes (the agent ignores a file older than 2 minutes)" >&2
while :; do
  write_once "$1" || echo "$PROG: could not write $1 (is the shared folder mounted?)" >&2
  sleep "$interval"
done
