"""Tokenization for the reference, through a pluggable backend (there is no Python `tokenizers`).

Public API (stable):

    tokenize(tokenizer_json_path, text, add_special_tokens=False) -> list[int]
    tokenize_many(tokenizer_json_path, texts, add_special_tokens=False) -> list[list[int]]
    backend_name() -> str

Backends, chosen by VLMRT_TOKENIZER_BACKEND ("oracle" or "cli"; default: "oracle" when installed):
  * oracle — Hugging Face's Rust `tokenizers` through node and @anush008/tokenizers, installed
    into third_party/tokenizer-oracle by scripts/regenerate_tokenizer_expectations. It is the
    library transformers itself uses, so it is independent of the C++ code under test.
  * cli — the repo's `vlmrt tokenize --jsonl` (VLMRT_CLI, else the newest build*/vlmrt that has
    the command).

add_special_tokens defaults to False: both processors add none (PaliGemma writes "<bos>" into the
text, SmolVLM's chat template writes <|im_start|>; MODELS.md §5.1, §5.3).
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from typing import Sequence

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ORACLE_DIR = os.path.join(REPO_ROOT, "third_party", "tokenizer-oracle")

_NODE_SCRIPT = r"""
const { createRequire } = require('node:module');
const { Tokenizer } = createRequire(process.argv[1] + '/package.json')('@anush008/tokenizers');
const lines = require('node:fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
(async () => {
  const tokenizer = Tokenizer.fromFile(process.argv[2]);
  const special = process.argv[3] === '1';
  for (const line of lines) {
    const ids = (await tokenizer.encode(JSON.parse(line), null, { addSpecialTokens: special })).getIds();
    process.stdout.write(JSON.stringify(Array.from(ids)) + '\n');
  }
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def _oracle_installed() -> bool:
    return (shutil.which("node") is not None and
            os.path.isdir(os.path.join(ORACLE_DIR, "node_modules", "@anush008", "tokenizers")))


def backend_name() -> str:
    choice = os.environ.get("VLMRT_TOKENIZER_BACKEND", "")
    if choice in ("oracle", "cli"):
        return choice
    if choice:
        raise ValueError(f"VLMRT_TOKENIZER_BACKEND={choice!r}: expected 'oracle' or 'cli'")
    return "oracle" if _oracle_installed() else "cli"


def _cli_path() -> str:
    if os.environ.get("VLMRT_CLI"):
        return os.environ["VLMRT_CLI"]
    candidates = sorted(glob.glob(os.path.join(REPO_ROOT, "build*", "vlmrt")),
                        key=os.path.getmtime, reverse=True)
    for path in candidates:
        probe = subprocess.run([path, "tokenize", "--help"], capture_output=True, text=True)
        if probe.returncode == 0:
            return path
    raise RuntimeError("no vlmrt CLI with a `tokenize` command under build*/ (set VLMRT_CLI), "
                       "and the node oracle is not installed")


def tokenize_many(tokenizer_json_path: str, texts: Sequence[str],
                  add_special_tokens: bool = False) -> list[list[int]]:
    """Token ids of each text (one backend process for all of them)."""
    if not texts:
        return []
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    if backend_name() == "oracle":
        command = ["node", "-e", _NODE_SCRIPT, ORACLE_DIR, tokenizer_json_path,
                   "1" if add_special_tokens else "0"]
    else:
        command = [_cli_path(), "tokenize", "--tokenizer", tokenizer_json_path, "--jsonl"]
        if not add_special_tokens:
            command.append("--no-special")
    run = subprocess.run(command, input=stdin, capture_output=True, text=True, encoding="utf-8")
    if run.returncode != 0:
        raise RuntimeError(f"tokenizing with {command[0]} failed: {run.stderr.strip()}")
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if len(rows) != len(texts):
        raise RuntimeError(f"tokenizer returned {len(rows)} rows for {len(texts)} texts")
    return [[int(i) for i in row] for row in rows]


def tokenize(tokenizer_json_path: str, text: str, add_special_tokens: bool = False) -> list[int]:
    return tokenize_many(tokenizer_json_path, [text], add_special_tokens)[0]
