#!/usr/bin/env bash
# The newcomer's main job. Installs what is missing, builds gemd, gemctl and gem-replay, then
#  1. scripts/demo-tree.sh: gemd holds the shipped demo tree's base resident (data/demo_tree: 35
#     real models), `gemctl search` finds its hidden gem, and the same search again is free;
#  2. replays the paper's search experiment (its Table 2 / Table 7) on the two shipped real model
#     populations (data/trees) with every search method;
#  3. scripts/demo-gemd.sh: the same kind of replayed search through gemd and gemctl.
#   scripts/demo.sh [extra gem-replay flags, e.g. --reps 20]
# Environment: GEM_BUILD_DIR (default: build), GEM_JOBS (default: nproc).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_BUILD_DIR:-$here/build}"
jobs="${GEM_JOBS:-$(nproc)}"
"$here/scripts/install-deps.sh"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target gem-replay gemd gemctl

# A real model tree through gemd: the hidden gem. Its output is kept for the recap at the end,
# which the replay's tables would otherwise push off the screen.
tree_log="$build/demo-tree.txt"
GEM_BUILD_DIR="$build" "$here/scripts/demo-tree.sh" 2>&1 | tee "$tree_log"

out="$build/replay-results.csv"
cat <<EOF

gem-replay: which model of a tree does each search method find, under a budget of N queries
per model on average? For each budget N and method it runs 100 searches with fresh randomness
against a simulated models x queries answer matrix built from the tree's real per-model
accuracies (docs/SEARCH.md), and reports the mean rank of the model it returned (1 = the best
of the tree) and that model's accuracy, beside the paper's own figures (Table 2) where the
paper has them. "paper" is the paper's method within the budget, "paper_table4" the same with
the paper's Table 4 applied as printed (the spend column shows it uses more than N x K
evaluations on these trees), "gem" ours (docs/GEM_METHOD.md); random / best_base (the most
downloaded model) / best_available frame the range. A few minutes on 2 cores; progress below.

EOF
"$build/bin/gem-replay" --tree "$here/data/trees/qwen2.5_3b.csv" \
  --tree "$here/data/trees/mistral_7b.csv" \
  --reps 100 --budgets 10,25,50,100,200 --methods all --out "$out" "$@"
echo
echo "All figures as CSV: $out   (how they compare with the paper: docs/CALIBRATION.md)"
GEM_BUILD_DIR="$build" "$here/scripts/demo-gemd.sh"  # a replayed search through gemd and gemctl

echo
echo "== Recap: the hidden gem of the shipped demo tree (scripts/demo-tree.sh above, docs/DEMO.md)"
grep -E '^(              INDEX|found  |most popular  |queries spent:)' "$tree_log" || true
grep -A2 '^measured on all' "$tree_log" || true
sed -n 's/^  "evaluations_run": \([0-9]*\),$/the same search again: \1 evaluations run (all from the cache)/p' \
  "$tree_log"
sed -n 's/^wrote \(.*\): .*(open \(file:.*\))$/its report (the tree atlas, popularity against accuracy, the rounds): \2/p' \
  "$tree_log"
