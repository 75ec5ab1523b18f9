#!/usr/bin/python3
"""Trains a small, deterministic BPE tokenizer.json in the layout of a model family.

We may not commit third-party vocabularies, so the test fixtures and the random benchmark models
carry tokenizers trained here, on English-ish text this script generates itself (sentences about
shapes, colours and captions, digits, punctuation). The output has exactly the structure of the
family's real tokenizer.json and the family's special tokens in their relative layout:

  smolvlm   : SmolVLM/SmolLM2 style. ByteLevel BPE, pre-tokenizer Sequence[Digits(individual),
              ByteLevel], ByteLevel decoder, no normalizer, no post-processor. Ids:
              <|endoftext|> 0, <|im_start|> 1, <|im_end|> 2, the 256 byte symbols, the merges,
              optional filler up to --fill-to, then the added tokens <global-img>,
              <row_r_col_c> x36, <fake_token_around_image>, <image>,
              <|reserved_special_token_i|> x --reserved, <end_of_utterance> (last).
              "\\n\\n" is always one token (its merge is forced).
  paligemma : Gemma/SentencePiece style. BPE with byte_fallback (<0x00>..<0xFF>), normalizer
              Replace(" " -> "\u2581"), pre-tokenizer Split(" ", MergedWithPrevious), decoder
              Sequence[Replace("\u2581" -> " "), ByteFallback, Fuse], TemplateProcessing adding
              <bos>. Ids: <pad> 0, <eos> 1, <bos> 2, <unk> 3, the byte tokens, the pieces,
              optional filler up to --fill-to, <loc0000>..<loc1023>, <seg000>..<seg127>, <image>.

--vocab N is the size of the trained part (ids 0..N-1: specials, bytes, pieces/merges);
--fill-to M (>= N) pads it with never-produced filler tokens so that the family's trailing
tokens land on their real ids (SmolVLM: 49152; PaliGemma: 256000).

Same arguments, same bytes: the corpus comes from a seeded random.Random, ties between equally
frequent pairs go to the lexicographically smallest pair, JSON is written with a fixed layout.

Usage: train_tokenizer.py --family smolvlm --vocab 400 --out /tmp/tokenizer.json
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import re
from typing import Dict, Iterable, List, Tuple

SMOL_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]
SPACE = "\u2581"

# Words that prompts in the fixtures use, so that they tokenize into a few pieces.
_COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "grey",
            "pink", "brown", "cyan"]
_SHAPES = ["circle", "square", "triangle", "rectangle", "star", "line", "dot", "ring",
           "stripe", "box", "shape", "pattern"]
_PLACES = ["left", "right", "top", "bottom", "middle", "centre", "corner", "edge", "background"]
_SIZES = ["small", "large", "tiny", "big", "thin", "wide", "tall", "short"]
_VERBS = ["shows", "contains", "has", "depicts", "displays", "holds"]
_TEMPLATES = [
    "The image shows a {size} {colour} {shape} in the {place}.",
    "A {colour} {shape} is next to a {size} {colour2} {shape2}.",
    "This picture {verb} {n} {colour} {shape}s on a {colour2} background.",
    "What colour is the {shape} in the {place}?",
    "Can you describe this image?",
    "Describe the {shape} at the {place} of the image.",
    "caption en",
    "caption en {colour} {shape}",
    "answer en what is in the image?",
    "answer en how many {shape}s are there? {n}",
    "detect {shape} ; {colour} {shape2}",
    "There are {n} {shape}s and {m} {shape2}s.",
    "User: {text} Assistant: {text2}",
    "The {colour} {shape} is {size}, the {shape2} is {colour2}!",
    "Is the {shape} {colour}? Yes, it is {colour}.",
    "Count the {shape}s: {n}, {m}, {k}.",
    "It was {n}:{m}{k} when the {colour} {shape} appeared (page {n}{m}).",
    "Colours: {colour}, {colour2} and {colour}; shapes: {shape} / {shape2}.",
    "\"{colour}\" - a {size} {shape} - is in image {n}.",
    "What is in these images? Compare the first and the second image.",
]


def generate_corpus(seed: int, lines: int = 4000) -> List[str]:
    """English-ish sentences about shapes and colours; deterministic for a seed."""
    rng = random.Random(seed)

    def fill(template: str) -> str:
        return template.format(
            size=rng.choice(_SIZES), colour=rng.choice(_COLOURS), colour2=rng.choice(_COLOURS),
            shape=rng.choice(_SHAPES), shape2=rng.choice(_SHAPES), place=rng.choice(_PLACES),
            verb=rng.choice(_VERBS), n=rng.randint(0, 99), m=rng.randint(0, 9),
            k=rng.randint(0, 9), text=rng.choice(_SHAPES), text2=rng.choice(_COLOURS))

    out = []
    for _ in range(lines):
        sentence = fill(rng.choice(_TEMPLATES))
        if rng.random() < 0.3:
            sentence = sentence[0].upper() + sentence[1:]
        out.append(sentence)
    return out


# ---------------------------------------------------------------------------------------------
# Byte-level (GPT-2) alphabet.


def bytes_to_unicode() -> Dict[int, str]:
    """The GPT-2 byte -> printable character table, in its usual order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) +
                 list(range(ord("\xae"), ord("\xff") + 1)))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, codes)}


# The GPT-2 pre-tokenizer regex, restricted to the ASCII text the corpus holds (Python's `re`
# has no \p{L}); digits were split individually before (the Digits pre-tokenizer).
_GPT2_ASCII = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|"
                         r"\s+(?!\S)|\s+")


def smol_words(text: str, table: Dict[int, str]) -> List[str]:
    pieces: List[str] = []
    for chunk in re.split(r"([0-9])", text):  # Digits(individual_digits=true)
        if not chunk:
            continue
        pieces.extend(_GPT2_ASCII.findall(chunk))
    return ["".join(table[b] for b in p.encode("utf-8")) for p in pieces]


def gemma_words(text: str) -> List[str]:
    # SentencePiece units: "\u2581" starts a word; digits stay single characters.
    normalized = text.replace(" ", SPACE)
    return [w for w in re.split("(?=" + SPACE + ")", normalized) if w]


# ---------------------------------------------------------------------------------------------
# BPE training.


def train_bpe(words: collections.Counter, alphabet: Iterable[str], merges_wanted: int,
              forced: List[Tuple[str, str]], unmergeable: str = "") -> List[Tuple[str, str]]:
    """Greedy BPE: the most frequent adjacent pair wins, ties to the smallest pair."""
    del alphabet  # symbols start as single characters; the alphabet is listed by the caller
    splits = {w: list(w) for w in words}
    merges: List[Tuple[str, str]] = []

    def apply(pair: Tuple[str, str]) -> None:
        joined = pair[0] + pair[1]
        for w, symbols in splits.items():
            i = 0
            out = []
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
                    out.append(joined)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            splits[w] = out

    for pair in forced:
        merges.append(pair)
        apply(pair)
    while len(merges) < merges_wanted:
        counts: Dict[Tuple[str, str], int] = collections.defaultdict(int)
        for w, symbols in splits.items():
            freq = words[w]
            for a, b in zip(symbols, symbols[1:]):
                if unmergeable and (a in unmergeable or b in unmergeable):
                    continue
                counts[(a, b)] += freq
        if not counts:
            break
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        apply(best)
    return merges


def _added(token_id: int, content: str, special: bool = True) -> dict:
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": special}


def smolvlm_added_names(reserved: int) -> List[str]:
    names = ["<global-img>"]
    names += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    names += ["<fake_token_around_image>", "<image>"]
    names += [f"<|reserved_special_token_{i}|>" for i in range(reserved)]
    names += ["<end_of_utterance>"]
    return names


def build_smolvlm(vocab: int, seed: int, fill_to: int, reserved: int) -> dict:
    table = bytes_to_unicode()
    base = len(SMOL_SPECIALS) + 256
    if vocab < base + 1:
        raise SystemExit(f"--vocab {vocab}: the smolvlm layout needs at least {base + 1}")
    words = collections.Counter()
    for line in generate_corpus(seed):
        words.update(smol_words(line, table))
    # Paragraph breaks, so "\n\n" is also frequent text (its merge is forced regardless).
    words[table[10] * 2] += 500
    words[table[10]] += 500
    nl = table[10]
    merges = train_bpe(words, table.values(), vocab - base, forced=[(nl, nl)])
    model_vocab: Dict[str, int] = {}
    for t in SMOL_SPECIALS:
        model_vocab[t] = len(model_vocab)
    for b in sorted(table, key=lambda b: list(table).index(b)):
        model_vocab[table[b]] = len(model_vocab)
    for a, b in merges:
        model_vocab.setdefault(a + b, len(model_vocab))
    while len(model_vocab) < fill_to:
        model_vocab[f"<filler_{len(model_vocab)}>"] = len(model_vocab)
    added = [_added(i, t) for i, t in enumerate(SMOL_SPECIALS)]
    for name in smolvlm_added_names(reserved):
        added.append(_added(len(model_vocab) + len(added) - len(SMOL_SPECIALS), name))
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": True}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": model_vocab, "merges": [[a, b] for a, b in merges]},
    }


def paligemma_added_names() -> List[str]:
    return ([f"<loc{i:04d}>" for i in range(1024)] + [f"<seg{i:03d}>" for i in range(128)] +
            ["<image>"])


def build_paligemma(vocab: int, seed: int, fill_to: int) -> dict:
    corpus = generate_corpus(seed)
    words = collections.Counter()
    for line in corpus:
        words.update(gemma_words(line))
    chars = sorted({c for w in words for c in w} | {"\n"})
    base = len(GEMMA_SPECIALS) + 256 + len(chars)
    if vocab < base:
        raise SystemExit(f"--vocab {vocab}: the paligemma layout needs at least {base}")
    merges = train_bpe(words, chars, vocab - base, forced=[], unmergeable="0123456789")
    model_vocab: Dict[str, int] = {}
    for t in GEMMA_SPECIALS:
        model_vocab[t] = len(model_vocab)
    for b in range(256):
        model_vocab[f"<0x{b:02X}>"] = len(model_vocab)
    for c in chars:
        model_vocab[c] = len(model_vocab)
    for a, b in merges:
        model_vocab.setdefault(a + b, len(model_vocab))
    while len(model_vocab) < fill_to:
        model_vocab[f"<unused{len(model_vocab) - vocab}>"] = len(model_vocab)
    added = [_added(i, t) for i, t in enumerate(GEMMA_SPECIALS)]
    for name in paligemma_added_names():
        model_vocab[name] = len(model_vocab)
        added.append(_added(model_vocab[name], name, special=(name == "<image>")))
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": SPACE},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": " "},
                          "behavior": "MergedWithPrevious", "invert": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<bos>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": model_vocab, "merges": [[a, b] for a, b in merges]},
    }


def build(family: str, vocab: int, seed: int = 0, fill_to: int = 0, reserved: int = 4) -> dict:
    fill_to = max(fill_to, vocab)
    if family == "smolvlm":
        return build_smolvlm(vocab, seed, fill_to, reserved)
    if family == "paligemma":
        return build_paligemma(vocab, seed, fill_to)
    raise SystemExit(f"unknown --family '{family}' (smolvlm or paligemma)")


def token_ids(tokenizer: dict) -> Dict[str, int]:
    """Every token (vocab and added) -> id."""
    ids = dict(tokenizer["model"]["vocab"])
    for t in tokenizer["added_tokens"]:
        ids[t["content"]] = t["id"]
    return ids


def total_size(tokenizer: dict) -> int:
    return max(token_ids(tokenizer).values()) + 1


def dumps(tokenizer: dict) -> str:
    # Key order as in the hub files (not sorted: "vocab" before "merges" is what readers expect
    # to see); the content is deterministic because every dict is built in a fixed order.
    return json.dumps(tokenizer, ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", required=True, choices=["smolvlm", "paligemma"])
    parser.add_argument("--vocab", type=int, required=True,
                        help="size of the trained part (specials + bytes + pieces), e.g. 400")
    parser.add_argument("--out", required=True, help="tokenizer.json to write")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--fill-to", type=int, default=0,
                        help="pad with filler tokens up to this many ids before the trailing "
                        "family tokens (e.g. 49152 for SmolVLM, 256000 for PaliGemma)")
    parser.add_argument("--reserved", type=int, default=4,
                        help="smolvlm: <|reserved_special_token_i|> count (real models: 88)")
    args = parser.parse_args()
    tok = build(args.family, args.vocab, args.seed, args.fill_to, args.reserved)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps(tok))
    print(f"{args.out}: {total_size(tok)} ids, {len(tok['model']['merges'])} merges")


if __name__ == "__main__":
    main()
