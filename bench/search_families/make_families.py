#!/usr/bin/env python3
"""Writes the synthetic model trees the default search is tuned and checked on (issue 15,
docs/GEM_METHOD.md, "Tree families").

Deterministic (fixed seeds), standard library only; run it again and the files come out
identical. Each tree is a per-model accuracy table in the data/trees format (node_id,
diameter_pt as a popularity proxy, routerbench_total_pct); gem-replay's simulator turns it into
a models x queries answer matrix. The shapes, chosen to stress a search where the two shipped
trees do not:

  standout.csv       400 models: one model 1.8 points above a crowd of 40 near-ties (within
                     0.4 points of each other), the rest spread below, like a real tree's bulk.
  top10_close.csv    400 models whose ten best lie within 0.2 points (5 of 2,500 queries).
  mostly_broken.csv  500 models, 80% of them near chance (0.22-0.30: broken uploads), the
                     working fifth spread up to a top at 0.70.
  small.csv          60 models shaped like the shipped Qwen-3B tree (a dense top, a long tail).
  large.csv          2,000 models shaped the same way.

The shipped trees (data/trees/qwen2.5_3b.csv, mistral_7b.csv) complete the set.
"""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))


def write(name, accs, seed):
    rng = random.Random(seed)
    with open(os.path.join(here, name), "w") as f:
        f.write("node_id,diameter_pt,routerbench_total_pct\n")
        for i, a in enumerate(accs):
            # Popularity is unrelated to accuracy (the paper's finding); one model is the popular
            # base, somewhere in the bulk.
            f.write(f"{i},{rng.uniform(5, 40):.3f},{100 * a:.2f}\n")


def shuffled(accs, seed):
    accs = list(accs)
    random.Random(seed).shuffle(accs)
    return accs


def bulk(rng, n, lo, hi):
    """n accuracies skewed towards hi (a real tree: many mediocre fine-tunes, fewer good ones)."""
    return [lo + (hi - lo) * rng.betavariate(2.5, 1.5) for _ in range(n)]


def qwen_like(rng, k, top):
    """A tree shaped like the shipped Qwen-3B one: ~6% within 1.3 points of the best, ~20%
    within 3 points, the rest (about half of them broken or far behind) well below."""
    n_top = max(3, round(0.06 * k))
    n_mid = max(3, round(0.14 * k))
    n_low = k - 1 - n_top - n_mid
    accs = [top]
    accs += [top - 0.013 * rng.random() ** 0.7 - 0.0005 for _ in range(n_top)]
    accs += [top - 0.013 - 0.017 * rng.random() for _ in range(n_mid)]
    accs += bulk(rng, n_low, 0.30, top - 0.03)
    return accs


rng = random.Random(15)
standout = [0.750]
standout += [0.728 + 0.004 * rng.random() for _ in range(40)]
standout += [0.66 + 0.068 * rng.random() for _ in range(80)]
standout += bulk(rng, 279, 0.35, 0.66)
write("standout.csv", shuffled(standout, 1), 2)

rng = random.Random(16)
close = [0.722 - 0.002 * i / 9 for i in range(10)]
close += [0.705 + 0.0148 * rng.random() for _ in range(40)]
close += bulk(rng, 350, 0.35, 0.705)
write("top10_close.csv", shuffled(close, 3), 4)

rng = random.Random(17)
broken = [0.22 + 0.08 * rng.random() for _ in range(400)]
broken += [0.70, 0.695, 0.69]
broken += bulk(rng, 97, 0.45, 0.69)
write("mostly_broken.csv", shuffled(broken, 5), 6)

rng = random.Random(18)
write("small.csv", shuffled(qwen_like(rng, 60, 0.731), 7), 8)

rng = random.Random(19)
write("large.csv", shuffled(qwen_like(rng, 2000, 0.731), 9), 10)
