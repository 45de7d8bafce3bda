#!/usr/bin/env python3
"""Writes the synthetic trees of the gem method's robustness check (docs/GEM_METHOD.md).

Deterministic (fixed seeds), standard library only. Two shapes unlike the shipped trees:
  gem_method_wide.csv:   800 models, accuracies spread widely (Beta(2, 3) scaled to 0.15..0.85),
                         so the top is sparse;
  gem_method_narrow.csv: 80 models crowded within 3 points (0.50..0.53), so the top is dense.
Columns as data/trees: node_id, diameter_pt (popularity, random), routerbench_total_pct.
"""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))


def write(name, accs, seed):
    rng = random.Random(seed)
    with open(os.path.join(here, name), "w") as f:
        f.write("node_id,diameter_pt,routerbench_total_pct\n")
        for i, a in enumerate(accs):
            f.write(f"{i},{rng.uniform(5, 40):.3f},{100 * a:.2f}\n")


rng = random.Random(7)
write("gem_method_wide.csv", [0.15 + 0.7 * rng.betavariate(2, 3) for _ in range(800)], 8)
rng = random.Random(9)
write("gem_method_narrow.csv", [0.50 + 0.03 * rng.random() for _ in range(80)], 10)
