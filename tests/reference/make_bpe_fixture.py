#!/usr/bin/env python3
"""Writes tests/fixtures/bpe_expected.txt: the GPT-2 token ids of tests/fixtures/bpe_text.txt as
minGPT's mingpt/bpe.py computes them, for tests/test_bpe.c to match id for id.

This is bpe.py's algorithm restated (bpe.py itself imports torch and requests, which a test
fixture does not need): the `regex` module runs GPT-2's pattern, each pre-token's UTF-8 bytes go
through bytes_to_unicode, and the lowest-ranked pair is merged everywhere, left to right, until no
pair is a merge. Needs python3-regex (Debian) and the vocabulary in data/gpt2/.

usage: python3 tests/reference/make_bpe_fixture.py   (from the repository root)
"""
import json

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_alphabet():
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def merge_word(symbols, ranks):
    """bpe.py's loop: merge every occurrence of the lowest-ranked adjacent pair, then repeat."""
    while len(symbols) > 1:
        pairs = {(a, b) for a, b in zip(symbols, symbols[1:])}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def encode(text, encoder, ranks, alphabet):
    ids = []
    for piece in PATTERN.findall(text):
        symbols = [alphabet[b] for b in piece.encode("utf-8")]
        ids.extend(encoder[s] for s in merge_word(symbols, ranks))
    return ids


def main():
    with open("data/gpt2/encoder.json", encoding="utf-8") as f:
        encoder = json.load(f)
    with open("data/gpt2/vocab.bpe", encoding="utf-8") as f:
        lines = f.read().split("\n")[1:-1]  # as bpe.py: past "#version: 0.2", before the final newline
    ranks = {tuple(line.split()): i for i, line in enumerate(lines)}
    with open("tests/fixtures/bpe_text.txt", encoding="utf-8", newline="") as f:
        text = f.read()
    ids = encode(text, encoder, ranks, byte_alphabet())
    with open("tests/fixtures/bpe_expected.txt", "w") as f:
        f.write(" ".join(map(str, ids)) + "\n")
    print(f"{len(text)} characters, {len(text.encode('utf-8'))} bytes -> {len(ids)} tokens "
          f"(regex {regex.__version__})")


if __name__ == "__main__":
    main()
