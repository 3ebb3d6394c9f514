#!/usr/bin/env bash
# Runs every fuzz target for SECONDS, JOBS at a time (default 2: one per core), on one build, and
# prints a summary line per target: executions, coverage (edges), features, corpus size, crashes.
#   tools/fuzz/campaign.sh SECONDS [JOBS] [TARGET ...]
# Logs: .build/fuzz-campaign/TARGET.log; summary: .build/fuzz-campaign/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: $0 SECONDS [JOBS] [TARGET ...]" >&2; exit 2; }
seconds="$1"; jobs="${2:-2}"; shift $(( $# >= 2 ? 2 : 1 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf tokenizer detokenizer chat-template datasets requests)
out=.build/fuzz-campaign
mkdir -p "$out"
# Build every target first (run.sh builds the one product it runs), then run without rebuilding.
: > "$out/build.log"
for t in "${targets[@]}"; do
  tools/fuzz/run.sh "$t" 1 -runs=0 >> "$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 1; }
done
export SPECDEC_FUZZ_NO_BUILD=1
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Fuzz || echo "+changes")
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} sh -c \
  "tools/fuzz/run.sh {} $seconds > $out/{}.log 2>&1; echo \$? > $out/{}.status"
{
  echo "fuzz campaign: $seconds s per target, $jobs at a time, build of $commit, $(date -u +%FT%TZ), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  for t in "${targets[@]}"; do
    log="$out/$t.log"
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | awk '{print $2}')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | awk '{print $2}')
    corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9A-Za-z]*' | awk '{print $2}')
    crashes=$(grep -c 'Test unit written' "$log" || true)
    echo "$t: status $(cat "$out/$t.status"), executions ${execs:-?}, coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}, crashes $crashes"
  done
} | tee "$out/summary.txt"
! grep -q "status [1-9]" "$out/summary.txt"
