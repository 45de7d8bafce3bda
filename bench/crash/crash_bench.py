#!/usr/bin/env python3
"""gemd durability under kill -9 (docs/SECURITY.md, "The crash bench").

N cycles, each: start gemd on one persistent data dir, start a few seeded searches, let them run
for a random moment, kill -9 gemd, start it again, and check
  * lost results: the cache's result count right before the kill must still be there after the
    restart (every result the cache returned from a write is durable);
  * resumes: every interrupted job, resumed, must finish "done"; for methods whose resume is
    bit for bit the interrupted search (all but `gem`, docs/GEMD.md) its chosen model must equal
    the uninterrupted search's, which a separate gemd computes first without kills.
Cycles rotate through the methods and the worker counts. Standard library only.

  bench/crash/crash_bench.py [--cycles 24] [--bin-dir build/bin] [--methods paper,...]
                             [--workers 1,2] [--seed 1] [--keep]
Exit status 0 when nothing was lost and every resume succeeded, 1 otherwise.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
QUERIES = 300  # simulated queries per task of the replay tree


class Gemd:
    def __init__(self, bin_dir, work, name, workers, delay_ms):
        self.bin_dir, self.workers, self.delay_ms = bin_dir, workers, delay_ms
        self.data = os.path.join(work, name + "-data")
        self.endpoint = "ipc://" + os.path.join(work, name + ".sock")
        self.log = open(os.path.join(work, name + ".log"), "ab")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [os.path.join(self.bin_dir, "gemd"), "--data-dir", self.data, "--endpoint",
             self.endpoint, "--cpu-workers", str(self.workers), "--replay-eval-delay-ms",
             str(self.delay_ms)], stdout=self.log, stderr=self.log)
        self.ctl(["--wait-for-daemon", "30", "health"], parse=False)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.ctl(["shutdown"], parse=False, check=False)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill9()

    def ctl(self, args, parse=True, check=True, timeout=600):
        cmd = [os.path.join(self.bin_dir, "gemctl"), "--endpoint", self.endpoint]
        cmd += (["--json"] if parse else []) + args
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("gemctl %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
        return json.loads(r.stdout) if parse and r.returncode == 0 else r

    def results(self):
        return self.ctl(["cache", "stats"])["counters"]["results"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=24)
    ap.add_argument("--bin-dir", default=os.path.join(SOURCE, "build", "bin"))
    ap.add_argument("--methods", default="paper,sequential_halving,gem")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--jobs-per-cycle", type=int, default=3)
    ap.add_argument("--delay-ms", type=float, default=0.5,
                    help="replay evaluation delay (makes a search last seconds)")
    ap.add_argument("--seed", type=int, default=1, help="seeds the kill times and search seeds")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    methods = args.methods.split(",")
    workers = [int(w) for w in args.workers.split(",")]
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="gem-crash-bench.")
    tree = os.path.join(SOURCE, "data", "trees", "qwen2.5_3b.csv")
    register = ["tree", "register", "--replay", tree, "--name", "qwen", "--queries", str(QUERIES)]

    # The uninterrupted answers, from a gemd that is never killed.
    plan = []
    for c in range(args.cycles):
        jobs = [(methods[(c + j) % len(methods)], rng.choice([6, 10, 14]), rng.randrange(1 << 30),
                 rng.choice(["gsm8k", "mbpp", "routerbench"])) for j in range(args.jobs_per_cycle)]
        plan.append((workers[c % len(workers)], rng.uniform(0.3, 2.5), jobs))
    ref = Gemd(args.bin_dir, work, "reference", 2, 0)
    ref.start()
    ref.ctl(register, parse=False)
    answers = {}
    for _, _, jobs in plan:
        for method, n, seed, task in jobs:
            key = (method, n, seed, task)
            if key not in answers:
                j = ref.ctl(["search", "start", "--tree", "qwen", "--task", task, "--method",
                             method, "-N", str(n), "--seed", str(seed), "--wait"])
                answers[key] = j["chosen_model"]
    ref.stop()

    g = None
    totals = dict(cycles=0, killed_mid_search=0, lost=0, resumed=0, failed=0, differs=0,
                  differs_gem=0)
    print("%5s %7s %7s %8s %8s %6s %7s %6s  %s" % ("cycle", "workers", "kill_s", "before",
                                                   "after", "lost", "resumed", "failed", "methods"))
    for c, (w, kill_after, jobs) in enumerate(plan):
        g = Gemd(args.bin_dir, work, "crash", w, args.delay_ms)
        g.start()
        if c == 0:
            g.ctl(register, parse=False)
        for method, n, seed, task in jobs:
            g.ctl(["search", "start", "--tree", "qwen", "--task", task, "--method", method,
                   "-N", str(n), "--seed", str(seed), "--user", "bench"])
        time.sleep(kill_after)
        before = g.results()
        running = sum(1 for j in g.ctl(["search", "list"])["jobs"] if j["status"] == "running")
        g.kill9()
        g.start()
        after = g.results()
        lost = max(0, before - after)
        resumed = failed = 0
        for j in g.ctl(["search", "list"])["jobs"]:
            if j["status"] != "interrupted":
                continue
            done = g.ctl(["search", "resume", str(j["id"]), "--wait"], check=False)
            resumed += 1
            key = (j["method"], j["queries_per_model"], j["seed"], j["task"])
            if not isinstance(done, dict) or done.get("status") != "done":
                failed += 1
            elif key in answers and done["chosen_model"] != answers[key]:
                if j["method"] == "gem":
                    totals["differs_gem"] += 1  # allowed: docs/GEMD.md, Crash
                else:
                    totals["differs"] += 1
                    failed += 1
        # Jobs that finished before the kill, or were never started, are waited for too.
        for j in g.ctl(["search", "list"])["jobs"]:
            if j["status"] in ("queued", "running"):
                g.ctl(["search", "watch", str(j["id"])], parse=False, check=False)
        g.stop()
        totals["cycles"] += 1
        totals["killed_mid_search"] += 1 if running else 0
        totals["lost"] += lost
        totals["resumed"] += resumed
        totals["failed"] += failed
        print("%5d %7d %7.2f %8d %8d %6d %7d %6d  %s" % (
            c + 1, w, kill_after, before, after, lost, resumed, failed,
            ",".join(sorted({m for m, _, _, _ in jobs}))))
        sys.stdout.flush()
    print("cycles %(cycles)d (killed mid-search: %(killed_mid_search)d), lost results "
          "%(lost)d, resumed jobs %(resumed)d, failed resumes %(failed)d (different answer: "
          "%(differs)d; gem method, allowed to differ: %(differs_gem)d)" % totals)
    if args.keep:
        print("work directory kept:", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if totals["lost"] == 0 and totals["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
