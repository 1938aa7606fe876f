#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 3s: the CI smoke run)
# and prints each one's last progress line (its executions).
# A longer run by hand: FUZZTIME=10m scripts/fuzz.sh; FUZZPARALLEL=1
# keeps it to one worker (one core) per target; FUZZONLY="FuzzA FuzzB"
# runs only those targets.
#
# A target fails when it finds an input that fails (go test writes it to
# testdata/fuzz). Go's fuzzing coordinator can also end a run at its
# time limit with a bare "context deadline exceeded" and no input
# (golang/go#75804, fixed in Go 1.27): that is reported as such and is
# not a failure. -timeout 0: go test's own 10-minute default would
# otherwise cut a 10-minute run at its end.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-3s}
parallel=${FUZZPARALLEL:-$(nproc)}
targets=(
  ". FuzzDecodeProfile" ". FuzzDecodeRelation" ". FuzzDecodeCounter" ". FuzzDecodeSchema" ". FuzzDamagedFile" ". FuzzPhoneFastPath" "./internal/record FuzzWellFormed" "./internal/record FuzzCounterDecode" "./internal/record FuzzDecodeChange"
  "./api FuzzJSONRequest" "./api FuzzDecodeObject" "./api FuzzXMLRequest" "./internal/cli FuzzConfig"
  "./internal/importer FuzzImportLines" "./index FuzzKeys" "./kv/wal FuzzDecodeWrites"
)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for spec in "${targets[@]}"; do
  set -- $spec
  if [[ -n "${FUZZONLY:-}" && " $FUZZONLY " != *" $2 "* ]]; then
    continue
  fi
  echo "fuzz $2 ($1) for $time"
  if ! go test -run '^$' -fuzz "^$2\$" -fuzztime "$time" -parallel "$parallel" -timeout 0 "$1" >"$out" 2>&1; then
    if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
      grep '^fuzz: elapsed' "$out" | tail -1
      echo "$2: the run ended with Go's 'context deadline exceeded' and no failing input (golang/go#75804): not a failure"
      continue
    fi
    grep -v '^fuzz: elapsed' "$out"
    echo "FAIL: $2"
    exit 1
  fi
  grep '^fuzz: elapsed' "$out" | tail -1
done
