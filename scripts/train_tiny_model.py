#!/usr/bin/python3
"""Trains the bundled tiny models on the synthetic shapes task (scripts/shapes_task.py).

  tiny-smolvlm    SmolVLM (Idefics3) architecture and chat format: captions ("Describe the
                  image.", "What do you see?", "Caption this picture.") and short answers.
  tiny-paligemma  PaliGemma architecture and task prefixes: "caption en" and "detect <shape>"
                  answered with <loc> boxes.

The model is the PyTorch reference (scripts/reference) with its Hugging Face parameter names, so
the folder written is a real Hugging Face model folder: config.json, model.safetensors (float32),
tokenizer.json (trained by scripts/train_tokenizer.py), processor, generation and chat-template
files. Training scenes use seeds below 1,000,000; the held-out set starts there.

Usage:
  train_tiny_model.py --family smolvlm --out models/tiny-smolvlm [--steps 3000] [--batch 32]
  train_tiny_model.py --family paligemma --out models/tiny-paligemma --evaluate-only

Progress (loss, accuracy on held-out scenes, elapsed time) is printed as it trains; the
checkpoint is written every --save-every steps, so an interrupted run keeps its last state
(--resume continues from it).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.dirname(SCRIPTS))
import make_random_model as mrm  # noqa: E402
import shapes_task  # noqa: E402
import train_tokenizer  # noqa: E402
from scripts.reference import models as ref_models  # noqa: E402
from scripts.reference import processing  # noqa: E402
from scripts.reference.attention import additive_mask  # noqa: E402
from scripts.reference.config import load_config  # noqa: E402
from scripts.reference.decoder import KVCache, rope_tables  # noqa: E402
from scripts.reference.tokenization import tokenize_many  # noqa: E402
from scripts.reference.weights import legacy_paligemma_names, save_safetensors  # noqa: E402

HELD_OUT_SEED = 1_000_000
REFERENCE_SEED = 2_000_000
TOKENIZER_VOCAB = {"smolvlm": 600, "paligemma": 500}
SMOLVLM_RESERVED = 4
# Box coordinates are ordered bins: the target of a <loc> token is mostly a Gaussian over the
# neighbouring bins (8 bins = 1 px of a 128 px model input), so that a near miss costs less than
# a far one; the rest stays on the exact bin.
LOC_SIGMA = 8.0
LOC_SOFT_WEIGHT = 0.8
PATCH_LOSS_WEIGHT = 0.5


# ---------------------------------------------------------------------------------------------
# The two architectures (sizes chosen so each trains in well under an hour on 2 CPU cores)


def smolvlm_config(image_token: int, vocab: int) -> dict:
    # 64 px tiles of 8 px patches: 16 image tokens per tile after the 2x2 pixel shuffle; images
    # are resized to 128 px on the long side, so 1x2, 2x1 and 2x2 grids (plus the global view).
    # (16 px patches learned colours quickly but shapes hardly: a whole shape fits in a patch.)
    vision = {"hidden_size": 96, "image_size": 64, "intermediate_size": 192,
              "num_attention_heads": 4, "num_hidden_layers": 3, "patch_size": 8,
              "size": {"longest_edge": 128}, "max_image_size": {"longest_edge": 64}}
    text = {"hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4,
            "num_hidden_layers": 4, "num_key_value_heads": 2, "head_dim": 32,
            "max_position_embeddings": 1024, "rope_theta": 100000, "vocab_size": vocab}
    config = mrm.smolvlm_config("idefics3", vision, text, 2, "float32")
    config["image_token_id"] = image_token
    return config


def paligemma_config(image_token: int, vocab: int) -> dict:
    config = mrm.paligemma_config(
        {"hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 4,
         "num_hidden_layers": 4, "num_key_value_heads": 1, "head_dim": 32,
         "max_position_embeddings": 512, "rope_theta": 10000.0, "rms_norm_eps": 1e-06,
         "num_image_tokens": 144, "vocab_size": vocab}, 128, "float32")
    config["hidden_size"] = 128
    config["image_token_index"] = image_token
    config["vision_config"] = {
        "hidden_size": 128, "intermediate_size": 256, "model_type": "siglip_vision_model",
        "num_attention_heads": 4, "num_hidden_layers": 4, "num_image_tokens": 144,
        "patch_size": 8, "image_size": 96, "layer_norm_eps": 1e-06,
        "hidden_act": "gelu_pytorch_tanh", "projection_dim": 128, "vision_use_head": False}
    return config


def write_folder(family: str, out: str) -> None:
    """Everything but the weights: config, tokenizer, processor/generation/chat files."""
    if family == "smolvlm":
        tokenizer = train_tokenizer.build("smolvlm", TOKENIZER_VOCAB[family], seed=0,
                                          reserved=SMOLVLM_RESERVED)
        ids = train_tokenizer.token_ids(tokenizer)
        config = smolvlm_config(ids["<image>"], train_tokenizer.total_size(tokenizer))
        v = config["vision_config"]
        pre = mrm.smolvlm_preprocessor(config, v["size"]["longest_edge"],
                                       v["max_image_size"]["longest_edge"])
    else:
        tokenizer = train_tokenizer.build("paligemma", TOKENIZER_VOCAB[family], seed=0)
        ids = train_tokenizer.token_ids(tokenizer)
        config = paligemma_config(ids["<image>"], train_tokenizer.total_size(tokenizer))
        v = config["vision_config"]
        pre = mrm.paligemma_preprocessor(v["image_size"],
                                         (v["image_size"] // v["patch_size"]) ** 2)
    os.makedirs(out, exist_ok=True)
    mrm.write_json(os.path.join(out, "config.json"), config)
    files = mrm.side_files(config, tokenizer, pre)
    if family == "paligemma":
        files["tokenizer_config.json"].pop("added_tokens_decoder")
    for name, content in files.items():
        mrm.write_json(os.path.join(out, name), content)
    mrm.write_tokenizer(os.path.join(out, "tokenizer.json"), tokenizer,
                        compact=family == "paligemma")


# ---------------------------------------------------------------------------------------------
# Task samples: (prompt, answer) for a scene


def task_sample(family: str, scene: shapes_task.Scene, rng: random.Random) -> Tuple[str, str]:
    if family == "paligemma":
        if rng.random() < 0.35:
            return "caption en", shapes_task.caption(scene)
        kind = rng.choice(sorted({s.kind for s in scene.shapes}))
        return f"detect {kind}", shapes_task.detection(scene, kind)
    if rng.random() < 0.45:
        return rng.choice(shapes_task.CAPTION_PROMPTS), shapes_task.caption(scene)
    return rng.choice(shapes_task.questions(scene))


def answer_text(family: str, answer: str) -> str:
    # SmolVLM's assistant turn starts after "Assistant:" with a space, as the real models write.
    return " " + answer if family == "smolvlm" else answer


class Tokens:
    """Token ids of every prompt text and answer, tokenised in bulk (one process per call)."""

    def __init__(self, model_dir: str) -> None:
        self.path = os.path.join(model_dir, "tokenizer.json")
        self.cache: Dict[str, List[int]] = {}
        self._pieces: Optional[Dict[int, str]] = None

    def prime(self, texts: Sequence[str]) -> None:
        todo = sorted({t for t in texts if t not in self.cache})
        for text, ids in zip(todo, tokenize_many(self.path, todo)):
            self.cache[text] = ids

    def __getitem__(self, text: str) -> List[int]:
        if text not in self.cache:
            self.prime([text])
        return self.cache[text]

    def pieces(self) -> Dict[int, str]:
        """id -> token text of the vocabulary and the added tokens (read once)."""
        if self._pieces is None:
            with open(self.path, encoding="utf-8") as f:
                vocab = json.load(f)
            self._pieces = {i: t for t, i in vocab["model"]["vocab"].items()}
            self._pieces.update({t["id"]: t["content"] for t in vocab["added_tokens"]})
        return self._pieces


# ---------------------------------------------------------------------------------------------
# Batches


@dataclass
class Example:
    prompt_ids: List[int]
    answer_ids: List[int]  # ends with eos
    pixel_values: np.ndarray  # [frames, 3, S, S]
    patch_kinds: Optional[np.ndarray] = None  # [frames, patches]: shape kind under each patch
    patch_colours: Optional[np.ndarray] = None  # [frames, patches]: its colour


@dataclass
class Batch:
    ids: torch.Tensor  # [B, L]
    frames: torch.Tensor  # [F, 3, S, S]
    prefix: torch.Tensor  # [B] prompt lengths
    lengths: torch.Tensor  # [B]
    targets: torch.Tensor  # [B, L]: next token, -100 where no loss
    patch_kinds: Optional[torch.Tensor] = None  # [F, P]
    patch_colours: Optional[torch.Tensor] = None  # [F, P]


def patch_labels(scene: shapes_task.Scene, layout: Tuple[int, int], frames: int,
                 per_side: int) -> Tuple[np.ndarray, np.ndarray]:
    """What lies under the centre of each patch of each frame ([frames, per_side²] kind and colour
    labels). Frames are the tiles of a rows x cols grid, row-major, then the global view (or one
    whole-image frame); every frame is a uniform rescale of its part of the image, so a patch
    centre maps back to the original picture through normalised coordinates."""
    kinds, colours = shapes_task.label_maps(scene)
    rows, cols = layout
    centre = (np.arange(per_side) + 0.5) / per_side
    out_kinds = np.zeros((frames, per_side * per_side), dtype=np.int64)
    out_colours = np.zeros_like(out_kinds)
    for f in range(frames):
        if rows and f < rows * cols:
            r, c = divmod(f, cols)
            xs, ys = (c + centre) / cols, (r + centre) / rows
        else:
            xs, ys = centre, centre
        px = np.minimum((xs * scene.width).astype(int), scene.width - 1)
        py = np.minimum((ys * scene.height).astype(int), scene.height - 1)
        out_kinds[f] = kinds[py[:, None], px[None, :]].reshape(-1)
        out_colours[f] = colours[py[:, None], px[None, :]].reshape(-1)
    return out_kinds, out_colours


class Task:
    def __init__(self, family: str, model_dir: str) -> None:
        self.family = family
        self.model_dir = model_dir
        self.config = load_config(model_dir)
        with open(os.path.join(model_dir, "preprocessor_config.json"), encoding="utf-8") as f:
            self.preprocessor = json.load(f)
        with open(os.path.join(model_dir, "generation_config.json"), encoding="utf-8") as f:
            eos = json.load(f)["eos_token_id"]
        self.eos = eos[0] if isinstance(eos, list) else eos
        self.tokens = Tokens(model_dir)
        self.prompts: Dict[Tuple[str, tuple], str] = {}
        self.pad = 0

    def prompt_text(self, prompt: str, layouts: Sequence[Tuple[int, int]]) -> str:
        key = (prompt, tuple(tuple(layout) for layout in layouts))
        if key not in self.prompts:  # the chat template render is slow: a few prompts repeat
            self.prompts[key] = processing.prompt_text(self.model_dir, self.config, prompt,
                                                       layouts)
        return self.prompts[key]

    def samples(self, seeds: Sequence[int]) -> List[Tuple[shapes_task.Scene, str, str]]:
        out = []
        for seed in seeds:
            scene = shapes_task.random_scene(seed)
            prompt, answer = task_sample(self.family, scene, random.Random(seed * 31 + 7))
            out.append((scene, prompt, answer))
        return out

    def example(self, scene: shapes_task.Scene, prompt: str, answer: Optional[str]) -> Example:
        processed = processing.process_images(self.preprocessor, [shapes_task.render(scene)])
        prompt_ids = self.tokens[self.prompt_text(prompt, processed.layouts)]
        answer_ids = ([] if answer is None else
                      self.tokens[answer_text(self.family, answer)] + [self.eos])
        kinds, colours = patch_labels(scene, processed.layouts[0],
                                      processed.pixel_values.shape[0],
                                      self.config.vision.patches_per_side)
        return Example(prompt_ids, answer_ids, processed.pixel_values, kinds, colours)

    def collate(self, examples: Sequence[Example]) -> Batch:
        length = max(len(e.prompt_ids) + len(e.answer_ids) for e in examples)
        ids = torch.full((len(examples), length), self.pad, dtype=torch.long)
        targets = torch.full((len(examples), length), -100, dtype=torch.long)
        for row, e in enumerate(examples):
            seq = e.prompt_ids + e.answer_ids
            ids[row, :len(seq)] = torch.tensor(seq)
            # Position t predicts token t + 1: loss on the answer tokens only.
            start = len(e.prompt_ids) - 1
            targets[row, start:start + len(e.answer_ids)] = torch.tensor(e.answer_ids)
        frames = torch.from_numpy(np.concatenate([e.pixel_values for e in examples]))
        prefix = torch.tensor([len(e.prompt_ids) for e in examples])
        lengths = torch.tensor([len(e.prompt_ids) + len(e.answer_ids) for e in examples])
        kinds = torch.from_numpy(np.concatenate([e.patch_kinds for e in examples]))
        colours = torch.from_numpy(np.concatenate([e.patch_colours for e in examples]))
        return Batch(ids, frames, prefix, lengths, targets, kinds, colours)


# ---------------------------------------------------------------------------------------------
# Batched teacher-forced forward over the reference's modules


def batch_logits(model: ref_models.VisionLanguageModel,
                 batch: Batch) -> Tuple[torch.Tensor, torch.Tensor]:
    """(logits [B, L, V], the vision tower's output [F, P, Dv])."""
    config = model.config
    text = model.text_model
    vision_out, features = model.image_features(batch.frames, None)
    embeds = text.embed_tokens(batch.ids).clone()
    rows = batch.ids == config.image_token_id
    embeds[rows] = features.reshape(-1, features.shape[-1]).to(embeds.dtype)
    x = embeds
    if config.text.architecture != "llama":
        x = x * torch.tensor(config.text.hidden_size ** 0.5, dtype=x.dtype)
    length = batch.ids.shape[1]
    positions = torch.arange(length) + model.position_offset
    cos, sin = rope_tables(positions, config.text.head_dim, config.text.rope_theta, x.dtype)
    i = torch.arange(length)[:, None]
    j = torch.arange(length)[None, :]
    allowed = (j <= i)[None].expand(len(batch.ids), -1, -1)
    if config.is_paligemma:  # the prompt (image + prefix text) is one bidirectional block
        p = batch.prefix[:, None, None]
        allowed = allowed | ((i[None] < p) & (j[None] < p))
    mask = additive_mask(allowed, x.dtype)[:, None]
    cache = KVCache(len(text.layers))
    for index, layer in enumerate(text.layers):
        x = layer(x, cos, sin, mask, cache, index)
    return model._logits(text.norm(x)), vision_out


class PatchHeads(nn.Module):
    """Training-only probes on the vision tower's patches: which shape kind and colour lies under
    each patch. Dense labels teach the tower shapes far sooner than the caption loss alone (with
    it, colours were learned within 30k scenes but shapes hardly); they are not saved."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.kind = nn.Linear(width, len(shapes_task.SHAPES) + 1)
        self.colour = nn.Linear(width, len(shapes_task.COLOURS) + 1)

    def loss(self, vision_out: torch.Tensor, batch: Batch) -> torch.Tensor:
        kinds = self.kind(vision_out).flatten(0, 1)
        colours = self.colour(vision_out).flatten(0, 1)
        return (nn.functional.cross_entropy(kinds, batch.patch_kinds.flatten()) +
                nn.functional.cross_entropy(colours, batch.patch_colours.flatten()))


def loss_of(model: ref_models.VisionLanguageModel, batch: Batch,
            loc_ids: Optional[torch.Tensor], heads: Optional[PatchHeads] = None) -> torch.Tensor:
    logits, vision_out = batch_logits(model, batch)
    mask = batch.targets != -100
    picked = logits[mask]
    targets = batch.targets[mask]
    log_probs = torch.log_softmax(picked.float(), dim=-1)
    nll = -log_probs.gather(1, targets[:, None])[:, 0]
    if loc_ids is not None:
        is_loc = (targets >= loc_ids[0]) & (targets <= loc_ids[-1])
        if bool(is_loc.any()):
            true_bin = (targets[is_loc] - loc_ids[0]).float()
            bins = torch.arange(len(loc_ids)).float()
            soft = torch.exp(-0.5 * ((bins[None] - true_bin[:, None]) / LOC_SIGMA) ** 2)
            soft = soft / soft.sum(1, keepdim=True)
            soft_nll = -(soft * log_probs[is_loc][:, loc_ids]).sum(1)
            nll = nll.clone()
            nll[is_loc] = (1 - LOC_SOFT_WEIGHT) * nll[is_loc] + LOC_SOFT_WEIGHT * soft_nll
    if heads is None:
        return nll.mean()
    return nll.mean() + PATCH_LOSS_WEIGHT * heads.loss(vision_out, batch)


# ---------------------------------------------------------------------------------------------
# Greedy decoding and evaluation


@torch.no_grad()
def greedy(model: ref_models.VisionLanguageModel, example: Example, eos: int,
           max_new_tokens: int = 48) -> List[int]:
    token_type = [0] * len(example.prompt_ids) if model.config.is_paligemma else None
    logits, cache, _ = model.prefill(example.prompt_ids, example.pixel_values,
                                     token_type_ids=token_type)
    out = []
    token = int(torch.argmax(logits[-1]))
    while token != eos and len(out) < max_new_tokens:
        out.append(token)
        token = int(torch.argmax(model.decode_step(token, cache)))
    return out


def decode(task: Task, ids: Sequence[int]) -> str:
    inverse = task.tokens.pieces()
    if task.family == "smolvlm":
        pieces = "".join(inverse[i] for i in ids)
        table = {v: k for k, v in train_tokenizer.bytes_to_unicode().items()}
        return bytes(table[c] for c in pieces).decode("utf-8", "replace").strip()
    # SentencePiece: a character outside the small vocabulary is spelled as byte tokens <0xNN>.
    out = bytearray()
    for i in ids:
        byte = re.fullmatch(r"<0x([0-9A-F]{2})>", inverse[i])
        out += (bytes([int(byte.group(1), 16)]) if byte else
                inverse[i].replace(train_tokenizer.SPACE, " ").encode("utf-8"))
    return out.decode("utf-8", "replace").strip()


def evaluate(task: Task, model: ref_models.VisionLanguageModel, count: int,
             seed: int = HELD_OUT_SEED) -> Dict[str, float]:
    """Exact-match rate per task kind (and box IoU >= 0.7 rate for detection) on held-out scenes."""
    model.eval()
    hits: Dict[str, List[float]] = {}
    samples = task.samples(range(seed, seed + count))
    task.tokens.prime([answer_text(task.family, a) for _, _, a in samples])
    for scene, prompt, answer in samples:
        example = task.example(scene, prompt, None)
        got = decode(task, greedy(model, example, task.eos))
        if prompt.startswith("detect "):
            kind = prompt.split(" ", 1)[1]
            hits.setdefault("detect", []).extend(box_hits(scene, kind, got))
            hits.setdefault("detect_exact", []).append(float(got == answer))
        else:
            key = "caption" if answer == shapes_task.caption(scene) else "answer"
            hits.setdefault(key, []).append(float(got == answer))
    model.train()
    return {k: sum(v) / len(v) for k, v in sorted(hits.items())}


def box_hits(scene: shapes_task.Scene, kind: str, text: str) -> List[float]:
    """1.0 per true object matched by a predicted box with IoU >= 0.7, in left-to-right order."""
    truth = [shapes_task.tight_box(s) for s in sorted(scene.shapes, key=lambda s: s.centre[0])
             if s.kind == kind]
    predicted = []
    for part in text.split(";"):
        values = [int(v) for v in re.findall(r"<loc(\d{4})>", part)]
        if len(values) == 4:
            y0, x0, y1, x1 = values
            predicted.append((x0 / 1024 * scene.width, y0 / 1024 * scene.height,
                              x1 / 1024 * scene.width, y1 / 1024 * scene.height))
    return [float(any(shapes_task.iou(t, p) >= 0.7 for p in predicted)) for t in truth]


def reference_outputs(task: Task, model: ref_models.VisionLanguageModel, count: int,
                      seed: int) -> dict:
    """Greedy outputs of the PyTorch reference on `count` scenes from `seed` on (each with the
    task prompt its seed draws): what the C++ engines must reproduce token for token."""
    model.eval()
    cases = []
    for scene, prompt, _ in task.samples(range(seed, seed + count)):
        tokens = greedy(model, task.example(scene, prompt, None), task.eos)
        cases.append({"seed": scene.seed, "prompt": prompt, "tokens": tokens,
                      "text": decode(task, tokens)})
    return {"family": task.family, "max_new_tokens": 48, "cases": cases}


# ---------------------------------------------------------------------------------------------
# Training


def initial_model(task: Task, seed: int) -> ref_models.VisionLanguageModel:
    torch.manual_seed(seed)
    model = (ref_models.PaliGemma if task.config.is_paligemma else
             ref_models.Idefics3)(task.config)
    hidden = task.config.text.hidden_size
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            # Gemma multiplies embeddings by sqrt(H): keep the product O(1).
            std = hidden ** -0.5 if task.config.text.architecture != "llama" else 0.02
            nn.init.normal_(module.weight, std=std)
    with torch.no_grad():
        embedding = vision_tower(model).embeddings.position_embedding.weight
        embedding.copy_(sincos_positions(task.config.vision.patches_per_side, embedding.shape[1]))
    return model.float().train()


def vision_tower(model: ref_models.VisionLanguageModel) -> nn.Module:
    inner = model.model
    return inner.vision_tower.vision_model if hasattr(inner, "vision_tower") else inner.vision_model


def sincos_positions(side: int, width: int) -> torch.Tensor:
    """[side², width] 2-D sine-cosine codes of the patch grid (a quarter of the channels each for
    sin/cos of the row and of the column). A tiny tower starting from random position vectors
    spent its first thousand steps learning which patches are neighbours."""
    quarter = width // 4
    frequencies = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    rows, cols = torch.meshgrid(torch.arange(side, dtype=torch.float32),
                                torch.arange(side, dtype=torch.float32), indexing="ij")
    codes = torch.zeros(side * side, width)
    for i, coordinate in enumerate((rows.flatten(), cols.flatten())):
        angles = coordinate[:, None] * frequencies[None, :]
        codes[:, (2 * i) * quarter:(2 * i + 1) * quarter] = torch.sin(angles)
        codes[:, (2 * i + 1) * quarter:(2 * i + 2) * quarter] = torch.cos(angles)
    return codes


def load_matching(model: ref_models.VisionLanguageModel, folder: str) -> List[str]:
    """Copies the tensors of an earlier checkpoint whose names and shapes still match (e.g. the
    text model after a change of patch size); returns the names left at their initial values."""
    from scripts.reference.weights import load_checkpoint
    old = load_checkpoint(folder)
    state = model.state_dict()
    fresh = []
    for name, tensor in state.items():
        if name == "lm_head.weight" and model.config.tie_word_embeddings:
            continue  # the embedding table itself
        if name in old and tuple(old[name].shape) == tuple(tensor.shape):
            tensor.copy_(old[name].float())
        else:
            fresh.append(name)
    return fresh


def save_weights(task: Task, model: ref_models.VisionLanguageModel, out: str) -> None:
    tensors = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    if task.config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    if task.config.is_paligemma:
        tensors = legacy_paligemma_names(tensors)
    save_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})


def cosine_lr(peak: float, step: int, steps: int, warm_from: int, warmup: int) -> float:
    return peak * min(1.0, (step - warm_from + 1) / warmup) * 0.5 * (
        1 + math.cos(math.pi * min(1.0, step / steps)))


@torch.no_grad()
def probe_accuracy(model: ref_models.VisionLanguageModel, heads: PatchHeads,
                   batch: Batch) -> Tuple[float, float]:
    """Share of the patches on a shape whose kind / colour the probes read right."""
    vision_out, _ = model.image_features(batch.frames, None)
    on_shape = batch.patch_kinds > 0
    kinds = heads.kind(vision_out).argmax(-1)
    colours = heads.colour(vision_out).argmax(-1)
    return (float((kinds == batch.patch_kinds)[on_shape].float().mean()),
            float((colours == batch.patch_colours)[on_shape].float().mean()))


def pretrain_vision(task: Task, model: ref_models.VisionLanguageModel, heads: PatchHeads,
                    args: argparse.Namespace) -> None:
    """The vision tower alone, taught by the patch probes: 2-3x more scenes per second than the
    whole model, and the caption loss then starts from a tower that already tells shapes apart."""
    params = list(vision_tower(model).parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    held_out = task.samples(range(HELD_OUT_SEED, HELD_OUT_SEED + 64))
    held_out_batch = task.collate([task.example(s, p, None) for s, p, _ in held_out])
    steps = args.pretrain_vision
    warmup = max(1, steps // 20)
    began = time.monotonic()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(args.lr, step, steps, 0, warmup)
        # Scenes from the top of the training range: the main phase starts from seed 0.
        seeds = range(HELD_OUT_SEED - (step + 1) * args.batch, HELD_OUT_SEED - step * args.batch)
        batch = task.collate([task.example(s, p, None) for s, p, _ in task.samples(seeds)])
        vision_out, _ = model.image_features(batch.frames, None)
        loss = heads.loss(vision_out, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        done = step + 1
        if done % 100 == 0 or done == steps:
            kind, colour = probe_accuracy(model, heads, held_out_batch)
            rate = done / (time.monotonic() - began)
            print(f"vision step {done}/{steps} loss {float(loss):.4f} held-out patches: kind "
                  f"{kind:.3f} colour {colour:.3f}; {rate * args.batch:.1f} scenes/s, "
                  f"{(steps - done) / rate / 60:.1f} min left", flush=True)


def train(task: Task, model: ref_models.VisionLanguageModel, args: argparse.Namespace,
          start_step: int) -> None:
    heads = PatchHeads(task.config.vision.hidden_size)
    state_path = os.path.join(args.out, ".train_state.pt")
    state = torch.load(state_path) if start_step and os.path.exists(state_path) else {}
    if args.pretrain_vision and not start_step:
        pretrain_vision(task, model, heads, args)
        save_weights(task, model, args.out)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(heads.parameters()), lr=args.lr,
                                  weight_decay=0.01, betas=(0.9, 0.98))
    # A run that starts without optimizer state (a new run, or a checkpoint from before the patch
    # heads) warms its learning rate up from where it starts.
    warm_from = start_step
    if "heads" in state:
        heads.load_state_dict(state["heads"])
        optimizer.load_state_dict(state["optimizer"])
        warm_from = 0
    loc_ids = None
    if task.family == "paligemma":
        first = task.tokens["<loc0000>"][0]
        loc_ids = torch.arange(first, first + shapes_task.LOC_BINS)
    warmup = max(1, min(100, args.steps // 20)) if warm_from else max(1, args.steps // 20)
    began = time.monotonic()
    running = None
    for step in range(start_step, args.steps):
        lr = cosine_lr(args.lr, step, args.steps, warm_from, warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        seeds = range(step * args.batch, (step + 1) * args.batch)
        samples = task.samples(seeds)
        if step % 50 == 0 or step == start_step:  # tokenise ahead in bulk
            ahead = task.samples(range(step * args.batch, (step + 50) * args.batch))
            task.tokens.prime([answer_text(task.family, a) for _, _, a in ahead])
        batch = task.collate([task.example(s, p, a) for s, p, a in samples])
        loss = loss_of(model, batch, loc_ids, heads)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(heads.parameters()), 1.0)
        optimizer.step()
        running = float(loss) if running is None else 0.95 * running + 0.05 * float(loss)
        done = step + 1
        if done % 25 == 0:
            rate = (done - start_step) / (time.monotonic() - began)
            print(f"step {done}/{args.steps} loss {running:.4f} lr {lr:.2e} "
                  f"{rate * args.batch:.1f} samples/s, {(args.steps - done) / rate / 60:.1f} min "
                  f"left", flush=True)
        if done % args.save_every == 0 or done == args.steps:
            save_weights(task, model, args.out)
            torch.save({"optimizer": optimizer.state_dict(), "heads": heads.state_dict(),
                        "step": done}, state_path)
        if args.eval_every and done % args.eval_every == 0:
            print(f"step {done}: held-out accuracy {evaluate(task, model, args.eval_count)}",
                  flush=True)


def use_openblas() -> None:
    """Debian's torch calls the reference BLAS (~7 GFLOP/s here); OpenBLAS's drop-in libblas.so.3
    (apt-get install libopenblas0-pthread) is ~10x faster. It is loaded for this process only,
    through LD_LIBRARY_PATH, so other scripts keep the system's BLAS (the fixture goldens depend
    on its summation order)."""
    folder = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
    if os.path.exists(os.path.join(folder, "libblas.so.3")) and \
            folder not in os.environ.get("LD_LIBRARY_PATH", ""):
        os.environ["LD_LIBRARY_PATH"] = folder + ":" + os.environ.get("LD_LIBRARY_PATH", "")
        # OpenBLAS starts a thread per core of its own; keep it to --threads, so that two runs
        # side by side with --threads 1 do not fight over the cores.
        threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "2"
        os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)
        os.execv(sys.executable, [sys.executable] + sys.argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", required=True, choices=("smolvlm", "paligemma"))
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--steps", type=int, default=3000, help="optimizer steps (default 3000)")
    parser.add_argument("--batch", type=int, default=32, help="scenes per step (default 32)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (2e-3)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")
    parser.add_argument("--pretrain-vision", type=int, default=0, metavar="STEPS",
                        help="first train the vision tower alone on patch labels for STEPS steps "
                             "(a new run only; default 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--save-every", type=int, default=250)
    parser.add_argument("--eval-every", type=int, default=500, help="0 = only at the end")
    parser.add_argument("--eval-count", type=int, default=100, help="held-out scenes per eval")
    parser.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    parser.add_argument("--init-from", metavar="DIR",
                        help="start from the tensors of DIR's checkpoint that still fit the "
                             "architecture (the others are initialised afresh)")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="evaluate the folder's weights and exit")
    parser.add_argument("--write-reference", metavar="JSON",
                        help="also write the reference's greedy outputs on 20 scenes (seeds "
                             "2000000..2000019) to JSON, for the engines' equality test")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    if not (args.resume or args.evaluate_only):
        write_folder(args.family, args.out)
    task = Task(args.family, args.out)
    start_step = 0
    if args.resume or args.evaluate_only:
        model = ref_models.load_model(args.out, torch.float32).train()
        state = os.path.join(args.out, ".train_state.pt")
        if args.resume and os.path.exists(state):
            start_step = int(torch.load(state)["step"])
    else:
        model = initial_model(task, args.seed)
        if args.init_from:
            with torch.no_grad():
                fresh = load_matching(model, args.init_from)
            print(f"initialised from {args.init_from}; fresh: {', '.join(fresh) or 'none'}",
                  flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.family}: {params / 1e6:.2f} M parameters", flush=True)
    if not args.evaluate_only:
        began = time.monotonic()
        train(task, model, args, start_step)
        print(f"trained {args.steps - start_step} steps in {(time.monotonic() - began) / 60:.1f} "
              f"min", flush=True)
    print(f"held-out accuracy: {evaluate(task, model, args.eval_count)}", flush=True)
    if args.write_reference:
        outputs = reference_outputs(task, model, 20, REFERENCE_SEED)
        with open(args.write_reference, "w", encoding="utf-8", newline="\n") as f:
            cases = ",\n".join("  " + json.dumps(c, sort_keys=True) for c in outputs["cases"])
            f.write(f'{{"family": "{task.family}", "max_new_tokens": 48, "cases": [\n'
                    f"{cases}\n]}}\n")


if __name__ == "__main__":
    use_openblas()
    main()
