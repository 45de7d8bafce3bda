#!/usr/bin/env bash
# Sanitizer builds of the test suite (docs/SECURITY.md, "Sanitizers"):
#   scripts/sanitize.sh asan    ASan + UBSan: the whole suite but the demo tree's three
#                               exhaustive equality checks (GEM_ASAN_EXCLUDE, a ctest -E regex,
#                               replaces that list; "^$" runs everything), with the libFuzzer
#                               targets built in the same (clang) tree; `scripts/fuzz.sh` reuses it
#   scripts/sanitize.sh tsan    TSan: gemd and the service tests (every gemd thread: server,
#                               work queues, scheduler workers), the cache's concurrency tests
#                               and the engine's thread-pool tests. Suppressed:
#                               only reports inside libzmq and RocksDB, which are not built with
#                               TSan (scripts/sanitizers/tsan.supp says which and why)
#   scripts/sanitize.sh         both
# Environment: GEM_JOBS (default nproc), GEM_ASAN_BUILD_DIR (build-asan), GEM_TSAN_BUILD_DIR
# (build-tsan). Any sanitizer report fails the test that triggered it (halt_on_error), and so
# the script. Prints the time of each step.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${GEM_JOBS:-$(nproc)}"
what="${1:-all}"
cxx="$(command -v clang++-14 || command -v clang++ || true)"
cc="$(command -v clang-14 || command -v clang || true)"
if [[ -z "$cxx" ]]; then
  echo "sanitize: clang++ is not installed (scripts/install-deps.sh --sanitizers)" >&2
  exit 2
fi
step() {
  local name="$1"; shift
  local t0=$SECONDS
  echo "sanitize: $name"
  "$@"
  echo "sanitize: $name took $((SECONDS - t0)) s"
}
common=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc"
        -DGEM_CUDA=OFF -DGEM_BUILD_BENCH=OFF)
supp="$here/scripts/sanitizers"

if [[ "$what" == asan || "$what" == all ]]; then
  b="${GEM_ASAN_BUILD_DIR:-$here/build-asan}"
  # GEM_FUZZ instruments everything with ASan + UBSan (and libFuzzer's coverage hooks, which cost
  # little), so this one tree serves both the suite and scripts/fuzz.sh.
  step "asan configure" cmake -S "$here" -B "$b" "${common[@]}" -DGEM_FUZZ=ON > /dev/null
  step "asan build" cmake --build "$b" -j "$jobs"
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0:suppressions=$supp/asan.supp"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
  # Left out under ASan (CI time, docs/SECURITY.md "Sanitizers"): the demo tree's exhaustive
  # equality checks against transformers' answers, which run every model on every query (pure
  # engine arithmetic, 9 minutes under ASan on 2 cores; the plain suite runs them, and the
  # engine's reference tests and the demo tree's default search still run here).
  asan_exclude='^(ServiceDemoTree\.ExhaustiveThroughGemdEqualsTransformers|DemoTreeTest\.(ChoiceTaskEqualsTransformers|ExhaustiveEqualsTransformersAndSearchFindsATop3Model))$'
  (cd "$b" && step "asan suite" ctest --output-on-failure -j "$jobs" --timeout 900 \
    -E "${GEM_ASAN_EXCLUDE:-$asan_exclude}")
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
fi

if [[ "$what" == tsan || "$what" == all ]]; then
  b="${GEM_TSAN_BUILD_DIR:-$here/build-tsan}"
  step "tsan configure" cmake -S "$here" -B "$b" "${common[@]}" -DGEM_SANITIZE=thread > /dev/null
  # CI time: the service tests whose gemd runs every thread at once (server, work queues,
  # workers, watch streams, start-up), not those that check a configuration or a data path
  # (service_auth_test, service_cache_io_test; the ASan suite runs them).
  targets=(gemd gemctl gem-sandbox service_search_test service_crash_test service_hostile_test
           service_crash_requests_test service_access_test service_startup_test cache_cache_test
           engine_invariance_test engine_generate_test)
  step "tsan build" cmake --build "$b" -j "$jobs" --target "${targets[@]}"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
  (cd "$b" && step "tsan tests" ctest --output-on-failure -j "$jobs" --timeout 900 -R \
    '(Service(Search|Crash|Hostile|CrashRequests|Access|Startup)|CacheTest|InvarianceTest|GenerateTest)\.')
  unset TSAN_OPTIONS
fi
