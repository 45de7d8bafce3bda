#!/usr/bin/env python3
"""Writes the first N decoder layers of a llama-family GGUF as a GGUF of its own.

    python3 tools/slice_gguf.py --layers 6 IN.gguf OUT.gguf

Everything else is kept byte for byte: the metadata (with <arch>.block_count set to N), the
embeddings, the final norm, the head, the tokenizer, and the tensors of layers 0..N-1 in their
stored types. The result is a real model of the same widths with fewer layers; scripts/
gpu-check.sh uses it to bring SmolLM2's real weights and shapes to a GPU machine inside the
bundle's 64 MiB (the whole Q4_1 file is 98 MB).

Only the Python standard library: it runs wherever the bundle is made.
The GGUF layout (v2/v3) is that of ggml's docs/gguf.md.
"""
import argparse
import re
import struct
import sys

# ggml types we may meet: (block elements, block bytes).
TYPE_SIZES = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    30: (1, 2),  # BF16
}

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
          11: "<q", 12: "<d"}


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            sys.exit(f"slice_gguf: truncated at byte {self.pos}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        return self.take(self.unpack("<Q")).decode("utf-8")

    def value(self, vtype):
        """Returns the raw bytes of one value of vtype (and its Python value for scalars)."""
        start = self.pos
        val = None
        if vtype in SCALAR:
            val = self.unpack(SCALAR[vtype])
        elif vtype == 8:
            val = self.string()
        elif vtype == 9:
            etype = self.unpack("<I")
            n = self.unpack("<Q")
            for _ in range(n):
                self.value(etype)
        else:
            sys.exit(f"slice_gguf: unknown metadata type {vtype}")
        return self.data[start:self.pos], val


def pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, required=True, help="decoder layers to keep (>= 1)")
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    with open(args.input, "rb") as f:
        data = f.read()
    r = Reader(data)
    if r.take(4) != b"GGUF":
        sys.exit(f"slice_gguf: {args.input} is not a GGUF file")
    version = r.unpack("<I")
    if version not in (2, 3):
        sys.exit(f"slice_gguf: GGUF version {version} not supported")
    n_tensors = r.unpack("<Q")
    n_kv = r.unpack("<Q")

    kvs = []  # (key, vtype, raw value bytes)
    arch, alignment, block_count = None, 32, None
    for _ in range(n_kv):
        key = r.string()
        vtype = r.unpack("<I")
        raw, val = r.value(vtype)
        kvs.append((key, vtype, raw))
        if key == "general.architecture":
            arch = val
        elif key == "general.alignment":
            alignment = val
    for key, vtype, raw in kvs:
        if arch is not None and key == f"{arch}.block_count":
            block_count = struct.unpack(SCALAR[vtype], raw)[0]
    if block_count is None:
        sys.exit(f"slice_gguf: {args.input} has no <arch>.block_count")
    if not 1 <= args.layers <= block_count:
        sys.exit(f"slice_gguf: --layers must be in [1, {block_count}]")

    tensors = []  # (name, dims, type, offset)
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("<I")
        dims = [r.unpack("<Q") for _ in range(n_dims)]
        ttype = r.unpack("<I")
        offset = r.unpack("<Q")
        tensors.append((name, dims, ttype, offset))
    data_start = (r.pos + alignment - 1) // alignment * alignment

    def nbytes(dims, ttype):
        if ttype not in TYPE_SIZES:
            sys.exit(f"slice_gguf: tensor type {ttype} not supported")
        block, size = TYPE_SIZES[ttype]
        n = 1
        for d in dims:
            n *= d
        return n // block * size

    layer = re.compile(r"^blk\.(\d+)\.")
    kept = []
    for name, dims, ttype, offset in tensors:
        m = layer.match(name)
        if m and int(m.group(1)) >= args.layers:
            continue
        kept.append((name, dims, ttype, offset, nbytes(dims, ttype)))

    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", version, len(kept), len(kvs))
    for key, vtype, raw in kvs:
        out += pack_string(key) + struct.pack("<I", vtype)
        if arch is not None and key == f"{arch}.block_count":
            raw = struct.pack(SCALAR[vtype], args.layers)
        out += raw
    new_offset = 0
    placed = []
    for name, dims, ttype, offset, size in kept:
        out += pack_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ttype, new_offset)
        placed.append((offset, size, new_offset))
        new_offset = (new_offset + size + alignment - 1) // alignment * alignment
    out += b"\0" * ((len(out) + alignment - 1) // alignment * alignment - len(out))
    base = len(out)
    out += b"\0" * new_offset
    for offset, size, dst in placed:
        out[base + dst:base + dst + size] = data[data_start + offset:data_start + offset + size]
    with open(args.output, "wb") as f:
        f.write(out)
    print(f"slice_gguf: {args.output}: {args.layers} of {block_count} layers, "
          f"{len(kept)} of {len(tensors)} tensors, {len(out)} bytes")


if __name__ == "__main__":
    main()
