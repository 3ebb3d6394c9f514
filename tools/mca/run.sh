#!/usr/bin/env bash
# Throughput of the AVX2 kernels' batch-1 block loop on a CPU model (default Zen 1), from llvm-mca's
# resource-pressure bound ("Block RThroughput": cycles per 256 weights). Needs clang and llvm-mca
# (Debian: llvm). The simulated total cycles are not used: LLVM's Zen-1 model gives vcvtph2ps and
# vbroadcastss latencies of ~100 cycles, which the real CPU does not have.
#   tools/mca/run.sh [CPU]
set -euo pipefail
cd "$(dirname "$0")"
cpu=${1:-znver1}
cc=${CC:-clang}
out=$(mktemp -d)
$cc -O2 -S -I../../Sources/CKernels/include -o "$out/blocks.s" avx2_blocks.c
llvm-mca -mcpu="$cpu" -iterations=100 "$out/blocks.s" 2>/dev/null |
  awk '/Code Region - /{r=$NF} /Block RThroughput/{printf "%-6s %s cycles per block (256 weights), batch 1\n", r, $3}'
rm -rf "$out"
