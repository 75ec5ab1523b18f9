#!/usr/bin/python3
"""The committed tiny fixtures are exactly what scripts/make_fixtures.py makes (same bytes), their
tokenizers agree between the Rust `tokenizers` library and vlmrt's C++ tokenizer, and
scripts/make_random_model.py describes the real models (tensor counts, special-token ids).

Regenerating all eight fixtures takes about 15 s on one core, so the whole tree is compared.
"""
from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.environ.get("VLMRT_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
sys.path.insert(0, REPO)

import make_random_model as mrm  # noqa: E402
import train_tokenizer  # noqa: E402

FIXTURES = os.path.join(REPO, "tests", "fixtures", "models")


def _cli() -> str | None:
    binary = os.environ.get("VLMRT_BINARY_DIR")
    path = os.path.join(binary, "vlmrt") if binary else None
    return path if path and os.path.exists(path) else None


def _tree(root: str) -> list[str]:
    """Every file below root except the HF cross-check's records (not made by make_fixtures)."""
    out = []
    for folder, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(folder, f), root) for f in files
                if f != "hf_crosscheck.json"]
    return sorted(out)


class RegenerationIsDeterministic(unittest.TestCase):
    def test_make_fixtures_reproduces_the_committed_tree_byte_for_byte(self) -> None:
        env = dict(os.environ)
        if _cli() and "VLMRT_CLI" not in env:
            env["VLMRT_CLI"] = _cli()
        with tempfile.TemporaryDirectory() as out:
            run = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "make_fixtures.py"),
                                  "--out", out], capture_output=True, text=True, env=env)
            self.assertEqual(run.returncode, 0, run.stderr[-3000:])
            committed, fresh = _tree(FIXTURES), _tree(out)
            self.assertEqual(committed, fresh, "file lists differ")
            _, mismatch, errors = filecmp.cmpfiles(FIXTURES, out, committed, shallow=False)
            self.assertEqual(mismatch + errors, [], "files differ from a fresh regeneration")

    def test_trainer_gives_the_same_tokenizer_twice(self) -> None:
        for family in ("smolvlm", "paligemma"):
            a = train_tokenizer.dumps(train_tokenizer.build(family, 400, seed=3))
            b = train_tokenizer.dumps(train_tokenizer.build(family, 400, seed=3))
            self.assertEqual(a, b, family)


def _agreement_strings() -> list[str]:
    import random
    rng = random.Random(7)
    out = train_tokenizer.generate_corpus(99, 200)
    out += ["caption en\n", "a\n\nb", "x\n\n\ny", "  two  spaces ", "\tTab", "", " ", "\n",
            "<image><image><bos>caption en\n", "<loc0012><loc1023><seg005> detect",
            "<|im_start|>User:<image>Hi<end_of_utterance>\nAssistant:",
            "<fake_token_around_image><row_1_col_2><image>\n\n<fake_token_around_image>",
            "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F600", "12345 67.89",
            "don't it's we're", "<end_of_utterance>"]
    alphabet = "abcdefghijklmnopqrstuvwxyz ABC\n\t0123456789.,!?'\u00e9\u65e5\U0001F600<>_|"
    for _ in range(100):
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
    return out


class TokenizersAgreeWithTheRustLibrary(unittest.TestCase):
    def test_cpp_tokenizer_matches_the_oracle_on_three_hundred_strings(self) -> None:
        from scripts.reference import tokenization
        if not tokenization._oracle_installed():
            self.skipTest("node oracle not installed (scripts/regenerate_tokenizer_expectations)")
        if not _cli():
            self.skipTest("vlmrt CLI not built (VLMRT_BINARY_DIR unset)")
        texts = _agreement_strings()
        saved = {k: os.environ.get(k) for k in ("VLMRT_TOKENIZER_BACKEND", "VLMRT_CLI")}
        try:
            for name in ("tiny-smolvlm-fp32", "tiny-paligemma-fp32"):
                path = os.path.join(FIXTURES, name, "tokenizer.json")
                for special in (False, True):
                    os.environ["VLMRT_TOKENIZER_BACKEND"] = "oracle"
                    oracle = tokenization.tokenize_many(path, texts, special)
                    os.environ["VLMRT_TOKENIZER_BACKEND"] = "cli"
                    os.environ["VLMRT_CLI"] = _cli()
                    cpp = tokenization.tokenize_many(path, texts, special)
                    bad = [i for i in range(len(texts)) if oracle[i] != cpp[i]]
                    self.assertEqual(bad, [], f"{name} special={special}: first "
                                     f"{texts[bad[0]]!r}" if bad else "")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class RandomModelPresets(unittest.TestCase):
    def test_smolvlm_256m_has_the_real_tensor_count(self) -> None:
        config = mrm.PRESETS["SmolVLM-256M-Instruct"]("bfloat16")
        self.assertEqual(len(mrm.model_tensors(config)), 471)  # MODELS.md §2.2

    def test_real_tokenizers_put_special_tokens_on_their_real_ids(self) -> None:
        smol_config = mrm.PRESETS["SmolVLM-256M-Instruct"]("bfloat16")
        smol = train_tokenizer.token_ids(mrm.real_tokenizer(smol_config))
        self.assertEqual([smol[t] for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>",
                                            "<global-img>", "<row_6_col_6>",
                                            "<fake_token_around_image>", "<image>",
                                            "<end_of_utterance>")],
                         [0, 1, 2, 49152, 49188, 49189, 49190, 49279])
        self.assertEqual(max(smol.values()) + 1, 49280)
        pg_config = mrm.PRESETS["paligemma-3b-pt-224"]("float32")
        pg = train_tokenizer.token_ids(mrm.real_tokenizer(pg_config))
        self.assertEqual([pg[t] for t in ("<pad>", "<eos>", "<bos>", "<unk>", "<loc0000>",
                                          "<seg000>", "<image>")],
                         [0, 1, 2, 3, 256000, 257024, 257152])

    def test_every_preset_lists_weights_that_match_its_config(self) -> None:
        for name, make in mrm.PRESETS.items():
            config = make("bfloat16")
            tensors = mrm.model_tensors(config)
            names = [n for n, _, _ in tensors]
            self.assertEqual(len(names), len(set(names)), name)
            text = config["text_config"]
            embed = [s for n, s, _ in tensors if n.endswith("embed_tokens.weight")][0]
            self.assertEqual(embed, (text["vocab_size"], text["hidden_size"]), name)


if __name__ == "__main__":
    unittest.main()
