#!/usr/bin/env bash
# The main job on a real model tree, through the daemon: starts gemd on a temp endpoint and data
# directory, registers the shipped demo tree (data/demo_tree: a tiny Llama trained from scratch on
# addition, 17 full fine-tunes shipped as delta checkpoints and 17 LoRA adapters, made by
# tools/make_demo_tree.py; gemd checks each delta rebuilds its fine-tune, stores its delta forms
# and keeps the base resident), searches it with `gemctl search` and
# the default method, prints the model found beside the most downloaded one, writes the search's
# HTML report (GEM_DEMO_REPORT, default build/demo-report.html), runs the same search again (zero
# evaluations: all from the cache), stops gemd.
#   scripts/demo-tree.sh [extra `gemctl search start` flags, e.g. --queries-per-model 20 --seed 2]
#   (scripts/demo.sh runs it; builds gemd and gemctl in GEM_BUILD_DIR, default build/, when that
#   build directory is configured)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_BUILD_DIR:-$here/build}"
bin="$build/bin"
demo="$here/data/demo_tree"
task="${GEM_DEMO_TASK:-demo_add}"
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake --build "$build" -j "${GEM_JOBS:-$(nproc)}" --target gemd gemctl
fi
for b in gemd gemctl; do
  [[ -x "$bin/$b" ]] || { echo "demo-tree: $bin/$b is missing: build first (scripts/demo.sh)" >&2; exit 1; }
done
tmp="$(mktemp -d /tmp/gem-demo-tree.XXXXXX)"
endpoint="ipc://$tmp/gemd.sock"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
ctl() { echo "\$ gemctl $*" >&2; "$bin/gemctl" --endpoint "$endpoint" "$@"; }

cat <<EOF

== A real model tree: which of its 35 models is best at two-number addition?
The base (demo-base) is the most downloaded model; its 34 descendants were fine-tuned in
different ways, most of them badly. Every answer below is greedy generation by gem's engine on
this CPU (both prompt variants; a model scores its better one), graded by gem, through gemd.

EOF
start=$SECONDS
echo "== gemd on $endpoint, data in $tmp/data (log: $tmp/gemd.log)"
"$bin/gemd" --data-dir "$tmp/data" --endpoint "$endpoint" --log-file "$tmp/gemd.log" &
pid=$!
ctl --wait-for-daemon 30 health
ctl tree register "$demo/tree.json" --task "$demo/tasks/demo_add.jsonl" \
  --task "$demo/tasks/demo_add_choice.jsonl"
echo
echo "== a search: the default method, 50 queries per model, task $task"
ctl search start --tree demo-tree --task "$task" --seed 1 "$@" --wait | tee "$tmp/first.txt"
job="$(sed -n 's/^job \([0-9]*\): done$/\1/p' "$tmp/first.txt" | head -1)"

# The report: the tree atlas, popularity against accuracy, the rounds (docs/REPORT.md). It is
# written outside the temp dir, so it stays.
report="${GEM_DEMO_REPORT:-$build/demo-report.html}"
echo
echo "== the report of this search (one HTML file, no network needed)"
ctl search report "$job" --out "$report"

# The search saw only part of each model's answers; tools/make_demo_tree.py measured every model
# on every query with transformers (data/demo_tree/accuracies.csv, checked by the tests).
"$bin/gemctl" --endpoint "$endpoint" --json search result "$job" >"$tmp/result.json"
python3 - "$tmp/result.json" "$demo/accuracies.csv" "$task" <<'EOF'
import csv, json, sys
result = json.load(open(sys.argv[1]))
measured = {(r["model"], r["task"]): r for r in csv.DictReader(open(sys.argv[2]))}
models = result["models"]
found = models[result["chosen_model"]]
popular = max(models, key=lambda m: m["popularity"])
print("\nmeasured on all %s queries with transformers (accuracies.csv):" % measured[(found["name"], sys.argv[3])]["queries"])
for label, m in (("found", found), ("most popular", popular)):
    row = measured[(m["name"], sys.argv[3])]
    print("  %-13s %-14s %8d downloads  %5.1f%%" % (label, m["name"], m["popularity"], 100 * float(row["accuracy"])))
EOF
echo
echo "== the same search again: the result cache answers every evaluation"
ctl --json search start --tree demo-tree --task "$task" --seed 1 "$@" --wait |
  grep -E '^  "(id|status|method|chosen_model|chosen_model_name|evaluations_run|evaluations_cached|spent)"'
ctl shutdown
wait "$pid"
pid=""
echo "== gemd stopped; demo-tree done in $((SECONDS - start)) s (the tree: data/demo_tree/README.md, docs/DEMO.md)"
