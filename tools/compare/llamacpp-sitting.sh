#!/usr/bin/env bash
# One sitting of `specdec speed` against llama.cpp (../shared/peer/llamacpp.py) on the same machine,
# model by model, alternating the two engines for ROUNDS rounds, then a table of the ratios.
#
#   tools/compare/llamacpp-sitting.sh [OUT_DIR] [ROUNDS]
#
# Environment: SPECDEC_KERNELS selects SpecDec's kernel set (default: the best the CPU has);
# PEER_PYTHONPATH points at the llama-cpp-python build to compare with (for an AVX2-only build on an
# AVX-512 machine: CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON
# -DGGML_F16C=ON -DGGML_AVX512=OFF" pip install --target DIR llama-cpp-python==0.3.36);
# MODELS overrides the model list. Needs a release build (swift build -c release) and the models pulled.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-compare-out}
rounds=${2:-2}
models=${MODELS:-"gemma-3-270m qwen2.5-coder-0.5b qwen2.5-coder-1.5b"}
cache=${SPECDEC_MODELS:-$HOME/.cache/specdec/models}
peer=../shared/peer/llamacpp.py
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for m in $models; do
    echo "round $r: $m" >&2
    .build/release/specdec speed --model "$m" --batch-sizes 1,8 --repetitions 5 --format json \
      > "$out/$m.specdec.$r.json" 2>/dev/null
    PYTHONPATH=${PEER_PYTHONPATH:-} python3 "$peer" --model "$cache/$m.gguf" --batch-sizes 1,8 --repetitions 5 \
      --json > "$out/$m.llama.$r.json" 2>/dev/null
  done
done
python3 - "$out" "$rounds" $models <<'PY'
import json, sys
out, rounds, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
first = json.load(open(f"{out}/{models[0]}.specdec.1.json"))
print(f"CPU: {first['cpu']}; SpecDec kernels: {first['kernels']}; {first['threads']} threads\n")
print("| model | round | decode tok/s SpecDec / llama.cpp | prefill tok/s | B=8 forward ms | SpecDec B=8 / B=1 | decode / probe |")
print("|---|---|---|---|---|---|---|")
for m in models:
    for r in range(1, rounds + 1):
        s = json.load(open(f"{out}/{m}.specdec.{r}.json")); l = json.load(open(f"{out}/{m}.llama.{r}.json"))
        b = {x["size"]: x["seconds"] * 1000 for x in s["batch"]}
        lb = {int(k): v for k, v in l["batch_ms"].items()}
        sd, ld = s["decode_tokens_per_second"], l["decode_tokens_per_second"]
        sp, lp = s["prefill_tokens_per_second"], l["prefill_tokens_per_second"]
        print(f"| {m} | {r} | {sd:.1f} / {ld:.1f} (**{sd / ld:.2f}x**) | {sp:.0f} / {lp:.0f} (**{sp / lp:.2f}x**) "
              f"| {b[8]:.1f} / {lb[8]:.1f} (**{b[8] / lb[8]:.2f}x**) | {b[8] / b[1]:.2f} "
              f"| {100 * s['decode_bandwidth_fraction']:.0f}% of {s['memory_bandwidth_gb_per_second']:.0f} GB/s |")
PY
