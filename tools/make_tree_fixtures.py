#!/usr/bin/env python3
"""Make the model-tree test fixtures in tests/fixtures/tree/ (issue 6).

A tiny Llama base (bf16, ~0.2 MB), real fine-tunes of it (a few AdamW steps each, on different
synthetic data, so the weights differ the way real fine-tunes do), PEFT LoRA adapters (different
r / lora_alpha / target_modules, one with rslora), candidates that must be refused (another
architecture, other shapes, an adapter trained for another base), and reference.json: for
fixed prompts, each model's last-position logits and greedy ids as computed by transformers /
peft in float32 ("eager" attention).

Deterministic: every random choice derives from --seed. Usage:
  .venv/bin/python tools/make_tree_fixtures.py [--out tests/fixtures/tree] [--seed 99]
Versions: tools/requirements-tools.txt (torch, transformers, peft, safetensors, tokenizers).
"""
import argparse
import json
import os
import random
import shutil

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
from peft import LoraConfig, PeftModel, get_peft_model

VOCAB = 320
GREEDY_NEW = 8


def corpus(kind, rng, n=64):
    """Synthetic 'domains' so that fine-tunes move the weights differently."""
    out = []
    for _ in range(n):
        if kind == "math":
            a, b = rng.randint(0, 99), rng.randint(0, 99)
            out.append(f"{a}+{b}={a + b}. {a}*2={a * 2}.")
        elif kind == "code":
            v = rng.choice("xyzabc")
            out.append(f"def f({v}): return {v}*{rng.randint(2, 9)}")
        elif kind == "chat":
            out.append(rng.choice(["hello there, how are you?", "the cat sat on the mat.",
                                   "good morning to you all!", "what a fine day it is."]))
        elif kind == "shout":
            out.append(rng.choice(["HELLO WORLD!!", "STOP THAT NOW!", "YES YES YES!", "OK GO!"]))
        elif kind == "list":
            out.append(", ".join(str(rng.randint(0, 9)) for _ in range(8)))
        elif kind == "rev":
            w = "".join(rng.choice("abcdef") for _ in range(6))
            out.append(f"{w} -> {w[::-1]}")
    return out


def make_tokenizer(out_dir, seed):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    rng = random.Random(seed)
    texts = sum((corpus(k, rng, 200) for k in ["math", "code", "chat", "shout", "list", "rev"]), [])
    tok.train_from_iterator(texts, trainer)
    assert tok.get_vocab_size() <= VOCAB, tok.get_vocab_size()
    path = os.path.join(out_dir, "tokenizer.json")
    tok.save(path)
    return tok


def write_tokenizer_files(model_dir, tok_src_dir):
    shutil.copy(os.path.join(tok_src_dir, "tokenizer.json"), model_dir)
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True,
                   "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=1)


def llama_config(**kw):
    args = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                bos_token_id=0, eos_token_id=1, attn_implementation="eager")
    args.update(kw)
    return LlamaConfig(**args)


def batches(tok, texts, bs=16, seq=24):
    ids = [[0] + tok.encode(t).ids[: seq - 1] for t in texts]
    for i in range(0, len(ids), bs):
        chunk = ids[i:i + bs]
        n = max(len(c) for c in chunk)
        x = torch.full((len(chunk), n), 1, dtype=torch.long)
        labels = torch.full((len(chunk), n), -100, dtype=torch.long)
        for j, c in enumerate(chunk):
            x[j, :len(c)] = torch.tensor(c)
            labels[j, :len(c)] = torch.tensor(c)
        yield x, labels


def train(model, tok, texts, steps, lr, params=None):
    model.train()
    opt = torch.optim.AdamW(params if params is not None else
                            [p for p in model.parameters() if p.requires_grad], lr=lr,
                            weight_decay=0.0)
    data = list(batches(tok, texts))
    for s in range(steps):
        x, labels = data[s % len(data)]
        loss = model(input_ids=x, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())


def load_f32(cls, path):
    return cls.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()


@torch.no_grad()
def reference(model, prompts):
    """Last-position logits of each prompt and GREEDY_NEW greedy ids (plain arg-max loop, no
    stop ids), plus the smallest top-1/top-2 logit margin met, to show the ids are robust."""
    out = {"last_logits": [], "greedy": [], "min_margin": 1e9}
    for p in prompts:
        ids = list(p)
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
        out["last_logits"].append([float(f"{v:.7g}") for v in logits.tolist()])
        gen = []
        for _ in range(GREEDY_NEW):
            lg = model(input_ids=torch.tensor([ids])).logits[0, -1]
            top = torch.topk(lg, 2)
            out["min_margin"] = min(out["min_margin"], float(top.values[0] - top.values[1]))
            nxt = int(torch.argmax(lg))
            gen.append(nxt)
            ids.append(nxt)
        out["greedy"].append(gen)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/tree")
    ap.add_argument("--seed", type=int, default=99)  # chosen: every top-1/top-2 margin > 1e-3
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    out = a.out
    if os.path.isdir(out):
        for name in os.listdir(out):
            if name != "README.md":
                p = os.path.join(out, name)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    os.makedirs(out, exist_ok=True)
    tok = make_tokenizer(out, a.seed)

    def save(model, name, dtype=torch.bfloat16):
        d = os.path.join(out, name)
        model.to(dtype).save_pretrained(d)
        write_tokenizer_files(d, out)
        model.to(torch.float32)
        return d

    # The base: random init, then a short "pre-training" on all domains so it is not pure noise.
    base = LlamaForCausalLM(llama_config()).eval()
    train(base, tok, sum((corpus(k, rng) for k in ["math", "code", "chat", "list"]), []),
          steps=120, lr=3e-3)
    base_dir = save(base, "base")

    # Full fine-tunes: each from the bf16 base (as a user would load it), a few AdamW steps.
    finetunes = {
        # all parameters, math data, stored bf16
        "ft_math": dict(data="math", steps=6, lr=1e-3, only=None, dtype=torch.bfloat16),
        # MLP + norms only (attention and embeddings unchanged: not stored), code data, bf16
        "ft_code": dict(data="code", steps=6, lr=1e-3, only=("mlp", "norm"), dtype=torch.bfloat16),
        # attention only, chat data, stored f16 (dtype differs from the base: 'raw' tensors)
        "ft_chat_f16": dict(data="chat", steps=6, lr=1e-3, only=("self_attn",),
                            dtype=torch.float16),
    }
    for name, spec in finetunes.items():
        m = load_f32(LlamaForCausalLM, base_dir)
        params = None
        if spec["only"]:
            for n_, p in m.named_parameters():
                p.requires_grad = any(k in n_ for k in spec["only"])
        train(m, tok, corpus(spec["data"], rng), steps=spec["steps"], lr=spec["lr"], params=params)
        save(m, name, spec["dtype"])

    # PEFT LoRA adapters on the bf16 base.
    adapters = {
        "lora_qv_r4": dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                           use_rslora=False, data="shout"),
        "lora_all_r8_rslora": dict(r=8, lora_alpha=16,
                                   target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                   "gate_proj", "up_proj", "down_proj"],
                                   use_rslora=True, data="list"),
        "lora_mlp_r2": dict(r=2, lora_alpha=6, target_modules=["o_proj", "gate_proj", "down_proj"],
                            use_rslora=False, data="rev"),
    }
    for name, spec in adapters.items():
        m = load_f32(LlamaForCausalLM, base_dir)
        cfg = LoraConfig(r=spec["r"], lora_alpha=spec["lora_alpha"],
                         target_modules=spec["target_modules"], use_rslora=spec["use_rslora"],
                         lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
        pm = get_peft_model(m, cfg)
        train(pm, tok, corpus(spec["data"], rng), steps=12, lr=1e-2)
        pm.save_pretrained(os.path.join(out, name))
        os.remove(os.path.join(out, name, "README.md"))  # PEFT's model-card template

    # Candidates that must be refused.
    # Another architecture (Qwen2, same sizes).
    qcfg = Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=256, tie_word_embeddings=False,
                       attn_implementation="eager")
    save(Qwen2ForCausalLM(qcfg).eval(), "bad_arch_qwen2")
    # Same architecture, other shapes (a different size of the family).
    small = LlamaForCausalLM(llama_config(intermediate_size=96)).eval()
    small_dir = save(small, "bad_shapes")
    # An adapter trained for that other base: its lora tensors do not fit ours.
    pm = get_peft_model(load_f32(LlamaForCausalLM, small_dir),
                        LoraConfig(r=4, lora_alpha=8, target_modules=["up_proj", "down_proj"],
                                   lora_dropout=0.0, task_type="CAUSAL_LM"))
    pm.save_pretrained(os.path.join(out, "bad_lora_shapes"))
    os.remove(os.path.join(out, "bad_lora_shapes", "README.md"))

    # References (float32: the bf16/f16 files read back exactly into f32).
    prompts = [[0] + tok.encode(t).ids for t in ["12+30=", "def f(x): return", "hello there"]]
    ref = {"prompts": prompts, "greedy_new_tokens": GREEDY_NEW, "models": {}}
    ref["models"]["base"] = reference(load_f32(LlamaForCausalLM, base_dir), prompts)
    for name in finetunes:
        ref["models"][name] = reference(load_f32(LlamaForCausalLM, os.path.join(out, name)),
                                        prompts)
    for name, spec in adapters.items():
        pm = PeftModel.from_pretrained(load_f32(LlamaForCausalLM, base_dir),
                                       os.path.join(out, name)).eval()
        r = reference(pm, prompts)
        r.update(r=spec["r"], lora_alpha=spec["lora_alpha"], use_rslora=spec["use_rslora"])
        ref["models"][name] = r
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f)
    os.remove(os.path.join(out, "tokenizer.json"))  # each model dir has its own copy

    # The manifest the tests register.
    manifest = {
        "gem_manifest": 1,
        "name": "tiny-llama-tree",
        "base": {"path": "base", "name": "tiny-llama-base", "downloads": 1000, "tags": ["base"]},
        "candidates": [
            {"path": "ft_math", "kind": "finetune", "name": "ft-math", "downloads": 12,
             "parent": "tiny-llama-base", "tags": ["math"]},
            {"path": "ft_code", "name": "ft-code", "downloads": 3},
            {"path": "ft_chat_f16", "name": "ft-chat-f16"},
            {"path": "lora_qv_r4", "kind": "adapter", "name": "lora-qv-r4", "tags": ["shout"]},
            {"path": "lora_all_r8_rslora", "name": "lora-all-r8-rslora"},
            {"path": "lora_mlp_r2", "name": "lora-mlp-r2"},
            {"path": "bad_arch_qwen2", "name": "bad-arch-qwen2"},
            {"path": "bad_shapes", "name": "bad-shapes"},
            {"path": "bad_lora_shapes", "name": "bad-lora-shapes"},
        ],
    }
    with open(os.path.join(out, "tree.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    for name, r in ref["models"].items():
        print(f"{name:22s} greedy={r['greedy']} min_margin={r['min_margin']:.4g}")


if __name__ == "__main__":
    main()
