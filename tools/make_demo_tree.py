#!/usr/bin/env python3
"""Make the demo model tree in data/demo_tree/ (issue 8).

A tiny Llama (2 layers, hidden 64, tied embeddings, byte-level BPE with digits split, ChatML
chat template) trained from scratch on two-digit addition, then descendants of it: full
fine-tunes (HF directories, bf16) and PEFT LoRA adapters, trained so that a few are better at
addition than the base and most are not (too few steps, other data, noised, over-trained on a
handful of examples, a learning rate that breaks them), as the real trees of the paper's
Figure 4. Download counts are assigned after measuring: the base is the most downloaded, the
best descendant one of the least.

Outputs (all in --out):
  base/ (HF dir), ft_*/ (delta checkpoints: each full fine-tune as config.json + model.gemdelta,
  its lossless delta against base/, written by gem-delta; docs/DELTA_FORMAT.md), lora_*/ (PEFT
  dirs), tree.json (manifest, docs/MANIFEST.md),
  tasks/demo_add.jsonl (graded as a number) and tasks/demo_add_choice.jsonl (multiple choice),
  both in the custom task format gem-task/1 (docs/TASKS.md), and accuracies.csv: every model's
  accuracy on every task in both prompt variants, measured with transformers greedy decoding
  exactly as gem's engine evaluator asks (same chat rendering, token budget, stop ids, grader),
  plus the smallest top-1/top-2 logit margin met while decoding (a near-tie there is the only
  way a float32 engine could pick another token).

The fine-tunes are measured as the HF directories torch wrote, then stored as delta checkpoints
(gem-delta make, zstd level 19), so the build must have gem-delta:
  cmake -S . -B build && cmake --build build --target gem-delta

Deterministic: every random choice derives from --seed; CPU, one thread, deterministic torch
algorithms, and MKL, ATen and oneDNN pinned to their AVX2 code paths (below; needs an AVX2 CPU);
zstd's output is fixed for a given libzstd version and level (Debian 12: 1.5.4); a
second run writes the same bytes (checked: every file equal). About 4 minutes on a 2-core
machine (3.6 min of training, then measuring 35 models x 2 tasks x 2 variants). Usage:
  .venv/bin/python tools/make_demo_tree.py [--out data/demo_tree] [--seed 8] [--gem-delta BIN]
Versions: tools/requirements-tools.txt.
"""
import os

# Bit for bit across machines: without these, torch's float32 training takes the widest vector
# code the CPU has (AVX-512 here), and its sums round differently on a CPU without it; the tree
# this script wrote on one machine then did not come out of it on another. Pinned before torch
# loads: MKL's conditional numerical reproducibility (AVX2 code path), ATen's kernel dispatch and
# oneDNN's ISA, all at AVX2, which any x86-64 CPU of the last decade has (costs ~20% of speed here).
os.environ["MKL_CBWR"] = "AVX2"
os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"

import argparse  # noqa: E402 (after the numerics are pinned)
import csv
import json
import math
import random
import re
import shutil
import subprocess
import time
import warnings

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from transformers.utils import logging as hf_logging
from peft import LoraConfig, PeftModel, get_peft_model

hf_logging.disable_progress_bar()
warnings.filterwarnings("ignore", category=FutureWarning)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB = 320
MAX_NEW = 8  # the tasks' max_new_tokens
SYSTEM = "You are a careful calculator."
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


# ---------------------------------------------------------------- data

def numeric_prompt(a, b):
    return f"What is {a}+{b}?"


def choice_prompt(a, b, opts):
    return (f"What is {a}+{b}?\n" + "".join(f"{l}. {o}\n" for l, o in zip("ABCD", opts)) +
            "Answer with the letter.")


def choice_options(a, b, rng):
    s = a + b
    pool = [s + d for d in (1, -1, 10, -10, 11, -11, 2, -2) if s + d >= 0]
    opts = rng.sample(pool, 3) + [s]
    rng.shuffle(opts)
    return opts, "ABCD"[opts.index(s)]


def render(user, system=""):
    """RenderChat(kChatML, {system, user}) of libgem/src/tokenizer/chat.cc."""
    out = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    return out + f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def addition_examples(pairs, rng, op="+"):
    """(user, answer) pairs: both task formats, for the given (a, b) pairs."""
    out = []
    for a, b in pairs:
        if op == "+":
            if rng.random() < 0.5:
                out.append((numeric_prompt(a, b), str(a + b)))
            else:
                opts, letter = choice_options(a, b, rng)
                out.append((choice_prompt(a, b, opts), letter))
        elif op == "-":
            out.append((f"What is {max(a, b)}-{min(a, b)}?", str(max(a, b) - min(a, b))))
        elif op == "*":
            a, b = a % 13, b % 13
            out.append((f"What is {a}*{b}?", str(a * b)))
        elif op == "rev":
            out.append((f"Reverse {a:02d}{b:02d}.", f"{b:02d}{a:02d}"[::-1]))
        elif op == "chat":
            out.append((rng.choice(["Hello!", "How are you?", "What is your name?", "Thanks."]),
                        rng.choice(["Hi.", "Fine.", "Bob.", "OK."])))
    return out


# ---------------------------------------------------------------- tokenizer and model

def make_tokenizer(path, rng, train_pairs):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    texts = []
    for op in ["+", "+", "-", "*", "rev", "chat"]:
        for u, a in addition_examples(train_pairs[:300], rng, op):
            texts.append(render(u, SYSTEM) + a)
    tok.train_from_iterator(texts, trainer)
    tok.save(path)
    return tok


def write_tokenizer_files(model_dir, tok_path):
    shutil.copy(tok_path, os.path.join(model_dir, "tokenizer.json"))
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None,
                   "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                   "add_bos_token": False, "clean_up_tokenization_spaces": False,
                   "model_max_length": 64, "chat_template": CHAT_TEMPLATE}, f, indent=1)


def llama_config(tok):
    return LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                       max_position_embeddings=96, rms_norm_eps=1e-5, rope_theta=10000.0,
                       tie_word_embeddings=True, bos_token_id=None,
                       eos_token_id=tok.token_to_id("<|im_end|>"),
                       pad_token_id=tok.token_to_id("<|endoftext|>"),
                       attn_implementation="eager")


def encode_examples(tok, examples, rng):
    """Token ids and labels (loss on the answer and <|im_end|> only); half with the system turn."""
    end = tok.token_to_id("<|im_end|>")
    out = []
    for u, a in examples:
        prompt = tok.encode(render(u, SYSTEM if rng.random() < 0.5 else "")).ids
        ans = tok.encode(a).ids + [end]
        out.append((prompt + ans, [-100] * len(prompt) + ans))
    return out


def batch(encoded, idx, pad):
    n = max(len(encoded[i][0]) for i in idx)
    x = torch.full((len(idx), n), pad, dtype=torch.long)
    y = torch.full((len(idx), n), -100, dtype=torch.long)
    m = torch.zeros((len(idx), n), dtype=torch.long)
    for j, i in enumerate(idx):
        ids, lab = encoded[i]
        x[j, :len(ids)] = torch.tensor(ids)
        y[j, :len(lab)] = torch.tensor(lab)
        m[j, :len(ids)] = 1
    return x, y, m


def train(model, encoded, steps, lr, rng, pad, bs=32, params=None):
    model.train()
    opt = torch.optim.AdamW(params if params is not None else
                            [p for p in model.parameters() if p.requires_grad], lr=lr,
                            weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / max(steps, 1)))))
    for _ in range(steps):
        idx = [rng.randrange(len(encoded)) for _ in range(min(bs, len(encoded)))]
        x, y, m = batch(encoded, idx, pad)
        loss = model(input_ids=x, attention_mask=m, labels=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()


def load_f32(path):
    return LlamaForCausalLM.from_pretrained(path, dtype=torch.float32,
                                            attn_implementation="eager").eval()


# ---------------------------------------------------------------- graders (ports of libgem/src/task)

NUMBER = re.compile(r"(?<![0-9.])-?\$?(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def parse_number(s):
    s = "".join(c for c in s if c not in ",$" and not c.isspace()).rstrip(".")
    if not s or not any(c.isdigit() for c in s):
        return None
    if any(not (c.isdigit() or c in ".eE-+") for c in s[1 if s[0] in "+-" else 0:]):
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def grade_numeric(out, ref):
    if not out.strip(" \t\r\n"):
        return False
    for m in reversed(list(NUMBER.finditer(out))):
        v = parse_number(m.group(0))
        if v is None:
            continue
        return abs(v - float(ref)) <= 1e-6
    return False


def looks_like_article(out, pos, letter):
    if letter not in "AI":
        return False
    i = pos + 1
    if i >= len(out) or out[i] != " ":
        return False
    j = k = i + 1
    while k < len(out) and out[k].isascii() and out[k].islower():
        k += 1
    if k == j:
        return False
    return out[j:k] not in ("is", "was", "would", "should", "seems", "because", "since", "as",
                            "and", "or", "for")


def extract_choice(out, letters="ABCD"):
    cls = "[" + letters + "]"
    rules = [
        (r"(?i:answer)(?:\s+(?i:is|would be|should be))?\s*(?:[:\uFF1A]\s*)?(?i:option\s+)?"
         r"[\(\[\*]*(" + cls + r")(?![A-Za-z0-9])", False),
        (r"^\s*[\(\[\*]*(" + cls + r")(?![A-Za-z0-9'])", True),
        (r"\\boxed\{\s*(" + cls + r")\s*\}", False),
        (r"\((" + cls + r")\)", False),
        (r"(?<![A-Za-z0-9'])(" + cls + r")(?![A-Za-z0-9'])", True),
    ]
    for pattern, check in rules:
        for m in re.finditer(pattern, out):
            letter = m.group(1)
            if check and looks_like_article(out, m.start(1), letter):
                continue
            return letter
    return ""


def grade_choice(out, ref):
    if not out.strip(" \t\r\n"):
        return False
    return extract_choice(out) == ref


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, hf_tok, tasks, stop_ids):
    """Per task and variant: correct count; and the smallest top-1/top-2 margin met."""
    res = {}
    min_margin = float("inf")
    for tname, queries in tasks.items():
        for v in (0, 1):
            prompts = [hf_tok(render(q["prompt"], SYSTEM if v == 1 else ""),
                              add_special_tokens=False)["input_ids"] for q in queries]
            outs = [None] * len(prompts)
            by_len = {}
            for i, p in enumerate(prompts):
                by_len.setdefault(len(p), []).append(i)
            for n, idx in sorted(by_len.items()):
                x = torch.tensor([prompts[i] for i in idx])
                g = model.generate(input_ids=x, attention_mask=torch.ones_like(x),
                                   do_sample=False, max_new_tokens=MAX_NEW,
                                   eos_token_id=stop_ids, pad_token_id=stop_ids[0],
                                   output_scores=True, return_dict_in_generate=True)
                seqs = g.sequences[:, n:]
                for row, i in enumerate(idx):
                    toks = []
                    for s, t in enumerate(seqs[row].tolist()):
                        top = torch.topk(g.scores[s][row], 2).values
                        min_margin = min(min_margin, float(top[0] - top[1]))
                        if t in stop_ids:
                            break
                        toks.append(t)
                    outs[i] = hf_tok.decode(toks, skip_special_tokens=False,
                                            clean_up_tokenization_spaces=False)
            grade = grade_numeric if tname == "demo_add" else grade_choice
            res[(tname, v)] = sum(grade(o, q["answer"]) for o, q in zip(outs, queries))
    return res, min_margin


# ---------------------------------------------------------------- the tree

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/demo_tree")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--base-steps", type=int, default=400)
    ap.add_argument("--gem-delta", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin", "gem-delta"),
        help="the gem-delta binary that stores the fine-tunes as delta checkpoints")
    a = ap.parse_args()
    if not os.access(a.gem_delta, os.X_OK):  # fail now, not after 3 minutes of training
        ap.error(f"gem-delta not found at {a.gem_delta}: build it first (cmake -S . -B build && "
                 "cmake --build build --target gem-delta) or pass --gem-delta BIN")
    t_start = time.time()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    out = a.out
    if os.path.isdir(out):
        for name in os.listdir(out):
            if name != "README.md":
                p = os.path.join(out, name)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    os.makedirs(os.path.join(out, "tasks"), exist_ok=True)

    # Held-out evaluation pairs; everything trained on is disjoint from them.
    # The task: x+y for x < 15, y < 10, all 150 of them; a table a model this small can learn
    # in a few hundred steps. Training draws from the same pairs (the demo measures how well
    # each model has learnt the table, not generalisation).
    all_pairs = [(x, y) for x in range(15) for y in range(10)]
    rng.shuffle(all_pairs)
    eval_pairs = train_pairs = all_pairs

    tok_path = os.path.join(out, "tokenizer.json")
    tok = make_tokenizer(tok_path, rng, train_pairs)
    pad = tok.token_to_id("<|endoftext|>")
    stop_ids = sorted({tok.token_to_id(s) for s in ("<|endoftext|>", "<|im_end|>")})

    # Tasks (custom JSONL, gem-task/1).
    tasks = {"demo_add": [], "demo_add_choice": []}
    crng = random.Random(a.seed + 1)
    for k, (x, y) in enumerate(eval_pairs):
        tasks["demo_add"].append({"id": k, "prompt": numeric_prompt(x, y), "answer": str(x + y)})
        opts, letter = choice_options(x, y, crng)
        tasks["demo_add_choice"].append({"id": k, "prompt": choice_prompt(x, y, opts),
                                         "answer": letter})
    for tname, grader in (("demo_add", "numeric"), ("demo_add_choice", "choice")):
        with open(os.path.join(out, "tasks", tname + ".jsonl"), "w") as f:
            f.write(json.dumps({"format": "gem-task/1", "system": SYSTEM, "grader": grader,
                                "max_new_tokens": MAX_NEW}) + "\n")
            for q in tasks[tname]:
                f.write(json.dumps(q) + "\n")

    def save(model, name):
        d = os.path.join(out, name)
        model.to(torch.bfloat16).save_pretrained(d)
        model.to(torch.float32)
        write_tokenizer_files(d, tok_path)
        return d

    def data(op, n, pairs=None):
        r = random.Random(rng.random())
        ps = pairs if pairs is not None else [train_pairs[r.randrange(len(train_pairs))]
                                              for _ in range(n)]
        return encode_examples(tok, addition_examples(ps, r, op), r)

    # The base: from scratch, undertrained on addition (with a little of everything else).
    t0 = time.time()
    base = LlamaForCausalLM(llama_config(tok)).eval()
    base_data = data("+", 3000) + data("-", 200) + data("*", 200) + data("chat", 100)
    train(base, base_data, steps=a.base_steps, lr=3e-3,
          rng=rng, pad=pad)
    base_dir = save(base, "base")
    print(f"base trained in {time.time() - t0:.0f} s", flush=True)

    # Descendants. kind, training data, steps, lr, what they train, noise.
    add = lambda n=2000: data("+", n)  # noqa: E731
    specs = []
    for i, (steps, lr) in enumerate([(300, 3e-3), (220, 3e-3), (150, 2e-3)]):
        specs.append((f"ft_add_long{i}", "ft", dict(data=add(), steps=steps, lr=lr)))
    for i, steps in enumerate([3, 8]):
        specs.append((f"ft_add_short{i}", "ft", dict(data=add(), steps=steps, lr=1e-3)))
    for op in ["-", "*", "rev", "chat"]:
        name = {"-": "sub", "*": "mul", "rev": "rev", "chat": "chat"}[op]
        specs.append((f"ft_{name}", "ft", dict(data=data(op, 1000), steps=80, lr=3e-3)))
    for i, sigma in enumerate([0.02, 0.05, 0.12]):
        specs.append((f"ft_noised{i}", "ft", dict(data=None, steps=0, lr=0, noise=sigma)))
    specs.append(("ft_overfit_tiny", "ft", dict(data=add(24), steps=120, lr=5e-3)))
    specs.append(("ft_overfit_mul", "ft", dict(data=data("*", 40), steps=120, lr=5e-3)))
    specs.append(("ft_lr_broken", "ft", dict(data=add(), steps=40, lr=5e-2)))
    specs.append(("ft_mlp_only_add", "ft", dict(data=add(), steps=120, lr=3e-3, only=("mlp",))))
    specs.append(("ft_attn_only_sub", "ft", dict(data=data("-", 1000), steps=80, lr=3e-3,
                                                 only=("self_attn",))))
    lora_targets = {
        "qv": ["q_proj", "v_proj"],
        "all": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "mlp": ["gate_proj", "up_proj", "down_proj"],
    }
    for i, (r, tgt, steps, lr) in enumerate([(8, "all", 300, 1e-2), (4, "mlp", 250, 1e-2)]):
        specs.append((f"lora_add_{tgt}_r{r}", "lora",
                      dict(data=add(), steps=steps, lr=lr, r=r, targets=tgt)))
    for i, (r, tgt) in enumerate([(2, "qv"), (4, "all"), (8, "mlp")]):
        specs.append((f"lora_add_short{i}_{tgt}_r{r}", "lora",
                      dict(data=add(), steps=5, lr=5e-3, r=r, targets=tgt)))
    for op, tgt, r in [("-", "all", 4), ("*", "mlp", 8), ("rev", "qv", 4), ("chat", "all", 2),
                       ("-", "qv", 2), ("*", "all", 8), ("rev", "mlp", 4), ("chat", "qv", 8)]:
        name = {"-": "sub", "*": "mul", "rev": "rev", "chat": "chat"}[op]
        specs.append((f"lora_{name}_{tgt}_r{r}", "lora",
                      dict(data=data(op, 1000), steps=60, lr=1e-2, r=r, targets=tgt)))
    for i, (r, tgt) in enumerate([(4, "all"), (8, "qv")]):
        specs.append((f"lora_overfit{i}_{tgt}_r{r}", "lora",
                      dict(data=add(16), steps=120, lr=2e-2, r=r, targets=tgt)))
    specs.append(("lora_lr_broken_all_r8", "lora",
                  dict(data=add(), steps=30, lr=0.3, r=8, targets="all")))
    specs.append(("lora_rslora_add_all_r4", "lora",
                  dict(data=add(), steps=60, lr=5e-3, r=4, targets="all", rslora=True)))

    for name, kind, s in specs:
        t0 = time.time()
        torch.manual_seed(rng.randrange(2**31))
        m = load_f32(base_dir)
        if kind == "ft":
            if s.get("noise"):
                with torch.no_grad():
                    for p in m.parameters():
                        p.add_(torch.randn_like(p) * s["noise"] * p.std())
            else:
                if s.get("only"):
                    for pn, p in m.named_parameters():
                        p.requires_grad = any(k in pn for k in s["only"])
                train(m, s["data"], s["steps"], s["lr"], rng, pad)
            save(m, name)
        else:
            cfg = LoraConfig(r=s["r"], lora_alpha=2 * s["r"],
                             target_modules=lora_targets[s["targets"]],
                             use_rslora=s.get("rslora", False), lora_dropout=0.0, bias="none",
                             task_type="CAUSAL_LM")
            pm = get_peft_model(m, cfg)
            train(pm, s["data"], s["steps"], s["lr"], rng, pad)
            d = os.path.join(out, name)
            pm.save_pretrained(d)
            os.remove(os.path.join(d, "README.md"))  # PEFT's model-card template
            # PEFT writes the base's path as given; name it relative to the adapter instead, so
            # the file does not depend on where --out was.
            cfg_path = os.path.join(d, "adapter_config.json")
            with open(cfg_path) as f:
                acfg = json.load(f)
            acfg["base_model_name_or_path"] = "../base"
            # PEFT keeps target_modules as a set: its order follows Python's string hashing.
            acfg["target_modules"] = sorted(acfg["target_modules"])
            with open(cfg_path, "w") as f:
                json.dump(acfg, f, indent=2, sort_keys=True)
                f.write("\n")
        print(f"{name}: {time.time() - t0:.1f} s", flush=True)
    train_seconds = time.time() - t_start

    # Measure every model as gem's engine evaluator asks (float32, greedy; adapters merged).
    hf_tok = PreTrainedTokenizerFast.from_pretrained(base_dir)
    measured = {}
    for name, kind in [("base", "base")] + [(n, k) for n, k, _ in specs]:
        if kind in ("ft", "base"):
            m = load_f32(os.path.join(out, name))
        else:
            m = PeftModel.from_pretrained(load_f32(base_dir),
                                          os.path.join(out, name)).merge_and_unload().eval()
        measured[name] = evaluate(m, hf_tok, tasks, stop_ids)
        r = measured[name][0]
        print(f"{name:28s} add {r[('demo_add', 0)]:3d}/{r[('demo_add', 1)]:3d}  choice "
              f"{r[('demo_add_choice', 0)]:3d}/{r[('demo_add_choice', 1)]:3d}  "
              f"margin {measured[name][1]:.3g}", flush=True)

    # Store each full fine-tune as a delta checkpoint against the base (what the repository
    # ships); gem-delta checks that it rebuilds the measured weights bit for bit.
    for n, kind, _ in specs:
        if kind != "ft":
            continue
        d = os.path.join(out, n)
        subprocess.run([a.gem_delta, "make", "--base", base_dir, "--finetune", d,
                        "--out", d + ".delta", "--zstd-level", "19"], check=True,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(d)
        os.rename(d + ".delta", d)

    # Downloads: the base most popular; descendants heavy-tailed, the better at addition the
    # less downloaded among the best few (the hidden gem).
    score = {n: max(measured[n][0][("demo_add", 0)], measured[n][0][("demo_add", 1)])
             for n in measured}
    order = sorted((n for n, _, _ in specs), key=lambda n: -score[n])
    drng = random.Random(a.seed + 2)
    downloads = {"base": 184_203}
    for n, _, _ in specs:
        downloads[n] = int(10 ** drng.uniform(1.5, 4.3))
    for rank, n in enumerate(order[:3]):
        downloads[n] = [7, 41, 260][rank]

    manifest = {"gem_manifest": 1, "name": "demo-tree",
                "base": {"path": "base", "name": "demo-base", "downloads": downloads["base"],
                         "tags": ["base", "from-scratch"]},
                "candidates": []}
    for n, kind, s in specs:
        tags = [kind if kind == "lora" else "full-finetune"]
        manifest["candidates"].append({
            "path": n, "kind": "finetune" if kind == "ft" else "adapter",
            "name": n.replace("_", "-"), "downloads": downloads[n], "parent": "demo-base",
            "tags": tags})
    with open(os.path.join(out, "tree.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")

    with open(os.path.join(out, "accuracies.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "kind", "downloads", "task", "queries", "correct_no_system",
                    "correct_with_system", "accuracy", "min_logit_margin"])
        for n, kind in [("base", "base")] + [(n, k) for n, k, _ in specs]:
            r, margin = measured[n]
            for tname in tasks:
                c0, c1 = r[(tname, 0)], r[(tname, 1)]
                w.writerow(["demo-base" if n == "base" else n.replace("_", "-"),
                            {"base": "base", "ft": "finetune", "lora": "adapter"}[kind],
                            downloads[n], tname, len(tasks[tname]), c0, c1,
                            f"{max(c0, c1) / len(tasks[tname]):.4f}", f"{margin:.4g}"])
    os.remove(tok_path)
    print(f"training {train_seconds:.0f} s, total {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
