#!/usr/bin/env bash
# The engine at a real model size, without downloads: makes (once) a random-weight Llama of
# Llama-3.2-1B's shape as a bf16 checkpoint and a Q4_K_M-style GGUF (tools/make_random_llama.py,
# ~3.3 GB under build/bench-models/, a few minutes), then runs gem-bench-engine on each: resident
# memory after load against the checkpoint's bytes, and the eval / single-stream rates.
#
#   bench/engine/bench_1b.sh [gem-bench-engine options, e.g. --threads 2 --prompts 16]
#
# Side by side with llama.cpp (which reads only GGUF): `tools/make_random_llama.py --out
# build/bench-models --bf16-gguf` adds llama-1b-random-bf16.gguf, the same bf16 values
# (the files already there are kept). docs/ENGINE.md "Performance" has the commands used.
#
# Needs build/bin/gem-bench-engine and a Python with numpy and gguf (tools/requirements-tools.txt;
# .venv after scripts/install-deps.sh --tools, or $PYTHON).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench="$here/build/bin/gem-bench-engine"
models="$here/build/bench-models"
python="${PYTHON:-$here/.venv/bin/python}"
if [[ ! -x "$bench" ]]; then
  echo "bench_1b: build gem-bench-engine first (cmake --build build --target gem-bench-engine)" >&2
  exit 1
fi
bf16="$models/llama-1b-random-bf16"
q4km="$models/llama-1b-random-q4_k_m.gguf"
if [[ ! -f "$bf16/model.safetensors" || ! -f "$q4km" ]]; then
  if ! "$python" -c "import numpy, gguf" 2>/dev/null; then
    echo "bench_1b: $python lacks numpy/gguf (scripts/install-deps.sh --tools, or set PYTHON)" >&2
    exit 1
  fi
  echo "bench_1b: writing the random 1B-shape model to $models (once)"
  "$python" "$here/tools/make_random_llama.py" --out "$models" --shape 1b
fi
# Small workloads by default: a 1B model on 2 cores is ~10x SmolLM2's cost.
args=("$@")
if ((${#args[@]} == 0)); then
  args=(--threads 2 --prompts 8 --prompt-len 64 --new-tokens 16 --decode-tokens 16)
fi
for model in "$bf16" "$q4km"; do
  "$bench" --model "$model" "${args[@]}"
done
