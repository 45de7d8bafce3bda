#!/usr/bin/env python3
"""Writes a random-weight Llama of a real model's shape, for memory and speed checks without
downloads: a bf16 Hugging Face directory and a Q4_K_M-style GGUF of the same weights.

Shape "1b" is Llama-3.2-1B's (hidden 2048, MLP 8192, 16 layers, 32 heads / 8 KV heads, vocab
128256, tied embeddings; without its rope scaling): 1.24 billion parameters, a 2.5 GB bf16
checkpoint. Shape "tiny" (hidden 256, 2 layers) is for trying the script itself.

Weights are N(0, 0.02) (norms 1), drawn per tensor from a seed and the tensor's name, so every
run writes the same files. The GGUF holds the bf16 values quantised the way llama.cpp's Q4_K_M
mixes types: Q4_K everywhere except Q6_K for attn_v and ffn_down in the first and last eighth of
the layers and every third layer between (llama.cpp's use_more_bits rule); norms F32; q/k rows
permuted for llama.cpp's interleaved RoPE. K-quant blocks come from tools/ggml_kquants.py.

Not committed anywhere: bench/engine/bench_1b.sh makes the files on demand under
build/bench-models/ (about 3.3 GB; a few minutes and ~3 GB of memory on one core).

With --bf16-gguf it also writes the bf16 values as a GGUF (llama.cpp reads only GGUF), so
another engine can run the very same weights. Outputs already present are kept (seed 0: the
safetensors is read back rather than drawn again).

Usage: python tools/make_random_llama.py --out DIR [--shape 1b|tiny] [--seed 0] [--bf16-gguf]
Needs numpy and gguf (tools/requirements-tools.txt); no torch.
"""
import argparse
import json
import os
import struct
import sys
import time
import zlib

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ggml_kquants import quantize_q4_k, quantize_q6_k  # noqa: E402

SHAPES = {
    "1b": dict(hidden=2048, inter=8192, layers=16, heads=32, kv_heads=8, vocab=128256),
    "tiny": dict(hidden=256, inter=512, layers=2, heads=4, kv_heads=2, vocab=1024),
}


def tensors(s):
    """(HF name, shape) in checkpoint order."""
    h, i, hd = s["hidden"], s["inter"], s["hidden"] // s["heads"]
    yield "model.embed_tokens.weight", (s["vocab"], h)
    for l in range(s["layers"]):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", (h,)
        yield p + "self_attn.q_proj.weight", (s["heads"] * hd, h)
        yield p + "self_attn.k_proj.weight", (s["kv_heads"] * hd, h)
        yield p + "self_attn.v_proj.weight", (s["kv_heads"] * hd, h)
        yield p + "self_attn.o_proj.weight", (h, s["heads"] * hd)
        yield p + "post_attention_layernorm.weight", (h,)
        yield p + "mlp.gate_proj.weight", (i, h)
        yield p + "mlp.up_proj.weight", (i, h)
        yield p + "mlp.down_proj.weight", (h, i)
    yield "model.norm.weight", (h,)


def bf16_values(name, shape, seed):
    """The tensor as bf16 bits (uint16) and the f32 values they stand for."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if len(shape) == 1:
        x = np.ones(shape, dtype=np.float32)
    else:
        x = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
    bits = x.view(np.uint32)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    return bits, (bits.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, items):
    """items: [(name, shape, uint16 bf16 bits)], written one at a time."""
    header, offset = {}, 0
    for name, shape, _ in items:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, _, bits in items:
            f.write(bits.tobytes())


def config_json(s):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": s["hidden"], "intermediate_size": s["inter"],
            "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
            "num_key_value_heads": s["kv_heads"], "head_dim": s["hidden"] // s["heads"],
            "vocab_size": s["vocab"], "max_position_embeddings": 131072,
            "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "rope_scaling": None,
            "tie_word_embeddings": True, "torch_dtype": "bfloat16", "bos_token_id": 1,
            "eos_token_id": 2, "attention_bias": False, "mlp_bias": False}


def permute(x, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute (q/k rows for interleaved RoPE)."""
    return (x.reshape(n_head, 2, x.shape[0] // n_head // 2, *x.shape[1:])
            .swapaxes(1, 2).reshape(x.shape))


def more_bits(layer, n):
    return layer < n // 8 or layer >= 7 * n // 8 or (layer - n // 8) % 3 == 2


def gguf_name_and_type(hf, s):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight", Q.Q4_K
    if hf == "model.norm.weight":
        return "output_norm.weight", Q.F32
    parts = hf.split(".")
    layer, rest = int(parts[2]), ".".join(parts[3:])
    names = {"input_layernorm.weight": "attn_norm", "self_attn.q_proj.weight": "attn_q",
             "self_attn.k_proj.weight": "attn_k", "self_attn.v_proj.weight": "attn_v",
             "self_attn.o_proj.weight": "attn_output", "post_attention_layernorm.weight": "ffn_norm",
             "mlp.gate_proj.weight": "ffn_gate", "mlp.up_proj.weight": "ffn_up",
             "mlp.down_proj.weight": "ffn_down"}
    g = names[rest]
    if g.endswith("norm"):
        qtype = Q.F32
    elif g in ("attn_v", "ffn_down") and more_bits(layer, s["layers"]):
        qtype = Q.Q6_K
    else:
        qtype = Q.Q4_K
    return f"blk.{layer}.{g}.weight", qtype


def read_safetensors_bits(path, s):
    """The bf16 bits of an existing output (same names and shapes), memory-mapped; else None."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except (OSError, ValueError):
        return None
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    items = []
    for name, shape in tensors(s):
        h = header.get(name)
        if h is None or h["dtype"] != "BF16" or tuple(h["shape"]) != tuple(shape):
            return None
        a, b = h["data_offsets"]
        items.append((name, shape, data[a:b].view(np.uint16).reshape(shape)))
    return items


def write_gguf(path, items, s, name, file_type, type_of):
    """The values as a GGUF for llama.cpp's loader (q/k rows permuted); type_of(hf name) gives
    each tensor's type: F32, BF16, Q4_K or Q6_K."""
    w = gguf.GGUFWriter(path + ".tmp", "llama")
    w.add_name(name)
    w.add_context_length(131072)
    w.add_embedding_length(s["hidden"])
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["inter"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_rope_dimension_count(s["hidden"] // s["heads"])
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(s["vocab"])
    w.add_file_type(file_type)
    # No vocabulary (benches feed token ids); llama.cpp loads such a file when told so.
    w.add_tokenizer_model("no_vocab")
    for hf, shape, bits in items:
        gname, qtype = type_of(hf)
        if qtype == Q.BF16:
            values = np.asarray(bits)
        else:
            values = (np.asarray(bits).astype(np.uint32) << 16).view(np.float32)
        if hf.endswith("q_proj.weight"):
            values = permute(values, s["heads"])
        elif hf.endswith("k_proj.weight"):
            values = permute(values, s["kv_heads"])
        if qtype == Q.F32:
            w.add_tensor(gname, values)
        elif qtype == Q.BF16:
            w.add_tensor(gname, np.ascontiguousarray(values), raw_dtype=Q.BF16)
        else:
            quant = quantize_q4_k if qtype == Q.Q4_K else quantize_q6_k
            q = np.concatenate([quant(values[r:r + 4096]) for r in range(0, shape[0], 4096)])
            w.add_tensor(gname, q, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--shape", default="1b", choices=sorted(SHAPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16-gguf", action="store_true",
                    help="also write the bf16 values as a GGUF (for engines that read only GGUF, "
                         "e.g. llama.cpp side by side)")
    args = ap.parse_args()
    s = SHAPES[args.shape]
    hf_dir = os.path.join(args.out, f"llama-{args.shape}-random-bf16")
    gguf_path = os.path.join(args.out, f"llama-{args.shape}-random-q4_k_m.gguf")
    bf16_gguf_path = os.path.join(args.out, f"llama-{args.shape}-random-bf16.gguf")
    os.makedirs(hf_dir, exist_ok=True)
    t0 = time.time()

    # bf16 safetensors (all tensors drawn once, kept as bf16 bits: 2 bytes per weight). Files
    # already written by an earlier run (same seed, same values) are kept and read back.
    st_path = os.path.join(hf_dir, "model.safetensors")
    items = read_safetensors_bits(st_path, s) if args.seed == 0 else None
    if items is None:
        items = []
        for name, shape in tensors(s):
            bits, _ = bf16_values(name, shape, args.seed)
            items.append((name, shape, bits))
        write_safetensors(st_path + ".tmp", items)
        os.replace(st_path + ".tmp", st_path)
        print(f"{hf_dir}: {sum(b.nbytes for _, _, b in items) / 1e9:.2f} GB bf16 "
              f"({time.time() - t0:.0f} s)", flush=True)
    with open(os.path.join(hf_dir, "config.json"), "w") as f:
        json.dump(config_json(s), f, indent=2)

    # The same values, Q4_K_M-style.
    if not os.path.exists(gguf_path):
        write_gguf(gguf_path, items, s, f"llama-{args.shape}-random",
                   gguf.LlamaFileType.MOSTLY_Q4_K_M, lambda hf: gguf_name_and_type(hf, s))
        print(f"{gguf_path}: {os.path.getsize(gguf_path) / 1e9:.2f} GB "
              f"({time.time() - t0:.0f} s)", flush=True)
    if args.bf16_gguf and not os.path.exists(bf16_gguf_path):
        def bf16_type(hf):
            gname, qtype = gguf_name_and_type(hf, s)
            return gname, Q.F32 if qtype == Q.F32 else Q.BF16
        write_gguf(bf16_gguf_path, items, s, f"llama-{args.shape}-random-bf16",
                   gguf.LlamaFileType.MOSTLY_BF16, bf16_type)
        print(f"{bf16_gguf_path}: {os.path.getsize(bf16_gguf_path) / 1e9:.2f} GB "
              f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
