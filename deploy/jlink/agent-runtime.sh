#!/bin/sh
# Makes a minimal Java runtime for the agent with jlink, for machines without Java (docs/operations.md, "The jlink
# runtime bundle"). The modules are the ones jdeps finds in the shaded agent, plus the ones it loads by service
# lookup, which jdeps cannot see (jdk.crypto.ec: elliptic-curve TLS to an https:// server; jdk.unsupported: JNA).
# The build runs it on Linux x64 (worker-agent's profile agent-runtime; -DskipAgentRuntime skips it), and the server
# serves the tarball at /install/nightshift-agent-runtime-linux-x64.tar.gz. By hand, after ./mvnw -DskipTests package:
#   sh deploy/jlink/agent-runtime.sh                       -> worker-agent/target/agent-runtime/bin/java
#   sh deploy/jlink/agent-runtime.sh JAR OUTPUT_DIR [TARBALL]
# The runtime is for the platform of the JDK whose jlink runs. The JDK is $NIGHTSHIFT_JDK, else $JAVA_HOME, else the
# one whose jlink is on PATH.
set -eu
jar=${1:-worker-agent/target/nightshift-agent.jar}
out=${2:-worker-agent/target/agent-runtime}
tarball=${3:-}
[ -f "$jar" ] || { echo "agent-runtime: no $jar: build it first (./mvnw -DskipTests package)" >&2; exit 1; }
jdk=${NIGHTSHIFT_JDK:-${JAVA_HOME:-}}
tool() {
  if [ -n "$jdk" ] && [ -x "$jdk/bin/$1" ]; then
    echo "$jdk/bin/$1"
  elif command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
  else
    echo "agent-runtime: no $1 (in \$NIGHTSHIFT_JDK, \$JAVA_HOME or on PATH): it needs a JDK, not a JRE" >&2
    exit 1
  fi
}
jdeps=$(tool jdeps)
jlink=$(tool jlink)
modules=$("$jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 "$jar")
modules=$modules,jdk.crypto.ec,jdk.unsupported
rm -rf "$out"
"$jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --output "$out"
"$out/bin/java" -jar "$jar" version >/dev/null
if [ -n "$tarball" ]; then
  # the runtime's files at the top of the tarball (bin/java, lib/...): agent.sh unpacks it into PREFIX/runtime
  tar -czf "$tarball.tmp" -C "$out" .
  mv -f "$tarball.tmp" "$tarball"
  echo "agent-runtime: $tarball ($(du -h "$tarball" | cut -f1); $(du -sh "$out" | cut -f1) unpacked; modules $modules)"
else
  echo "agent-runtime: $out ($(du -sh "$out" | cut -f1), modules $modules)"
fi
