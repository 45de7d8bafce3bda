#!/usr/bin/env bash
# Figures of a search through Slurm on this machine (docs/CLUSTER.md): a local Slurm cluster of
# two node names (scripts/local-slurm.sh), gemd with the slurm executor, and the same searches on
# gemd's own CPU device for comparison. Each measurement uses a fresh data dir, so nothing comes
# from the cache.
#
#   bench/cluster/two_node_search.sh [BUILD_DIR]      (as root; needs Slurm, see local-slurm.sh)
#
# Workloads:
#   replay  the qwen2.5_3b tree (450 models, 300 simulated queries), method paper, N=10, with
#           replay.eval_delay_ms = 2: each evaluation sleeps 2 ms where it runs, standing in for a
#           GPU-bound evaluation (it does not use the CPU, so the two "nodes" of this 2-core
#           machine can overlap their units as real nodes would); units are small (6 queries in
#           round 1: 12 ms), so the per-unit round trip shows;
#   matrix  a 40-model x 400-query 0/1 matrix, method paper, N=20, 20 ms per evaluation: units of
#           120-800 ms, where the executor's overhead is small against the work;
#   demo    the demo model tree (data/demo_tree) on the real CPU engine, default search: CPU-bound,
#           so on this machine the two workers (one engine thread each) share its 2 cores with
#           each other and with gemd; the local search runs the engine on all cores.
# For slurm, "cold" is the first search (sbatch, job start, workers join and build the tree) and
# "warm" a second search of another task on the same workers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$here/build}"
bin="$build/bin"
work="$(mktemp -d /tmp/gem-cluster-bench.XXXXXX)"
trap '"$here/scripts/local-slurm.sh" stop "$work/slurm" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$here/scripts/local-slurm.sh" start "$work/slurm" --nodes 2 --gpus 1 >/dev/null
export SLURM_CONF="$work/slurm/etc/slurm.conf"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

now() { date +%s.%N; }
start_gemd() {  # start_gemd NAME ARGS...
  local name=$1
  shift
  mkdir -p "$work/$name"
  "$bin/gemd" --data-dir "$work/$name/data" --endpoint "ipc://$work/$name/gemd.sock" \
    --log-file "$work/$name/gemd.log" "$@" &
  "$bin/gemctl" -e "ipc://$work/$name/gemd.sock" --wait-for-daemon 20 health >/dev/null
}
ctl() { local name=$1; shift; "$bin/gemctl" -e "ipc://$work/$name/gemd.sock" "$@"; }
timed() {  # timed LABEL NAME gemctl-args...: prints "LABEL  seconds  evaluations_run"
  local label=$1 name=$2
  shift 2
  local t0 t1 out
  t0=$(now)
  out=$(ctl "$name" --json "$@")
  t1=$(now)
  echo "$out" | python3 -c '
import json, sys
label, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
j = json.load(sys.stdin)
print("%-40s %7.2f s  %6d evaluations run, chosen model %s"
      % (label, t1 - t0, j["evaluations_run"], j["chosen_model"]))' "$label" "$t0" "$t1"
}

cat >"$work/cluster.toml" <<TOML
[cluster]
worker_endpoint = "tcp://127.0.0.1:$port"
max_nodes = 2
idle_timeout_s = 600
poll_s = 1
[slurm]
time = "01:00:00"
cpus_per_worker = 1
TOML

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); Slurm $(sinfo -V | cut -d' ' -f2), 2 node names x 1 fake GPU"
python3 - "$work" <<'PY'
import random, sys
for name, seed in (("matrix_a", 7), ("matrix_b", 8)):
    random.seed(seed)
    with open(sys.argv[1] + "/" + name + ".csv", "w") as f:
        f.write("model_id," + ",".join("q%d" % q for q in range(400)) + "\n")
        for m in range(40):
            p = 0.2 + 0.6 * m / 39
            f.write("m%d," % m + ",".join("1" if random.random() < p else "0"
                                           for _ in range(400)) + "\n")
PY

for workload in replay matrix demo; do
  for executor in local slurm; do
    name="$workload-$executor"
    delay=2
    [[ $workload == matrix ]] && delay=20
    if [[ $executor == slurm ]]; then
      start_gemd "$name" --config "$work/cluster.toml" --replay-eval-delay-ms $delay \
        --engine-threads 1
    else
      start_gemd "$name" --replay-eval-delay-ms $delay  # the engine on all cores
    fi
    if [[ $workload == replay ]]; then
      ctl "$name" tree register --replay "$here/data/trees/qwen2.5_3b.csv" --name qwen \
        --queries 300 >/dev/null
      args=(search start --tree qwen --method paper -N 10 --seed 3 --executor "$executor" --wait)
      timed "replay gsm8k, $executor (cold)" "$name" "${args[@]}" --task gsm8k
      timed "replay mbpp, $executor (warm)" "$name" "${args[@]}" --task mbpp
    elif [[ $workload == matrix ]]; then
      for m in a b; do
        ctl "$name" tree register --replay "$work/matrix_$m.csv" --name "m$m" --format matrix \
          --task t >/dev/null
      done
      args=(search start --task t --method paper -N 20 --seed 1 --executor "$executor" --wait)
      timed "matrix a, $executor (cold)" "$name" "${args[@]}" --tree ma
      timed "matrix b, $executor (warm)" "$name" "${args[@]}" --tree mb
    else
      ctl "$name" tree register "$here/data/demo_tree/tree.json" \
        --task "$here/data/demo_tree/tasks/demo_add.jsonl" \
        --task "$here/data/demo_tree/tasks/demo_add_choice.jsonl" >/dev/null 2>&1
      timed "demo demo_add, $executor (cold)" "$name" search start --tree demo-tree \
        --task demo_add --executor "$executor" --wait
      timed "demo demo_add_choice, $executor (warm)" "$name" search start --tree demo-tree \
        --task demo_add_choice --executor "$executor" --wait
    fi
    if [[ $executor == slurm ]]; then
      ctl "$name" --json cluster status | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = s["counters"]
print("  workers: " + ", ".join(w["id"] + "@" + w["node"] + "/gpu" + w["gpu"] for w in s["workers"])
      + "; units %d, requeued %d, results written %d" % (c["units_done"], c["units_requeued"], c["results_written"]))'
      # From sbatch to the first worker's hello, as gemd logged them.
      python3 - "$work/$name/gemd.log" <<'PY'
import re, sys
from datetime import datetime
t = lambda line: datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f")
lines = open(sys.argv[1]).read().splitlines()
sub = next(t(l) for l in lines if "submitted worker job" in l)
join = next(t(l) for l in lines if "cluster: worker" in l and " joined:" in l)
print("  sbatch to first worker joined: %.2f s" % (join - sub).total_seconds())
PY
    fi
    ctl "$name" shutdown >/dev/null
    sleep 1
  done
done
