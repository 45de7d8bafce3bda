#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang + ASan + UBSan) and runs each for a bounded time
# from its seed corpus (fuzz/corpus/<name>); new inputs go to a scratch corpus, not the repo.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30 s, every target)
# Environment: GEM_FUZZ_BUILD_DIR (default build-fuzz), GEM_JOBS (default nproc),
#              GEM_FUZZ_WORK (scratch corpora and crash files; default a temp dir),
#              GEM_FUZZ_SEED (libFuzzer's -seed; default random) and GEM_FUZZ_RUNS (a number of
#              executions per target instead of a time: with a seed, a reproducible run; CI
#              uses both, so a run that passed here passes there).
# Prints per target: executions, seconds, exec/s, and the total; exits non-zero on any crash,
# leak or sanitizer report (the reproducer is kept in the work dir and named).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_FUZZ_BUILD_DIR:-$here/build-fuzz}"
jobs="${GEM_JOBS:-$(nproc)}"
seconds="${1:-30}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(protocol manifest safetensors gguf tokenizer delta task replay_csv)
fi
work="${GEM_FUZZ_WORK:-$(mktemp -d /tmp/gem-fuzz.XXXXXX)}"
mkdir -p "$work"

cxx="$(command -v clang++-14 || command -v clang++ || true)"
cc="$(command -v clang-14 || command -v clang || true)"
if [[ -z "$cxx" ]]; then
  echo "fuzz: clang++ is not installed (scripts/install-deps.sh installs clang-14)" >&2
  exit 2
fi
# A tree already configured for fuzzing (scripts/sanitize.sh asan makes one) is reused as is.
if ! grep -q '^GEM_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_COMPILER="$cc" -DGEM_FUZZ=ON -DGEM_CUDA=OFF -DGEM_BUILD_TESTS=OFF \
    -DGEM_BUILD_BENCH=OFF > "$work/cmake.log" || { cat "$work/cmake.log"; exit 2; }
fi
for t in "${targets[@]}"; do
  cmake --build "$build" -j "$jobs" --target "gem_fuzz_$t" > "$work/build-$t.log" 2>&1 ||
    { tail -n 40 "$work/build-$t.log"; exit 2; }
done

# Bigger seeds (GGUF, deltas) need room to grow; the rest stay small and fast.
max_len() { case "$1" in gguf|delta) echo 262144 ;; safetensors|tokenizer) echo 65536 ;; *) echo 16384 ;; esac; }
bound=(-max_total_time="$seconds")
[[ -n "${GEM_FUZZ_RUNS:-}" ]] && bound=(-runs="$GEM_FUZZ_RUNS")
[[ -n "${GEM_FUZZ_SEED:-}" ]] && bound+=(-seed="$GEM_FUZZ_SEED")
total_runs=0
status=0
printf '%-12s %12s %8s %10s  %s\n' target executions seconds exec/s result
for t in "${targets[@]}"; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus" "$work/crashes-$t"
  log="$work/fuzz-$t.log"
  start=$(date +%s.%N)
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz/gem_fuzz_$t" "${bound[@]}" -max_len="$(max_len "$t")" \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$work/crashes-$t/" "$corpus" "$here/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  runs=${runs:-0}
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  rate=$(awk -v r="$runs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }')
  result=ok
  if ((rc != 0)); then
    result="FAILED (exit $rc; see $log, reproducer in $work/crashes-$t/)"
    status=1
  fi
  printf '%-12s %12s %8s %10s  %s\n' "$t" "$runs" "$secs" "$rate" "$result"
  total_runs=$((total_runs + runs))
done
echo "total executions: $total_runs (work dir $work)"
exit $status
