#!/usr/bin/env bash
# The main job on a real model tree: the shipped demo tree (data/demo_tree: a tiny Llama trained
# from scratch on addition, 17 full fine-tunes and 17 LoRA adapters, made by
# tools/make_demo_tree.py) is registered (fine-tunes become deltas on the resident base), then
# searched with the default method through the inference engine and the result cache; the
# result is printed beside the most downloaded model, and the same search runs again for free.
#   scripts/demo-tree.sh [extra gem-demo-tree flags, e.g. --queries-per-model 20]
#   (scripts/demo.sh runs it; builds gem-demo-tree in GEM_BUILD_DIR, default build/)
#
# gemd serves replay trees only so far (gemd/trees.h), so this demo runs the engine search in
# process through libgem (tests/demo/demo_tree_main.cc), the same path gemd's workers will take.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_BUILD_DIR:-$here/build}"
bin="$build/bin"
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake --build "$build" -j "${GEM_JOBS:-$(nproc)}" --target gem-demo-tree
fi
[[ -x "$bin/gem-demo-tree" ]] || {
  echo "demo-tree: $bin/gem-demo-tree is missing: build first (scripts/demo.sh)" >&2
  exit 1
}
tmp="$(mktemp -d /tmp/gem-demo-tree.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

cat <<EOF

== A real model tree: which of its 35 models is best at two-number addition?
The base (demo-base) is the most downloaded model; its 34 descendants were fine-tuned in
different ways, most of them badly. Every answer below comes from greedy generation by gem's
engine on this CPU (both prompt variants; a model scores its better one), graded by gem.

EOF
start=$SECONDS
"$bin/gem-demo-tree" --data-dir "$tmp/data" "$@"
echo
echo "demo-tree: done in $((SECONDS - start)) s (the tree: data/demo_tree/README.md, docs/DEMO.md)"
