#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 3s: the CI smoke run)
# and prints each one's last progress line (its executions).
# A longer run by hand: FUZZTIME=10m scripts/fuzz.sh; FUZZPARALLEL=1
# keeps it to one worker (one core) per target.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-3s}
parallel=${FUZZPARALLEL:-$(nproc)}
targets=(
  ". FuzzDecodeProfile" ". FuzzDecodeRelation" ". FuzzDecodeCounter" ". FuzzDecodeSchema" ". FuzzDamagedFile" ". FuzzWellFormed"
  "./api FuzzJSONRequest" "./api FuzzXMLRequest" "./internal/cli FuzzConfig"
  "./internal/importer FuzzImportLines" "./index FuzzKeys" "./kv/wal FuzzDecodeWrites"
)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for spec in "${targets[@]}"; do
  set -- $spec
  echo "fuzz $2 ($1) for $time"
  if ! go test -run '^$' -fuzz "^$2\$" -fuzztime "$time" -parallel "$parallel" "$1" >"$out" 2>&1; then
    grep -v '^fuzz: elapsed' "$out"
    echo "FAIL: $2"
    exit 1
  fi
  grep '^fuzz: elapsed' "$out" | tail -1
done
