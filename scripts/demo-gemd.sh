#!/usr/bin/env bash
# The main job through the service: starts gemd on a temp endpoint and data directory, registers a
# shipped tree as a replay source, runs a search with gemctl, shows the result, runs the same
# search again (zero evaluations: all from the cache), lists the jobs, stops gemd.
#   scripts/demo-gemd.sh   (scripts/demo.sh runs it last; builds gemd and gemctl in GEM_BUILD_DIR,
#                           default build/, when that build directory is configured)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_BUILD_DIR:-$here/build}"
bin="$build/bin"
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake --build "$build" -j "${GEM_JOBS:-$(nproc)}" --target gemd gemctl
fi
for b in gemd gemctl; do
  [[ -x "$bin/$b" ]] || { echo "demo-gemd: $bin/$b is missing: build first (scripts/demo.sh)" >&2; exit 1; }
done
tmp="$(mktemp -d /tmp/gem-demo.XXXXXX)"
endpoint="ipc://$tmp/gemd.sock"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
ctl() { echo "\$ gemctl $*" >&2; "$bin/gemctl" --endpoint "$endpoint" "$@"; }

echo "== gemd on $endpoint, data in $tmp/data (log: $tmp/gemd.log)"
"$bin/gemd" --data-dir "$tmp/data" --endpoint "$endpoint" --log-file "$tmp/gemd.log" &
pid=$!
ctl --wait-for-daemon 30 health
ctl tree register --replay "$here/data/trees/qwen2.5_3b.csv" --name qwen2.5_3b
ctl tree list
echo
echo "== a search (the default method, 50 queries per model, RouterBench)"
ctl search start --tree qwen2.5_3b --task routerbench --queries-per-model 50 --seed 1 --wait
echo
echo "== the same search again: the result cache answers every evaluation"
ctl --json search start --tree qwen2.5_3b --task routerbench --queries-per-model 50 --seed 1 --wait |
  grep -E '^  "(id|status|method|chosen_model|queries_per_model|evaluations_run|evaluations_cached)"'
echo
ctl search list
ctl cache stats
ctl shutdown
wait "$pid"
pid=""
echo "== gemd stopped"
