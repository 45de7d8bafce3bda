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
#           machine can overlap their units as real nodes would);
#   demo    the demo model tree (data/demo_tree) on the real CPU engine, default search: CPU-bound,
#           so on this machine the two workers share its 2 cores with each other and with gemd.
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
for workload in replay demo; do
  for executor in local slurm; do
    name="$workload-$executor"
    if [[ $executor == slurm ]]; then
      start_gemd "$name" --config "$work/cluster.toml" --replay-eval-delay-ms 2 --engine-threads 1
    else
      start_gemd "$name" --replay-eval-delay-ms 2 --engine-threads 1
    fi
    if [[ $workload == replay ]]; then
      ctl "$name" tree register --replay "$here/data/trees/qwen2.5_3b.csv" --name qwen \
        --queries 300 >/dev/null
      args=(search start --tree qwen --method paper -N 10 --seed 3 --executor "$executor" --wait)
      timed "replay gsm8k, $executor (cold)" "$name" "${args[@]}" --task gsm8k
      timed "replay mbpp, $executor (warm)" "$name" "${args[@]}" --task mbpp
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
    fi
    ctl "$name" shutdown >/dev/null
    sleep 1
  done
done
