#!/usr/bin/env bash
# How far issue 15's check 1 (gem at N = 25 no worse than paper at N = 50) is from what tuning
# the gem family can give, on the trees where it fails (standout, small): the constants of `gem`
# chosen WITH HINDSIGHT on the held-out matrices themselves (seeds 4, 5, 6), per cell, next to
# gem and paper at N = 25 and 50 on the same matrices and search seeds (docs/GEM_METHOD.md,
# "Check 1: how far from reachable"). An upper bound of tuning, biased in its favour: the best of
# ~350 noisy settings per cell; the picks are then re-measured with fresh search seeds.
#
#   bench/search_families/hindsight.sh [build dir] [out dir] [search seed (15)] [fresh seed (16)]
#
# The settings span the constants of gem today and the exploratory ones measured and removed in
# issue 15 (heavier or deeper first rounds, growing shares, final weights, cut-edge playoffs,
# paired elimination, finalist drops: commit 7fec6a9, whose gem with today's constants makes
# today's choices bit for bit) and the leader-ties playoff (commit 75688a8). Their gem_tune is
# built from `git archive` of those commits in OUT (no git state changes). One thread, niced.
# About 8 minutes of CPU.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$here/build}"
out="${2:-$(mktemp -d)}"
seed="${3:-15}"
fresh="${4:-16}"
mkdir -p "$out"
fam="$here/bench/search_families"
trees=("$fam/standout.csv" "$fam/small.csv")
tune=(--reps 100 --matrix-seeds "4,5,6" --agreements "0.99,0.999")
for c in 7fec6a9 75688a8; do
  if [ ! -x "$out/src-$c/build/bin/gem_tune" ]; then
    mkdir -p "$out/src-$c"
    git -C "$here" archive "$c" | tar -x -C "$out/src-$c"
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    nice cmake -S "$out/src-$c" -B "$out/src-$c/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DGEM_CUDA=OFF -DGEM_BUILD_TESTS=OFF "${launcher[@]}" >"$out/build-$c.log" 2>&1
    nice cmake --build "$out/src-$c/build" -j2 --target gem_tune >>"$out/build-$c.log" 2>&1
  fi
done
old="$out/src-7fec6a9/build/bin/gem_tune"
po="$out/src-75688a8/build/bin/gem_tune"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
# gem's constants today, in 7fec6a9's keys.
B=finalists:2,first_round_min:3,first_round_min_frac:0.125,protect_z:0,protect_from_n:10
B=$B,protect_full_n:25,exhaustive_finish:1
name() { echo "$1" | tr ',:' '_=' | tr -d '='; }
: >"$out/specs.txt"
# add LABEL BINARY SPEC: one more setting in $M (and in specs.txt, for the re-measurement).
add() {
  M="$M;$1=$3"
  echo "$1=$2=$3" >>"$out/specs.txt"
}
# References: gem and paper at N = 25 and 50 (this build).
# (gem_tune prints a run's first method's own se: paper runs alone for its.)
for s in "$seed" "$fresh"; do
  nice -n 10 "$build/bin/gem_tune" "${tune[@]}" --seed "$s" --budgets 25,50 \
    --methods 'gem;paper;paper_sh_schedule' "${trees[@]}" >"$out/ref-$s.md"
  nice -n 10 "$build/bin/gem_tune" "${tune[@]}" --seed "$s" --budgets 25,50 \
    --methods 'paper' "${trees[@]}" >"$out/paper-$s.md"
done
# Pass 1: one or two constants changed at a time.
M="today=$B,protect_cap:0.8"
for x in finalists:1 finalists:3 finalists:4 eta:1.5 eta:2.5 eta:3 eta:4 eta_first:3 eta_first:4 \
  eta_first:6 eta_first:8 first_round_min:1 first_round_min:2 first_round_min:5,first_round_min_frac:0 \
  first_round_min:8,first_round_min_frac:0 first_round_min:12,first_round_min_frac:0 \
  first_round_share:0.2 first_round_share:0.3 first_round_share:0.4 first_round_share:0.5 \
  first_round_share:0.6 share_growth:1.1 share_growth:1.2 share_growth:1.3 \
  share_growth:1.2,growth_after_first:1 share_growth:1.4,growth_after_first:1 final_weight:0.5 \
  final_weight:2 final_weight:3 final_weight:5 protect_cap:0.5 protect_cap:0.67 protect_cap:0.9 \
  protect_cap:0.95 protect_z:-1 protect_z:0.5 protect_z:1 sub_steps:2,elim_z:1.5 \
  sub_steps:4,elim_z:1.5 sub_steps:4,elim_z:2 sub_steps:4,elim_z:1 band_z:0,playoff_rounds:1 \
  band_z:0,playoff_rounds:3 band_z:0.5,playoff_rounds:1,playoff_share:0.3 \
  final_chunks:4,final_drop_z:2 finalists:4,final_chunks:4,final_drop_z:2 \
  first_round_share:0.4,eta_first:4 first_round_share:0.6,eta_first:4 \
  first_round_share:0.3,eta_first:3 first_round_share:0.4,final_weight:2 eta_first:4,final_weight:2 \
  first_round_share:0.3,protect_cap:0.9 finalists:3,first_round_share:0.3 \
  finalists:1,final_weight:2 eta:3,first_round_share:0.3; do
  add "$(name "$x")" src-7fec6a9/build/bin/gem_tune "$B,protect_cap:0.8,$x"
done
nice -n 10 "$old" "${tune[@]}" --seed "$seed" --budgets 25 --methods "$M" "${trees[@]}" >"$out/p1.md"
M="today=$B,protect_cap:0.8"
for x in playoff_from_n:25 playoff_from_n:25,playoff_last_round:1 \
  playoff_from_n:25,playoff_last_round:3 playoff_from_n:25,playoff_share:0.3 \
  playoff_from_n:25,playoff_share:0.8,playoff_rounds:3; do
  add "po_$(name "$x")" src-75688a8/build/bin/gem_tune "$B,protect_cap:0.8,$x"
done
nice -n 10 "$po" "${tune[@]}" --seed "$seed" --budgets 25 --methods "$M" "${trees[@]}" >"$out/p1b.md"
# Pass 2: combinations of what helped one cell in pass 1.
P=band_z:0.5,playoff_rounds:1,playoff_share:0.3
for cap in 0.8 0.9 0.95; do
  for eta in 2 2.5 3; do
    M="today=$B,protect_cap:0.8"
    for ef in 0 3 6; do for p in 0 1; do for fw in 0.5 1; do for frs in 0 0.2; do
      x=protect_cap:$cap,eta:$eta,eta_first:$ef,final_weight:$fw,first_round_share:$frs
      [ "$p" = 1 ] && x=$x,$P
      add "c${cap}e${eta}f${ef}p${p}w${fw}s${frs}" src-7fec6a9/build/bin/gem_tune "$B,$x"
    done; done; done; done
    nice -n 10 "$old" "${tune[@]}" --seed "$seed" --budgets 25 --methods "$M" "${trees[@]}" \
      >"$out/p2-c$cap-e$eta.md"
  done
done
# The best setting of each cell (and the best single setting), re-measured with fresh seeds.
python3 "$fam/hindsight_best.py" select "$out" "$seed" >"$out/picks.txt"
while IFS='=' read -r label binary spec; do
  for s in "$seed" "$fresh"; do
    nice -n 10 "$out/$binary" "${tune[@]}" --seed "$s" --budgets 25 \
      --methods "$label=$spec;today=$B,protect_cap:0.8" "${trees[@]}" >"$out/pick-$label-$s.md" \
      </dev/null
  done
done <"$out/picks.txt"
python3 "$fam/hindsight_best.py" report "$out" "$seed" "$fresh" >"$out/hindsight.md"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - start )) s"
cat "$out/hindsight.md"
