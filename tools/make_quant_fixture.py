#!/usr/bin/env python3
"""Writes tests/fixtures/engine/quant_blocks/quant-blocks.gguf: ggml blocks of every weight type
the engine reads, next to gguf-py's dequantisation of them, for a bit-for-bit test of ours.

For each type T the file holds two tensors of 4 rows x 512 elements:
  "<t>.q"    the blocks, stored as type T;
  "<t>.ref"  F32: gguf.dequantize("<t>.q") (gguf-py's numpy code, which transformers' GGUF loader
             uses).
Blocks of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, BF16 and F16 come from gguf-py's own quantize() of seeded
normal values (rows of different scales, one all-zero block, one constant block). gguf-py cannot
quantise Q4_K and Q6_K, so their blocks are seeded random bytes (every code and scale bit pattern)
with finite f16 scales (normal, subnormal and negative ones), plus blocks from
tools/ggml_kquants.py.

Usage (from the repo root, with the tools venv):
  .venv/bin/python tools/make_quant_fixture.py [--out tests/fixtures/engine/quant_blocks]
Pinned versions: tools/requirements-tools.txt (gguf, numpy).
"""
import argparse
import os
from importlib import metadata

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

from ggml_kquants import quantize_q4_k, quantize_q6_k

ROWS, COLS = 4, 512


def values(rng):
    x = rng.normal(size=(ROWS, COLS)).astype(np.float32)
    x *= np.array([0.02, 0.5, 3.0, 100.0], dtype=np.float32)[:, None]
    x[1, 32:64] = 0.0    # a zero block (scale 0)
    x[2, 64:96] = 1.25   # a constant block (Q4_1/Q5_1: range 0)
    return x


def random_k_blocks(rng, qtype):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(ROWS * COLS // block, size), dtype=np.uint8)
    # f16 fields: finite values of both signs, some subnormal.
    halves = rng.normal(size=raw.shape[0] * 2).astype(np.float32) * 0.01
    halves[::7] = 3e-6  # subnormal in f16
    halves = halves.astype(np.float16).view(np.uint8).reshape(-1, 2, 2)
    if qtype == Q.Q4_K:    # d, dmin at bytes 0..3
        raw[:, 0:2] = halves[:, 0]
        raw[:, 2:4] = halves[:, 1]
    else:                  # Q6_K: d at bytes 208..209
        raw[:, 208:210] = halves[:, 0]
    return raw.reshape(ROWS, -1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/fixtures/engine/quant_blocks")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(14)
    w = gguf.GGUFWriter(os.path.join(args.out, "quant-blocks.gguf"), "quant-blocks")
    w.add_string("gem.fixture", "ggml blocks and gguf-py's dequantisation "
                 f"(gguf {metadata.version('gguf')}, numpy {np.__version__})")
    for qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.BF16, Q.F16, Q.Q4_K, Q.Q6_K):
        if qtype in (Q.Q4_K, Q.Q6_K):
            blocks = random_k_blocks(rng, qtype)
            ours = (quantize_q4_k if qtype == Q.Q4_K else quantize_q6_k)(values(rng))
            blocks[ROWS // 2:] = ours[ROWS // 2:]  # half random bytes, half real quantisations
        else:
            blocks = gguf.quantize(values(rng), qtype)
        ref = gguf.dequantize(blocks, qtype).astype(np.float32)
        name = qtype.name.lower()
        if qtype == Q.F16:
            w.add_tensor(f"{name}.q", blocks)
        else:
            w.add_tensor(f"{name}.q", blocks, raw_dtype=qtype)
        w.add_tensor(f"{name}.ref", ref)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", os.path.join(args.out, "quant-blocks.gguf"))


if __name__ == "__main__":
    main()
