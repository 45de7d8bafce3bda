#!/usr/bin/env bash
# How the replay moves with the simulator's agreement (rho): sequential_halving and the paper's
# method with its two ablations, N = 10 and 50, both shipped trees, 100 repetitions, for
# rho = 0.8 ... 1. The figures behind docs/CALIBRATION.md's sensitivity table. About a minute.
#   bench/replay_agreement_sweep.sh [build dir]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
echo "| rho | tree | N | sequential_halving | paper | paper_no_corr | paper_sh_schedule |"
echo "|---|---|---|---:|---:|---:|---:|"
for rho in 0.8 0.9 0.95 0.98 0.99 0.995 0.999 1; do
  for tree in qwen2.5_3b mistral_7b; do
    "$build/bin/gem-replay" --tree "$here/data/trees/$tree.csv" --budgets 10,50 --reps 100 \
      --methods sequential_halving,paper,paper_no_corr,paper_sh_schedule --agreement "$rho" -q |
      awk -F'|' -v rho="$rho" -v tree="$tree" '
        $2 ~ /^ (10|50) $/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4); r[$2, $3] = $4; n[$2] = 1 }
        END { for (b in n) printf "| %s | %s | %s | %s | %s | %s | %s |\n", rho, tree, b,
              r[b, "sequential_halving"], r[b, "paper"], r[b, "paper_no_corr"], r[b, "paper_sh_schedule"] }' |
      sort -t'|' -k4n
  done
done
