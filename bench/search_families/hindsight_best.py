#!/usr/bin/env python3
"""The picks and the report of bench/search_families/hindsight.sh (check 1 with hindsight).

  hindsight_best.py select OUT SEED         prints the picks (LABEL=BINARY=SPEC lines)
  hindsight_best.py report OUT SEED FRESH   prints the Markdown report

OUT holds gem_tune's Markdown tables: ref-SEED.md (gem first, so with its own standard error,
and paper at N = 25, 50), paper-SEED.md (paper alone, for its own standard error), p1*.md and
p2*.md (the settings at N = 25, named in specs.txt as LABEL=BINARY=SPEC) and, for the report,
pick-LABEL-SEED.md (a pick re-measured first in its own run, so with its own standard error). "Passes" is
check_done.py's rule: difference to paper at N = 50 at most sqrt(se_a^2 + se_b^2).
Standard library only.
"""
import glob
import math
import os
import re
import sys


def table(path):
    """{(tree, rho, n): {method: (mean, se or None)}}; se only for a run's first method."""
    out, hdr = {}, None
    for line in open(path):
        if not line.startswith("|") or line.startswith("|---"):
            continue
        c = [x.strip() for x in line.strip().strip("|").split("|")]
        if c[0] == "tree":
            hdr = c
            continue
        row = out.setdefault((c[0], c[1], int(c[2])), {})
        for i, (name, val) in enumerate(zip(hdr[3:], c[3:])):
            mean = float(re.match(r"[\d.]+", val).group())
            se = re.match(r"[\d.]+ ±([\d.]+)", val)
            row[name] = (mean, float(se.group(1)) if i == 0 and se else None)
    return out


def cells(ref):
    return sorted({(t, r) for (t, r, n) in ref}, key=lambda x: (x[0] != "standout", x))


def settings_runs(out):
    specs = {}
    for line in open(os.path.join(out, "specs.txt")):
        label, binary, spec = line.rstrip("\n").split("=", 2)
        specs[label] = (binary, spec)
    runs = {}
    for path in sorted(glob.glob(os.path.join(out, "p[12]*.md"))):
        for (t, r, n), row in table(path).items():
            for name, (mean, _) in row.items():
                if name in specs:
                    runs.setdefault(name, {})[(t, r)] = mean
    return specs, runs


def joint(out, seed, ref, runs):
    """The best single setting for all cells: the smallest worst excess over paper at N = 50 in
    standard errors (a setting's se taken as today's gem's at N = 25)."""
    paper = table(os.path.join(out, f"paper-{seed}.md"))
    worst = []
    for k, v in runs.items():
        if all(c in v for c in cells(ref)):
            z = [(v[(t, r)] - paper[(t, r, 50)]["paper"][0]) /
                 math.hypot(ref[(t, r, 25)]["gem"][1], paper[(t, r, 50)]["paper"][1])
                 for t, r in cells(ref)]
            worst.append((max(z), k))
    return min(worst)[1]


def select(out, seed):
    """Each cell's best setting, then the best single setting."""
    ref = table(os.path.join(out, f"ref-{seed}.md"))
    specs, runs = settings_runs(out)
    picks = [min((v[c], k) for k, v in runs.items() if c in v)[1] for c in cells(ref)]
    for k in dict.fromkeys(picks + [joint(out, seed, ref, runs)]):
        print(f"{k}={specs[k][0]}={specs[k][1]}")


def report(out, seed, fresh):
    picks = [line.split("=", 1)[0] for line in open(os.path.join(out, "picks.txt"))]
    ref = {s: table(os.path.join(out, f"ref-{s}.md")) for s in (seed, fresh)}
    paper = {s: table(os.path.join(out, f"paper-{s}.md")) for s in (seed, fresh)}
    pick = {(k, s): table(os.path.join(out, f"pick-{k}-{s}.md")) for k in picks
            for s in (seed, fresh)}
    specs, runs = settings_runs(out)
    print(f"{len(runs)} settings at N = 25 on matrix seeds 4, 5, 6, search seed {seed}; each cell's "
          f"best re-measured with search seed {fresh}.\n")
    print("| tree | rho | search seed | gem N=25 | best setting (hindsight) | its N=25 | "
          "paper N=50 | difference ± se | passes | gem N=50 |")
    print("|---|---|---|---:|---|---:|---:|---:|---|---:|")
    for t, r in cells(ref[seed]):
        k = min(picks, key=lambda q: pick[(q, seed)][(t, r, 25)][q][0])
        for s in (seed, fresh):
            m, se = pick[(k, s)][(t, r, 25)][k]
            p, pse = paper[s][(t, r, 50)]["paper"]
            g25, g50 = ref[s][(t, r, 25)]["gem"], ref[s][(t, r, 50)]["gem"]
            d, dse = m - p, math.hypot(se, pse)
            tag = "selection" if s == seed else "fresh"
            print(f"| {t} | {r} | {s} ({tag}) | {g25[0]:.2f} ± {g25[1]:.2f} | {k} | "
                  f"{m:.2f} ± {se:.2f} | {p:.2f} ± {pse:.2f} | {d:+.2f} ± {dse:.2f} | "
                  f"{'yes' if d <= dse else '**no**'} | {g50[0]:.2f} ± {g50[1]:.2f} |")
    j = joint(out, seed, ref[seed], runs)
    print(f"\nThe best single setting for all four cells ({j}: the smallest worst excess over "
          "paper at N = 50, on the selection seed), mean rank at N = 25:\n")
    print("| tree | rho | search seed | gem N=25 | " + j + " | paper N=50 | difference ± se | passes |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for t, r in cells(ref[seed]):
        for s in (seed, fresh):
            m, se = pick[(j, s)][(t, r, 25)][j]
            p, pse = paper[s][(t, r, 50)]["paper"]
            g25 = ref[s][(t, r, 25)]["gem"]
            d, dse = m - p, math.hypot(se, pse)
            print(f"| {t} | {r} | {s} | {g25[0]:.2f} ± {g25[1]:.2f} | {m:.2f} ± {se:.2f} | "
                  f"{p:.2f} ± {pse:.2f} | {d:+.2f} ± {dse:.2f} | {'yes' if d <= dse else '**no**'} |")
    print("\nSettings:\n")
    for k in picks:
        print(f"- {k} ({specs[k][0].split('/')[0]}): `{specs[k][1]}`")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "select":
        select(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
