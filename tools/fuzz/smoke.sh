#!/usr/bin/env bash
# CI's smoke run of every fuzz target: a fixed number of inputs from a fixed seed, starting from the
# committed seeds only (so the run is the same on every machine), failing on any crash or broken invariant.
#   tools/fuzz/smoke.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-100000}"
export SPECDEC_FUZZ_CORPUS=.build/fuzz-corpus-smoke
rm -rf "$SPECDEC_FUZZ_CORPUS"
for t in gguf tokenizer detokenizer chat-template datasets requests; do
  echo "== fuzz smoke: $t ($runs inputs, seed 1)"
  log=.build/fuzz-smoke-$t.log
  if ! tools/fuzz/run.sh "$t" 600 -runs="$runs" -seed=1 > "$log" 2>&1; then
    grep -E "failure|ERROR|Test unit written" "$log" | head -20
    echo "fuzz smoke: $t FAILED (log: $log)"
    exit 1
  fi
  grep -E "^Done|stat::new_units_added" "$log"
done
echo "fuzz smoke: every target clean"
