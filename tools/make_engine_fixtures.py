#!/usr/bin/env python3
"""Tiny random-weight checkpoints + transformers reference outputs for the engine tests.

For each architecture the engine supports, builds a small model with transformers (fixed seed,
weights drawn wide enough that greedy decoding has clear winners), saves it in Hugging Face
format under tests/fixtures/engine/<name>/, and records in <name>/reference.json:
  * prompts: fixed token-id prompts,
  * logits:  transformers' f32 logits for every position of every prompt,
  * greedy:  the next GREEDY_TOKENS ids of greedy decoding (arg-max, no EOS stop),
  * min_margin: the smallest top-1/top-2 logit gap met along the greedy paths (a check that the
    greedy ids are not decided by rounding noise).

It also writes tiny_gguf/tiny-llama.gguf: the "llama" fixture's weights in a GGUF file the way
llama.cpp's converter lays them out (Q/K rows permuted for interleaved RoPE), with a mix of
tensor types (Q8_0, Q4_0, Q4_1, F16, BF16, F32), and its reference.json computed by
transformers' own GGUF loader (which dequantises with gguf-py); and tiny_gguf_k/tiny-llama-k.gguf,
a wider llama (hidden 256, so that 256-element K-quant blocks fit) in a Q4_K_M-like mix of Q4_K
and Q6_K with some Q5_0 / Q5_1 tensors (K-quants written by tools/ggml_kquants.py, since gguf-py
only dequantises them), with its reference from transformers' GGUF loader as well.

Usage (from the repo root, with the tools venv):
  .venv/bin/python tools/make_engine_fixtures.py [--out tests/fixtures/engine] [--only NAME ...]
(--only regenerates just the named fixtures, e.g. --only llama_f16 tiny_gguf_k.)
Pinned versions: tools/requirements-tools.txt.
"""
import argparse
import json
import os
import shutil

import gguf
import numpy as np
import torch
import transformers
from gguf import GGMLQuantizationType as Q
from safetensors.numpy import load_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

from ggml_kquants import quantize_q4_k, quantize_q6_k

VOCAB = 128
GREEDY_TOKENS = 8
PROMPTS = [
    [1, 17, 42, 99, 5],
    [3, 64, 64, 7, 120, 33, 8, 91, 2],
    [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22],
]

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)


def models():
    """(name, model class, config, save dtype, shard size)"""
    yield ("llama", LlamaForCausalLM,
           LlamaConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False), torch.float32, None)
    yield ("llama_bf16", LlamaForCausalLM,
           LlamaConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False), torch.bfloat16, None)
    yield ("llama_f16", LlamaForCausalLM,
           LlamaConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False), torch.float16, None)
    yield ("llama3", LlamaForCausalLM,
           LlamaConfig(**COMMON, rope_theta=500000.0, tie_word_embeddings=False,
                       rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 32}),
           torch.float32, None)
    # Mistral with a short sliding window so the window actually cuts the 12-token prompt; saved
    # in shards to exercise model.safetensors.index.json.
    yield ("mistral", MistralForCausalLM,
           MistralConfig(**COMMON, rope_theta=10000.0, sliding_window=6, tie_word_embeddings=False),
           torch.float32, "100KB")
    yield ("qwen2", Qwen2ForCausalLM,
           Qwen2Config(**COMMON, rope_theta=1000000.0, tie_word_embeddings=True,
                       use_sliding_window=False),
           torch.float32, None)


def randomize(model, seed, std=0.15):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def greedy(model, prompt, n):
    ids = list(prompt)
    margin = float("inf")
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ids])).logits[0, -1]
            top = torch.topk(logits, 2).values
            margin = min(margin, float(top[0] - top[1]))
            ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], margin


def reference(ref):
    logits, greedy_ids, margins = [], [], []
    with torch.no_grad():
        for p in PROMPTS:
            logits.append(ref(torch.tensor([p])).logits[0].tolist())
            g, m = greedy(ref, p, GREEDY_TOKENS)
            greedy_ids.append(g)
            margins.append(m)
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "prompts": PROMPTS, "greedy_tokens": GREEDY_TOKENS, "greedy": greedy_ids,
            "min_margin": min(margins), "logits": logits}


def permute(x, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute (q/k rows for interleaved RoPE)."""
    return (x.reshape(n_head, 2, x.shape[0] // n_head // 2, *x.shape[1:])
            .swapaxes(1, 2).reshape(x.shape))


def make_tiny_gguf(root):
    src = os.path.join(root, "llama")
    out = os.path.join(root, "tiny_gguf")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    weights = load_file(os.path.join(src, "model.safetensors"))
    path = os.path.join(out, "tiny-llama.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny-llama")
    write_gguf_header(w, cfg)
    top = {"model.embed_tokens.weight": ("token_embd.weight", Q.Q8_0),
           "model.norm.weight": ("output_norm.weight", Q.F32),
           "lm_head.weight": ("output.weight", Q.F16)}
    layer = {"input_layernorm.weight": ("attn_norm.weight", Q.F32),
             "self_attn.q_proj.weight": ("attn_q.weight", Q.Q4_0),
             "self_attn.k_proj.weight": ("attn_k.weight", Q.Q4_1),
             "self_attn.v_proj.weight": ("attn_v.weight", Q.Q8_0),
             "self_attn.o_proj.weight": ("attn_output.weight", Q.BF16),
             "post_attention_layernorm.weight": ("ffn_norm.weight", Q.F32),
             "mlp.gate_proj.weight": ("ffn_gate.weight", Q.Q4_1),
             "mlp.up_proj.weight": ("ffn_up.weight", Q.Q4_0),
             "mlp.down_proj.weight": ("ffn_down.weight", Q.F16)}
    for hf, arr in weights.items():
        if hf in top:
            name, qtype = top[hf]
        else:
            parts = hf.split(".")
            name, qtype = layer[".".join(parts[3:])]
            name = f"blk.{parts[2]}.{name}"
        a = arr.astype(np.float32)
        if hf.endswith("q_proj.weight"):
            a = permute(a, cfg["num_attention_heads"])
        if hf.endswith("k_proj.weight"):
            a = permute(a, cfg["num_key_value_heads"])
        w.add_tensor(name, gguf.quantize(a, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    ref = LlamaForCausalLM.from_pretrained(out, gguf_file="tiny-llama.gguf",
                                           dtype=torch.float32).eval()
    r = reference(ref)
    r["architecture"] = "LlamaForCausalLM (GGUF)"
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(r, f)
    print(f"tiny_gguf: min greedy margin {r['min_margin']:.4f}")


def write_gguf_header(w, cfg):
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_dimension_count(cfg["hidden_size"] // cfg["num_attention_heads"])
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])


def quantize(a, qtype):
    """gguf-py for the types it quantises, tools/ggml_kquants.py for Q4_K and Q6_K."""
    if qtype == Q.Q4_K:
        return quantize_q4_k(a)
    if qtype == Q.Q6_K:
        return quantize_q6_k(a)
    return gguf.quantize(a, qtype)


def make_tiny_gguf_k(root):
    """A Q4_K_M-like GGUF: hidden 256 (K-quant blocks are 256 wide), mostly Q4_K, Q6_K for the
    output, v and down projections, and Q5_0 / Q5_1 in layer 1."""
    out = os.path.join(root, "tiny_gguf_k")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    config = LlamaConfig(**dict(COMMON, hidden_size=256, intermediate_size=256),
                         rope_theta=10000.0, tie_word_embeddings=False)
    model = LlamaForCausalLM(config).to(torch.float32).eval()
    randomize(model, 3000, std=0.08)
    cfg = config.to_dict()
    path = os.path.join(out, "tiny-llama-k.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny-llama-k")
    write_gguf_header(w, cfg)
    top = {"model.embed_tokens.weight": ("token_embd.weight", Q.Q4_K),
           "model.norm.weight": ("output_norm.weight", Q.F32),
           "lm_head.weight": ("output.weight", Q.Q6_K)}
    layer = [{"input_layernorm.weight": ("attn_norm.weight", Q.F32),
              "self_attn.q_proj.weight": ("attn_q.weight", Q.Q4_K),
              "self_attn.k_proj.weight": ("attn_k.weight", Q.Q4_K),
              "self_attn.v_proj.weight": ("attn_v.weight", Q.Q6_K),
              "self_attn.o_proj.weight": ("attn_output.weight", Q.Q4_K),
              "post_attention_layernorm.weight": ("ffn_norm.weight", Q.F32),
              "mlp.gate_proj.weight": ("ffn_gate.weight", Q.Q4_K),
              "mlp.up_proj.weight": ("ffn_up.weight", Q.Q4_K),
              "mlp.down_proj.weight": ("ffn_down.weight", Q.Q6_K)},
             {"input_layernorm.weight": ("attn_norm.weight", Q.F32),
              "self_attn.q_proj.weight": ("attn_q.weight", Q.Q5_0),
              "self_attn.k_proj.weight": ("attn_k.weight", Q.Q5_1),
              "self_attn.v_proj.weight": ("attn_v.weight", Q.Q6_K),
              "self_attn.o_proj.weight": ("attn_output.weight", Q.Q5_0),
              "post_attention_layernorm.weight": ("ffn_norm.weight", Q.F32),
              "mlp.gate_proj.weight": ("ffn_gate.weight", Q.Q4_K),
              "mlp.up_proj.weight": ("ffn_up.weight", Q.Q5_1),
              "mlp.down_proj.weight": ("ffn_down.weight", Q.Q6_K)}]
    for hf, p in model.state_dict().items():
        if hf in top:
            name, qtype = top[hf]
        else:
            parts = hf.split(".")
            name, qtype = layer[int(parts[2])][".".join(parts[3:])]
            name = f"blk.{parts[2]}.{name}"
        a = p.detach().numpy().astype(np.float32)
        if hf.endswith("q_proj.weight"):
            a = permute(a, cfg["num_attention_heads"])
        if hf.endswith("k_proj.weight"):
            a = permute(a, cfg["num_key_value_heads"])
        w.add_tensor(name, quantize(a, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    ref = LlamaForCausalLM.from_pretrained(out, gguf_file="tiny-llama-k.gguf",
                                           dtype=torch.float32).eval()
    r = reference(ref)
    r["architecture"] = "LlamaForCausalLM (GGUF, K-quants)"
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(r, f)
    print(f"tiny_gguf_k: min greedy margin {r['min_margin']:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/fixtures/engine")
    ap.add_argument("--only", nargs="*", help="regenerate only these fixtures")
    args = ap.parse_args()
    want = (lambda name: not args.only or name in args.only)
    torch.manual_seed(0)
    for i, (name, cls, config, dtype, shard) in enumerate(models()):
        if not want(name):
            continue
        config.torch_dtype = "float32"
        model = cls(config).to(torch.float32).eval()
        # llama_bf16 and llama_f16: the same draw as "llama", rounded to their dtype below.
        same_as_llama = name in ("llama_bf16", "llama_f16")
        index = {"llama": 0, "llama_bf16": 1, "llama3": 2, "mistral": 3, "qwen2": 4}.get(name, i)
        randomize(model, 1000 + (0 if same_as_llama else index))
        out = os.path.join(args.out, name)
        shutil.rmtree(out, ignore_errors=True)
        saved = model.to(dtype)
        kwargs = {"max_shard_size": shard} if shard else {}
        saved.save_pretrained(out, **kwargs)
        # The reference runs in f32 on exactly the saved weights (bf16 upcast for llama_bf16).
        ref = cls.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
        r = reference(ref)
        r["architecture"] = cls.__name__
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(r, f)
        print(f"{name}: {cls.__name__} saved {dtype}, min greedy margin {r['min_margin']:.4f}")
    if want("tiny_gguf"):
        make_tiny_gguf(args.out)
    if want("tiny_gguf_k"):
        make_tiny_gguf_k(args.out)


if __name__ == "__main__":
    main()
