#!/bin/sh
# A Nightshift processing script: one JSON value per line on stdin, one JSON result per line on stdout,
# a log on stderr, exit 0 for success. Each result says which code version produced it.
version=$(head -n 1 VERSION)
count=0
while IFS= read -r item || [ -n "$item" ]; do
  printf '{"item":%s,"version":"%s","batch":%s}\n' "$item" "$version" "$NIGHTSHIFT_BATCH_ID"
  count=$((count + 1))
done
echo "processed $count item(s) of batch $NIGHTSHIFT_BATCH_ID with version $version" >&2
