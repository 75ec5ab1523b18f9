#!/usr/bin/python3
"""Regenerates the tiny model fixtures and their goldens under --out (tests/fixtures/models).

Eight folders, tiny-{paligemma,paligemma2,smolvlm,smolvlm2}-{bf16,fp32}, each a complete Hugging
Face model folder (config.json with the real field names, model.safetensors with hub tensor
names, tokenizer files trained by scripts/train_tokenizer.py, processor/generation configs, the
SmolVLM chat template) plus goldens/<case>/ computed by the PyTorch reference in
scripts/reference/ (eager attention, PIL processors, transformers v5 behaviour):

  case.json            prompt, image files, the expanded model text, input_ids, token_type_ids,
                       24 greedy tokens (eos ignored), shapes of every array
  image*.png           the case's images (PIL-drawn, seeded)
  pixel_values.npy     float32 [frames, 3, S, S]     (absent for a text-only case)
  pixel_attention_mask.npy int64 [frames, S, S]      (only when not all ones; case.json's
                       "pixel_attention_mask" says "file", "all_ones" or null)
  vision_out.npy       float32 [frames, patches, Dv] (vision tower, post_layernorm)
  connector_out.npy    float32 [frames, tokens, H]   (what is merged into the <image> rows)
  prefill_logits.npy   float32 [L, V]                (every prompt position)
  step_logits.npy      float32 [24, V]               (the logits each greedy token was picked from)

Same bytes on every run: weights come from numpy's seeded generator, torch runs on 2 threads
(pinned by scripts/reference), JSON is written with sorted keys, PNGs with fixed settings.
The bf16 and fp32 folders share the fp32 weights' values (the bf16 ones rounded to nearest even)
but their goldens are computed separately, each in its own dtype.

Usage:  make_fixtures.py --out tests/fixtures/models [--only tiny-smolvlm-fp32 ...]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from typing import Dict, List

import numpy as np
from PIL import Image, ImageDraw

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(SCRIPTS)
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, REPO)
import make_random_model as mrm  # noqa: E402
import train_tokenizer  # noqa: E402

MAX_NEW_TOKENS = 24
CROSSCHECK_FILE = "hf_crosscheck.json"  # written by scripts/reference/hf_crosscheck.py
PALIGEMMA_TOKENIZER_VOCAB = 376  # trained part; 1529 ids with <loc>/<seg>/<image>
SMOLVLM_TOKENIZER_VOCAB = 400  # trained part; 444 ids with the image/reserved tokens
SMOLVLM_RESERVED = 4

# ---------------------------------------------------------------------------------------------
# Model definitions (tiny, but every path of the real families: GQA/MQA, Gemma2 softcaps and a
# sliding window shorter than the prompts, query_pre_attn_scalar != head_dim, a stale top-level
# hidden_size, image splitting into 2x2 tiles + global).


def _paligemma(gemma2: bool, image_token: int, dtype: str) -> dict:
    text = {"model_type": "gemma", "hidden_size": 64, "intermediate_size": 96,
            "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
            "num_hidden_layers": 3, "num_image_tokens": 16, "rms_norm_eps": 1e-06,
            "rope_theta": 10000.0, "max_position_embeddings": 512, "torch_dtype": dtype,
            "vocab_size": 1536}
    vision = {"hidden_size": 32, "intermediate_size": 64, "model_type": "siglip_vision_model",
              "num_attention_heads": 2, "num_hidden_layers": 2, "num_image_tokens": 16,
              "patch_size": 8, "image_size": 32, "layer_norm_eps": 1e-06,
              "hidden_act": "gelu_pytorch_tanh", "projection_dim": 64, "vision_use_head": False}
    top_hidden = 64
    if gemma2:
        text.update({"model_type": "gemma2", "num_key_value_heads": 2,
                     "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 32,
                     "attn_logit_softcapping": 5.0, "final_logit_softcapping": 30.0,
                     "sliding_window": 8, "cache_implementation": "hybrid"})
        vision.update({"hidden_size": 48, "intermediate_size": 96})
        top_hidden = 48  # stale, like the real 2048 next to text 2304: always use text_config's
    return {"architectures": ["PaliGemmaForConditionalGeneration"], "bos_token_id": 2,
            "eos_token_id": 1, "hidden_size": top_hidden, "ignore_index": -100,
            "image_token_index": image_token, "model_type": "paligemma", "pad_token_id": 0,
            "projection_dim": 64, "text_config": text, "torch_dtype": dtype,
            "vision_config": vision}


def _smolvlm(v2: bool, image_token: int, vocab: int, dtype: str) -> dict:
    vision = {"hidden_size": 32, "image_size": 32, "intermediate_size": 64,
              "num_attention_heads": 2, "num_hidden_layers": 2, "patch_size": 8,
              "size": {"longest_edge": 64}, "max_image_size": {"longest_edge": 32}}
    text = {"hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
            "num_hidden_layers": 3, "num_key_value_heads": 2, "head_dim": 16,
            "max_position_embeddings": 512, "rope_theta": 100000, "vocab_size": vocab}
    if v2:
        vision.update({"hidden_size": 48, "intermediate_size": 96, "num_attention_heads": 3})
        text.update({"num_key_value_heads": 1, "rope_theta": 273768})
    config = mrm.smolvlm_config("smolvlm" if v2 else "idefics3", vision, text, 2, dtype)
    config["image_token_id"] = image_token
    return config


# ---------------------------------------------------------------------------------------------
# Golden cases: (name, prompt, [(width, height), ...]).

PALIGEMMA_CASES = [
    ("caption_40x30", "caption en", [(40, 30)]),
    ("answer_17x23", "answer en what is red?", [(17, 23)]),
    ("detect_64x64", "detect circle", [(64, 64)]),
]
SMOLVLM_CASES = [
    ("single_image_45x40", "Can you describe this image?", [(45, 40)]),  # 2x2 tiles + global
    ("two_images", "What is in these images? Compare the first and the second image.",
     [(70, 20), (24, 60)]),  # 1x2 and 2x1 tiles + globals
    ("text_only", "What colour is the circle in the middle?", []),
]

FAMILIES = ["paligemma", "paligemma2", "smolvlm", "smolvlm2"]
SEEDS = {"paligemma": 13, "paligemma2": 13, "smolvlm": 13, "smolvlm2": 21}


def draw_image(seed: int, width: int, height: int) -> Image.Image:
    """A random background with a few filled shapes: enough structure that tiles differ."""
    rng = random.Random(seed)

    def colour() -> tuple:
        return (rng.randrange(256), rng.randrange(256), rng.randrange(256))

    image = Image.new("RGB", (width, height), colour())
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 6)):
        x0, x1 = sorted(rng.randrange(width) for _ in range(2))
        y0, y1 = sorted(rng.randrange(height) for _ in range(2))
        kind = rng.choice(["ellipse", "rectangle", "polygon"])
        if kind == "ellipse":
            draw.ellipse([x0, y0, x1, y1], fill=colour())
        elif kind == "rectangle":
            draw.rectangle([x0, y0, x1, y1], fill=colour())
        else:
            draw.polygon([(rng.randrange(width), rng.randrange(height)) for _ in range(3)],
                         fill=colour())
    return image


def write_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


def build_folder(out: str, family: str, dtype: str) -> None:
    """config, tokenizer files, side files and weights of one fixture folder."""
    paligemma = family.startswith("paligemma")
    dtype_name = mrm.DTYPE_NAMES[dtype]
    if paligemma:
        tokenizer = train_tokenizer.build("paligemma", PALIGEMMA_TOKENIZER_VOCAB, seed=0)
        ids = train_tokenizer.token_ids(tokenizer)
        config = _paligemma(family == "paligemma2", ids["<image>"], dtype_name)
        v = config["vision_config"]
        pre = mrm.paligemma_preprocessor(v["image_size"], (v["image_size"] // v["patch_size"]) ** 2)
    else:
        tokenizer = train_tokenizer.build("smolvlm", SMOLVLM_TOKENIZER_VOCAB, seed=0,
                                          reserved=SMOLVLM_RESERVED)
        ids = train_tokenizer.token_ids(tokenizer)
        config = _smolvlm(family == "smolvlm2", ids["<image>"],
                          train_tokenizer.total_size(tokenizer), dtype_name)
        v = config["vision_config"]
        pre = mrm.smolvlm_preprocessor(config, v["size"]["longest_edge"],
                                       v["max_image_size"]["longest_edge"])
    os.makedirs(out, exist_ok=True)
    mrm.write_json(os.path.join(out, "config.json"), config)
    files = mrm.side_files(config, tokenizer, pre)
    if paligemma:
        # The hub's PaliGemma tokenizer_config.json lists no added_tokens_decoder (and 1157
        # entries would cost more than the weights); tokenizer.json holds them all.
        files["tokenizer_config.json"].pop("added_tokens_decoder")
    for name, content in files.items():
        mrm.write_json(os.path.join(out, name), content)
    mrm.write_tokenizer(os.path.join(out, "tokenizer.json"), tokenizer, compact=paligemma)

    tensors = mrm.model_tensors(config)
    rng = np.random.default_rng(SEEDS[family])
    values = [mrm.init_tensor(rng, shape, kind) for _, shape, kind in tensors]
    mrm.write_safetensors(os.path.join(out, "model.safetensors"),
                          [(n, s) for n, s, _ in tensors], dtype, lambda i: values[i])


def _f32(x) -> np.ndarray:
    return np.ascontiguousarray(x.detach().to("cpu").float().numpy(), dtype="<f4")


def build_goldens(folder: str, family: str) -> List[str]:
    from scripts.reference import generate, models, processing

    model = models.load_model(folder)
    with open(os.path.join(folder, "generation_config.json"), encoding="utf-8") as f:
        eos = f_ids(json.load(f)["eos_token_id"])
    cases = PALIGEMMA_CASES if family.startswith("paligemma") else SMOLVLM_CASES
    summary = []
    for index, (name, prompt, sizes) in enumerate(cases):
        case_dir = os.path.join(folder, "goldens", name)
        os.makedirs(case_dir, exist_ok=True)
        image_files = []
        for k, (w, h) in enumerate(sizes):
            file = f"image{k}.png"
            draw_image(SEEDS[family] * 1000 + index * 10 + k, w, h).save(
                os.path.join(case_dir, file), format="PNG", optimize=False, compress_level=9)
            image_files.append(file)
        inputs = processing.prepare_inputs(folder, prompt,
                                           [os.path.join(case_dir, f) for f in image_files])
        result = generate.greedy(model, inputs.input_ids, inputs.pixel_values,
                                 inputs.pixel_attention_mask, inputs.token_type_ids,
                                 max_new_tokens=MAX_NEW_TOKENS, eos_token_ids=())
        arrays: Dict[str, np.ndarray] = {}
        if inputs.pixel_values is not None:
            arrays["pixel_values"] = np.ascontiguousarray(inputs.pixel_values, dtype="<f4")
            mask = inputs.pixel_attention_mask
            # An all-ones mask (every single-prompt case) is recorded in case.json, not stored.
            if mask is not None and not np.all(np.asarray(mask) == 1):
                arrays["pixel_attention_mask"] = np.ascontiguousarray(mask, dtype="<i8")
        for key in ("vision_out", "connector_out"):
            if result.intermediates.get(key) is not None:
                arrays[key] = _f32(result.intermediates[key])
        arrays["prefill_logits"] = _f32(result.prefill_logits)
        arrays["step_logits"] = _f32(result.step_logits)
        for key, array in arrays.items():
            write_npy(os.path.join(case_dir, key + ".npy"), array)
        hit = [i for i, t in enumerate(result.tokens) if t in eos]
        case = {
            "prompt": prompt,
            "chat": not family.startswith("paligemma"),
            "images": image_files,
            "image_sizes": [[w, h] for w, h in sizes],
            "text": inputs.text,
            "input_ids": [int(t) for t in inputs.input_ids],
            "token_type_ids": inputs.token_type_ids,
            "add_special_tokens": False,
            "max_new_tokens": MAX_NEW_TOKENS,
            "ignore_eos": True,
            "eos_token_ids": eos,
            "first_eos_step": hit[0] if hit else None,
            "tokens": [int(t) for t in result.tokens],
            "arrays": {k: list(a.shape) for k, a in arrays.items()},
            "pixel_attention_mask": (None if inputs.pixel_attention_mask is None else
                                     "file" if "pixel_attention_mask" in arrays else "all_ones"),
            "dtype": mrm.DTYPE_NAMES["bf16" if folder.endswith("bf16") else "fp32"],
            "final_logit_softcap_applied": False,
        }
        mrm.write_json(os.path.join(case_dir, "case.json"), case)
        distinct = len(set(result.tokens))
        summary.append(f"{name}: L={len(inputs.input_ids)} distinct tokens {distinct}/24")
        if distinct < 4:
            raise SystemExit(f"{folder}/{name}: greedy output is degenerate ({result.tokens})")
    return summary


def f_ids(value) -> List[int]:
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def fixture_names() -> List[str]:
    return [f"tiny-{family}-{dtype}" for family in FAMILIES for dtype in ("bf16", "fp32")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the fixtures "
                        "(tests/fixtures/models); each fixture folder is replaced")
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME",
                        help=f"regenerate only these fixtures ({', '.join(fixture_names())})")
    args = parser.parse_args()
    names = args.only or fixture_names()
    for name in names:
        if name not in fixture_names():
            raise SystemExit(f"unknown fixture '{name}' (one of {', '.join(fixture_names())})")
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        _, family, dtype = name.split("-")
        folder = os.path.join(args.out, name)
        crosscheck = None
        if os.path.isdir(folder):
            # hf_crosscheck.json is scripts/reference/hf_crosscheck.py's record, not ours: keep it
            # (rerun the cross-check when the goldens changed).
            path = os.path.join(folder, CROSSCHECK_FILE)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    crosscheck = f.read()
            shutil.rmtree(folder)
        build_folder(folder, family, dtype)
        if crosscheck is not None:
            with open(os.path.join(folder, CROSSCHECK_FILE), "wb") as f:
                f.write(crosscheck)
            print(f"{name}: kept {CROSSCHECK_FILE}; rerun the HF cross-check if goldens changed")
        for line in build_goldens(folder, family):
            print(f"{name} {line}", flush=True)


if __name__ == "__main__":
    main()
