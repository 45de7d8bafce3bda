#!/usr/bin/env bash
# A small Slurm cluster on this machine, for the cluster tests and for trying gemd's slurm
# executor without a cluster (docs/CLUSTER.md, "A cluster on one machine").
#
#   scripts/local-slurm.sh start DIR [--nodes N] [--gpus G]   # N node names (default 2) with G
#                                                             # fake GPUs each (default 2)
#   scripts/local-slurm.sh stop DIR                           # cancels its jobs, stops it
#   scripts/local-slurm.sh check                              # exit 0 when it can run here
#
# `start` prints `export SLURM_CONF=DIR/etc/slurm.conf`: with it, sbatch, squeue, scancel and
# gemd talk to this cluster. Everything lives in DIR (config, munge key and socket, spool, logs):
# one munged, one slurmctld and one slurmd per node name (n1, n2, ...), all on 127.0.0.1 with
# ports picked free at start. Each node declares G GPUs of gres type "gpu" backed by character
# device nodes DIR/dev/gpuK (copies of /dev/null), so Slurm allocates them and sets
# CUDA_VISIBLE_DEVICES exactly as on a GPU node; nothing runs on them. Where mknod is refused the
# GPUs are plain countable gres (allocated, but CUDA_VISIBLE_DEVICES is not set).
#
# Needs root (slurmd starts jobs as their user) and Debian's slurmctld, slurmd, slurm-client and
# munge (scripts/install-deps.sh installs them). Debian's slurmd is built without
# multiple-slurmd support, but `slurmd -N NAME` with a distinct Port= per NodeName serves.
set -euo pipefail

die() { echo "local-slurm: $*" >&2; exit 1; }

need_tools() {
  local missing=()
  for t in munged slurmctld slurmd sbatch squeue scancel sinfo scontrol; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  if ((${#missing[@]})); then
    echo "local-slurm: missing ${missing[*]} (Debian: slurmctld slurmd slurm-client munge;" \
      "scripts/install-deps.sh installs them)" >&2
    return 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "local-slurm: needs root (slurmd starts jobs as their owner)" >&2
    return 1
  fi
}

# N free TCP ports on 127.0.0.1 (bound together, then released).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

start() {
  local dir=$1 nodes=2 gpus=2
  shift
  while (($#)); do
    case "$1" in
      --nodes) nodes=$2; shift 2 ;;
      --gpus) gpus=$2; shift 2 ;;
      *) die "unknown option '$1' (try --help)" ;;
    esac
  done
  need_tools || exit 1
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [[ -f "$dir/run/slurmctld.pid" ]] && die "$dir already holds a cluster (stop it first)"
  rm -rf "$dir/spool"  # a fresh cluster: no jobs or node states from an earlier one
  mkdir -p "$dir"/{etc,munge,run,log,dev,spool/ctld,jobs}
  chmod 700 "$dir/munge"

  # munge: a fresh key, our own socket.
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged -f --socket="$dir/run/munge.sock" --key-file="$dir/munge/munge.key" \
    --log-file="$dir/log/munged.log" --pid-file="$dir/run/munged.pid" \
    --seed-file="$dir/run/munged.seed" ||
    die "munged did not start (see $dir/log/munged.log)"

  # Fake GPUs: character devices (Slurm's gpu gres insists on one) that are /dev/null.
  local file_gres=1
  for ((k = 0; k < nodes * gpus; ++k)); do
    [[ -c "$dir/dev/gpu$k" ]] || mknod "$dir/dev/gpu$k" c 1 3 2>/dev/null || file_gres=0
  done

  local ports
  read -r -a ports <<<"$(free_ports $((nodes + 2)))"
  local conf="$dir/etc/slurm.conf"
  cat >"$conf" <<EOF
# Written by scripts/local-slurm.sh: a ${nodes}-node cluster on 127.0.0.1 for tests.
ClusterName=gemlocal
SlurmctldHost=localhost
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/run/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,sched_min_interval=100000
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=1
Waittime=0
EOF
  : >"$dir/etc/gres.conf"
  [[ $file_gres == 1 ]] && echo "AutoDetect=off" >>"$dir/etc/gres.conf"
  # What the tests may expect: "files" (GPU indices and CUDA_VISIBLE_DEVICES) or "count".
  if [[ $file_gres == 1 ]]; then echo files >"$dir/etc/fake_gpus"; else echo count >"$dir/etc/fake_gpus"; fi
  local names=()
  for ((i = 1; i <= nodes; ++i)); do
    local name="n$i" first=$(((i - 1) * gpus)) last=$((i * gpus - 1))
    names+=("$name")
    mkdir -p "$dir/spool/$name"
    echo "NodeName=$name NodeHostname=localhost NodeAddr=127.0.0.1 Port=${ports[i + 1]}" \
      "CPUs=2 RealMemory=2000 Gres=gpu:$gpus State=UNKNOWN" >>"$conf"
    if [[ $file_gres == 1 ]]; then
      echo "NodeName=$name Name=gpu File=$dir/dev/gpu[$first-$last]" >>"$dir/etc/gres.conf"
    else
      echo "NodeName=$name Name=gpu Count=$gpus" >>"$dir/etc/gres.conf"
    fi
  done
  local list
  list=$(IFS=,; echo "${names[*]}")
  echo "PartitionName=gem Nodes=$list Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES" \
    >>"$conf"

  # Every process of this cluster (and every job it runs) carries GEM_LOCAL_SLURM, so `stop`
  # finds exactly them.
  export SLURM_CONF="$conf" GEM_LOCAL_SLURM="$dir"
  slurmctld -f "$conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
  wait_for 20 "slurmctld" scontrol ping ||
    die "slurmctld does not answer (see $dir/log/slurmctld.log)"
  for name in "${names[@]}"; do
    slurmd -f "$conf" -N "$name" || die "slurmd $name did not start (see $dir/log/slurmd-$name.log)"
  done
  idle() { [[ $(sinfo -h -t idle -o '%D' | awk '{s += $1} END {print s + 0}') -ge $nodes ]]; }
  wait_for 30 "idle nodes" idle ||
    die "the nodes did not become idle: $(sinfo -h -N -o '%N %T' | tr '\n' ' ')"
  echo "export SLURM_CONF=$conf"
}

# Pids of this cluster's processes and of its jobs: slurmctld, slurmd and slurmstepd carry
# GEM_LOCAL_SLURM=DIR (start exports it); job processes carry SLURM_JOB_ID and this SLURM_CONF.
# (Whoever submitted the jobs has SLURM_CONF but no SLURM_JOB_ID, and is left alone.)
cluster_pids() {
  local dir=$1 p env
  for p in /proc/[0-9]*; do
    env=$( { tr '\0' '\n' <"$p/environ"; } 2>/dev/null) || continue
    if grep -qxF "GEM_LOCAL_SLURM=$dir" <<<"$env" ||
      { grep -qxF "SLURM_CONF=$dir/etc/slurm.conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"; }; then
      echo "${p#/proc/}"
    fi
  done
}

stop() {
  unset GEM_LOCAL_SLURM SLURM_JOB_ID
  local dir
  dir="$(cd "$1" 2>/dev/null && pwd)" || die "no cluster in $1"
  export SLURM_CONF="$dir/etc/slurm.conf"
  if [[ -f "$dir/run/slurmctld.pid" ]] && scontrol ping >/dev/null 2>&1; then
    local jobs
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [[ -n "$jobs" ]]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      wait_for 15 "jobs to end" bash -c '[[ -z "$(squeue -h -t R,CG,PD -o %i)" ]]' || true
    fi
  fi
  # All daemons at once (each takes a moment to exit); a zombie counts as gone.
  local f pids=()
  for f in "$dir"/run/slurmd-*.pid "$dir/run/slurmctld.pid" "$dir/run/munged.pid"; do
    [[ -f "$f" ]] || continue
    pids+=("$(cat "$f")")
    kill "${pids[-1]}" 2>/dev/null || true
    rm -f "$f"
  done
  alive() {
    local p
    for p in "$@"; do
      [[ -e /proc/$p ]] && [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) != Z ]] && return 0
    done
    return 1
  }
  for _ in $(seq 100); do alive "${pids[@]}" || break; sleep 0.1; done
  ((${#pids[@]})) && kill -9 "${pids[@]}" 2>/dev/null || true
  # Job processes that outlived their slurmstepd, if any.
  local pid
  for pid in $(cluster_pids "$dir"); do
    [[ $pid == "$$" ]] || kill -9 "$pid" 2>/dev/null || true
  done
}

case "${1:-}" in
  start) (($# >= 2)) || die "usage: $0 start DIR [--nodes N] [--gpus G]"; shift; start "$@" ;;
  stop) (($# == 2)) || die "usage: $0 stop DIR"; stop "$2" ;;
  check) need_tools ;;
  -h|--help) sed -n '2,22p' "$0" ;;
  *) die "usage: $0 start DIR [--nodes N] [--gpus G] | stop DIR | check (try --help)" ;;
esac
