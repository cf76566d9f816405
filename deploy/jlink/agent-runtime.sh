#!/bin/sh
# Makes a minimal Java runtime for the agent with jlink, for machines without Java (docs/operations.md, "The jlink
# runtime bundle"). The modules are the ones jdeps finds in the shaded agent, plus the ones it loads by service
# lookup, which jdeps cannot see (jdk.crypto.ec: elliptic-curve TLS to an https:// server; jdk.unsupported: JNA).
# From the repository root, after ./mvnw -DskipTests package:
#   sh deploy/jlink/agent-runtime.sh                       -> worker-agent/target/agent-runtime/bin/java
#   sh deploy/jlink/agent-runtime.sh JAR OUTPUT_DIR
# The runtime is for the platform of the JDK whose jlink runs (Linux x64 here). It is not served by the server yet.
set -eu
jar=${1:-worker-agent/target/nightshift-agent.jar}
out=${2:-worker-agent/target/agent-runtime}
[ -f "$jar" ] || { echo "agent-runtime: no $jar: build it first (./mvnw -DskipTests package)" >&2; exit 1; }
for tool in jdeps jlink; do
  command -v "$tool" >/dev/null 2>&1 || { echo "agent-runtime: no $tool on PATH: it needs a JDK (not a JRE)" >&2; exit 1; }
done
modules=$(jdeps --print-module-deps --ignore-missing-deps --multi-release 17 "$jar")
modules=$modules,jdk.crypto.ec,jdk.unsupported
rm -rf "$out"
jlink --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --output "$out"
"$out/bin/java" -jar "$jar" version
echo "agent-runtime: $out ($(du -sh "$out" | cut -f1), modules $modules)"
