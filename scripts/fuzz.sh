#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 3s: the CI smoke run).
# A longer run by hand: FUZZTIME=10m scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-3s}
targets=(
  ". FuzzDecodeProfile" ". FuzzDecodeRelation" ". FuzzDecodeCounter" ". FuzzDecodeSchema" ". FuzzDamagedFile"
  "./api FuzzJSONRequest" "./api FuzzXMLRequest" "./internal/cli FuzzConfig"
  "./internal/importer FuzzImportLines" "./index FuzzKeys" "./kv/wal FuzzDecodeWrites"
)
for spec in "${targets[@]}"; do
  set -- $spec
  echo "fuzz $2 ($1) for $time"
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$time" "$1" 2>&1 | grep -v '^fuzz: elapsed' || { echo "FAIL: $2"; exit 1; }
done
