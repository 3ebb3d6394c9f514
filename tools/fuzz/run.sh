#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer + AddressSanitizer, Fuzz/ package) and runs one for SECONDS.
#   tools/fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]
# TARGET: gguf, tokenizer, detokenizer, chat-template, datasets, requests (or the Fuzz* name).
# The corpus grows in .build/fuzz-corpus/TARGET (seeded from Fuzz/Corpus/TARGET); a crash is written to
# .build/fuzz-artifacts/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: $0 TARGET SECONDS [libFuzzer flags]" >&2; exit 2; }
target="$1"; seconds="$2"; shift 2
case "$target" in
  gguf) name=FuzzGGUF ;; tokenizer) name=FuzzTokenizer ;; detokenizer) name=FuzzDetokenizer ;;
  chat-template) name=FuzzChatTemplate ;; datasets) name=FuzzDatasets ;; requests) name=FuzzRequests ;;
  Fuzz*) name="$target" ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
short=$(echo "$name" | sed 's/^Fuzz//' | tr '[:upper:]' '[:lower:]')
scratch=.build/fuzz
if [ -z "${SPECDEC_FUZZ_NO_BUILD:-}" ]; then
  # Coverage instrumentation and AddressSanitizer everywhere; libFuzzer without its main (each target's
  # main.swift calls LLVMFuzzerRunDriver).
  fuzzlib=$(ls "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)
  swift build -c release --package-path Fuzz --scratch-path "$scratch" --product "$name" \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    -Xcc -fsanitize=fuzzer-no-link,address -Xlinker "$fuzzlib" -Xlinker -lstdc++ >&2
fi
bin="$scratch/release/$name"
corpus=${SPECDEC_FUZZ_CORPUS:-.build/fuzz-corpus}/$short
mkdir -p "$corpus" .build/fuzz-artifacts
seeds=Fuzz/Corpus/$short
[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
# rss_limit: no input may make memory grow without bound; max_len: larger inputs are header-sized.
exec "$bin" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len="${SPECDEC_FUZZ_MAX_LEN:-65536}" \
  -artifact_prefix=.build/fuzz-artifacts/"$short"- -print_final_stats=1 "$@"
