#!/usr/bin/env python3
"""Random mixed-script strings and their ids from the HF `tokenizers` library (the reference).

Writes hf-random.jsonl (one JSON string per line) and hf-random-<name>.out (one line of
space-separated ids per string, leading space) for the three tokenizer.json files in
../shared/data/tokenizers, with encode(text, add_special_tokens=False).
The strings mix ASCII, digits, contractions in both cases, whitespace runs, CJK, Cyrillic,
Hangul, emoji with ZWJ, Unicode numbers, decomposed accents (NFC matters for Qwen), ligatures
and case-folding oddities ('ſ', Kelvin sign).
Usage: .venv/bin/python tests/tokenizer/reference/make_hf_random_vectors.py SHARED_TOKENIZERS OUT_DIR [N] [SEED]
"""
import json
import os
import random
import sys

from tokenizers import Tokenizer

POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789", " ", "  ", "\n", "\t", "\r\n", "'s", "'T", "'ll", "'RE",
    ".,;:!?-()[]{}<>\"'`~@#$%^&*_+=/\\|",
    "äöüßéèêçñÅØæœ", "нещоБългарски", "中文字符我想在工作", "日本語のテキスト", "한국어",
    "🦙🚀😁✅😶\u200d🌫️", "½²³¼", "\u00a0\u2003\u3000", "e\u0301a\u0308", "\u200b\u200d",
    "ﬁﬂ", "ǅǈ", "ſ\u212a",
]
NAMES = ["llama-3-instruct", "qwen3", "mistral-7b-v0.1"]


def main():
    shared, out_dir = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    random.seed(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    texts = []
    for _ in range(n):
        k = random.randint(1, 40)
        texts.append("".join(
            random.choice(random.choice(POOLS)) if random.random() < 0.7 else random.choice(POOLS)
            for _ in range(k)))
    with open(os.path.join(out_dir, "hf-random.jsonl"), "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    for name in NAMES:
        tok = Tokenizer.from_file(os.path.join(shared, name, "tokenizer.json"))
        with open(os.path.join(out_dir, f"hf-random-{name}.out"), "w") as f:
            for t in texts:
                f.write("".join(" %d" % i for i in tok.encode(t, add_special_tokens=False).ids) + "\n")
    print(f"{n} strings")


if __name__ == "__main__":
    main()
