#!/usr/bin/env python3
"""Checks issue 15's "Done when" on gem-replay results (CSV format version 2) and prints the
tables docs/GEM_METHOD.md shows.

  check_done.py RESULTS.csv [RESULTS.csv ...] [--method gem] [--baselines paper,paper_sh_schedule,gem_v1]

For every tree and agreement in the files:
  1. the method at N = 25 against `paper` at N = 50;
  2. the method against the best of the baselines at every N;
  3. METHOD@table4 against paper_table4 at every N (equal actual spend).
"No worse" means: the method's mean rank minus the other's is at most one standard error of
that difference, sqrt(se_a^2 + se_b^2) (each cell's se is over its matrices x repetitions;
treating the two cells as independent, which is conservative for rows that share search seeds).
"Beats" in 3 means a lower mean rank (or both at rank 1.00: always the best model). Exit status 0 when every check passes, 1 otherwise.
Standard library only.
"""
import argparse
import csv
import math
import sys


def load(paths):
    cells = {}
    order = []
    for path in paths:
        with open(path) as f:
            for r in csv.DictReader(f):
                if r["queries_per_model"] == "-":
                    continue
                key = (r["tree"], r["agreement"])
                if key not in order:
                    order.append(key)
                cells[key + (int(r["queries_per_model"]), r["method"])] = (
                    float(r["mean_rank"]), float(r["rank_se"]), float(r["spend"] or "nan"))
    return cells, order


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--method", default="gem")
    ap.add_argument("--baselines", default="paper,paper_sh_schedule,gem_v1")
    a = ap.parse_args()
    cells, order = load(a.csv)
    base = a.baselines.split(",")
    m = a.method
    fails = 0

    def get(key):
        return cells.get(key)

    print(f"## 1. {m} at N = 25 against paper at N = 50 (mean rank ± se)\n")
    print("| tree | agreement | %s N=25 | paper N=50 | difference ± se | no worse |" % m)
    print("|---|---|---:|---:|---:|---|")
    for tree, rho in order:
        g, p = get((tree, rho, 25, m)), get((tree, rho, 50, "paper"))
        if not g or not p:
            fails += 1
            print(f"| {tree} | {rho} | missing | | | **no** |")
            continue
        d, se = g[0] - p[0], math.hypot(g[1], p[1])
        ok = d <= se
        fails += not ok
        print(f"| {tree} | {rho} | {g[0]:.2f} ± {g[1]:.2f} | {p[0]:.2f} ± {p[1]:.2f} | "
              f"{d:+.2f} ± {se:.2f} | {'yes' if ok else '**no**'} |")

    budgets = sorted({k[2] for k in cells})
    print(f"\n## 2. {m} against the best of {', '.join(base)} (mean rank; the best baseline "
          "named)\n")
    print("| tree | agreement | " + " | ".join(f"N={n}" for n in budgets) + " |")
    print("|---|---|" + "---|" * len(budgets))
    for tree, rho in order:
        row = []
        for n in budgets:
            g = get((tree, rho, n, m))
            bs = [(get((tree, rho, n, b)), b) for b in base if get((tree, rho, n, b))]
            if not g or not bs:
                fails += 1
                row.append("**missing**")
                continue
            (bv, bse, _), bname = min(bs, key=lambda x: x[0][0])
            d, se = g[0] - bv, math.hypot(g[1], bse)
            ok = d <= se
            fails += not ok
            row.append(f"{g[0]:.2f} vs {bv:.2f} {bname}{'' if ok else ' **worse**'}")
        print(f"| {tree} | {rho} | " + " | ".join(row) + " |")

    print(f"\n## 3. {m}@table4 against paper_table4 at equal actual spend (mean rank, spend / NK)\n")
    print("| tree | agreement | " + " | ".join(f"N={n}" for n in budgets) + " |")
    print("|---|---|" + "---|" * len(budgets))
    for tree, rho in order:
        row = []
        for n in budgets:
            g, t = get((tree, rho, n, m + "@table4")), get((tree, rho, n, "paper_table4"))
            if not g or not t:
                fails += 1
                row.append("**missing**")
                continue
            # Both always returning the best model is a tie nobody can beat.
            optimal = g[0] == t[0] == 1.0
            beats = g[0] < t[0] or optimal
            fails += not beats
            mark = " (both optimal)" if optimal else ("" if beats else " **not better**")
            row.append(f"{g[0]:.2f} vs {t[0]:.2f} ({t[2]:.2f}x){mark}")
        print(f"| {tree} | {rho} | " + " | ".join(row) + " |")

    print(f"\n{fails} check(s) failed." if fails else "\nEvery check passed.")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
