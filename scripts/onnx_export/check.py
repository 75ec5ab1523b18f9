"""Checks exported graphs against the PyTorch reference (float32) on sample inputs built from the
model's config: a seeded image (SmolVLM: two real frames, the second with bottom/right padding,
plus an all-zero padding frame), a prompt with the matching <image> tokens and seeded text ids.

The ONNX pipeline runs as a backend would (ONNX-LAYOUT.md "Generation loop"): embed_tokens,
vision_encoder, image rows merged in order, decoder_model_merged prefill with zero-length past
(num_logits_to_keep = 0: every position), then DECODE_STEPS single-token steps fed with the
reference's greedy tokens. Reported per variant: max |Δ| of image_features, inputs_embeds,
prefill logits and step logits against the reference, and whether the greedy tokens agree.

fp32 passes when every max |Δ| ≤ FP32_TOLERANCE · max(1, max |reference|) of that tensor.
Other variants only have to produce finite outputs; their diffs are reported.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from scripts.reference.generate import pick_token
from scripts.reference.models import VisionLanguageModel

from .runner import Checker

FP32_TOLERANCE = 1e-4
DECODE_STEPS = 3
_NUMPY = {"float32": np.float32, "float16": np.float16}


@dataclass
class SampleInputs:
    input_ids: np.ndarray                    # int64 [1, L]
    pixel_values: np.ndarray                 # float32, the vision_encoder layout
    pixel_attention_mask: Optional[np.ndarray]  # bool (SmolVLM only)


@dataclass
class Report:
    variant: str
    diffs: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    tokens_agree: bool = True
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{k} {v:.3g} (max |ref| {self.scales[k]:.3g})" for k, v in self.diffs.items()]
        agree = "greedy tokens agree" if self.tokens_agree else "greedy tokens DIFFER"
        return f"variant {self.variant}: max |diff| " + ", ".join(parts) + f"; {agree}"


def sample_inputs(model: VisionLanguageModel, seed: int = 0) -> SampleInputs:
    config = model.config
    rng = np.random.default_rng(seed)
    size = config.vision.image_size
    vocab = config.text.vocab_size
    text = [int(t) for t in rng.integers(0, min(vocab, config.image_token_id), 6)]
    if config.is_paligemma:
        pixels = rng.uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
        bos = config.bos_token_id if config.bos_token_id is not None else text[0]
        ids = [config.image_token_id] * config.image_seq_len + [bos] + text
        return SampleInputs(np.array([ids], dtype=np.int64), pixels, None)
    # Frame 1 is padded bottom/right to 3/4 of its patches (bucketed positions and the vision
    # mask), frame 2 is an all-zero padding frame that the encoder drops.
    pixels = rng.uniform(-1, 1, (1, 3, 3, size, size)).astype(np.float32)
    mask = np.ones((1, 3, size, size), dtype=bool)
    keep = (config.vision.patches_per_side * 3 // 4) * config.vision.patch_size
    pixels[0, 1, :, keep:, :] = 0.0
    pixels[0, 1, :, :, keep:] = 0.0
    mask[0, 1, keep:, :] = False
    mask[0, 1, :, keep:] = False
    pixels[0, 2] = 0.0
    mask[0, 2] = False
    ids = text[:3] + [config.image_token_id] * (2 * config.image_seq_len) + text[3:]
    return SampleInputs(np.array([ids], dtype=np.int64), pixels, mask)


@dataclass
class _Reference:
    image_features: np.ndarray
    embeds: np.ndarray
    prefill_logits: np.ndarray
    step_logits: list[np.ndarray]
    tokens: list[int]


def _reference(model: VisionLanguageModel, sample: SampleInputs) -> _Reference:
    ids = sample.input_ids[0]
    pixels = torch.from_numpy(sample.pixel_values)
    mask = None if sample.pixel_attention_mask is None else torch.from_numpy(
        sample.pixel_attention_mask[0])
    with torch.no_grad():
        embeds = model.text_model.embed_tokens(torch.from_numpy(ids)).numpy()
    logits, cache, intermediates = model.prefill(ids, pixels, mask)
    features = intermediates["connector_out"].float().numpy()
    steps, tokens = [], []
    last = logits[-1]
    for _ in range(DECODE_STEPS):
        tokens.append(pick_token(last.float()))
        last = model.decode_step(tokens[-1], cache)
        steps.append(last.float().numpy())
    return _Reference(features, embeds, logits.float().numpy(), steps, tokens)


def _max_diff(a: np.ndarray, b: np.ndarray, what: str) -> float:
    if a.shape != b.shape:
        raise ValueError(f"{what}: ONNX shape {list(a.shape)} differs from the reference's "
                         f"{list(b.shape)}")
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def check_variant(checker: Checker, model: VisionLanguageModel, onnx_dir: str, variant: str,
                  suffix: str, sample: SampleInputs,
                  reference: Optional[_Reference] = None) -> Report:
    """Runs the variant whose files end in `suffix`; fp32 (suffix "") gets the tolerance."""
    ref = reference or _reference(model, sample)
    config = model.config
    report = Report(variant)
    path = {name: os.path.join(onnx_dir, f"{name}{suffix}.onnx")
            for name in ("vision_encoder", "embed_tokens", "decoder_model_merged")}

    vision_in = {"pixel_values": sample.pixel_values}
    if sample.pixel_attention_mask is not None:
        vision_in["pixel_attention_mask"] = sample.pixel_attention_mask
    features = checker.run(path["vision_encoder"], vision_in)["image_features"]
    embeds = checker.run(path["embed_tokens"], {"input_ids": sample.input_ids})["inputs_embeds"]
    report.diffs["image_features"] = _max_diff(features.reshape(ref.image_features.shape),
                                               ref.image_features, "image_features")
    report.scales["image_features"] = float(np.abs(ref.image_features).max())
    report.diffs["inputs_embeds"] = _max_diff(embeds[0], ref.embeds, "inputs_embeds")
    report.scales["inputs_embeds"] = float(np.abs(ref.embeds).max())

    rows = sample.input_ids[0] == config.image_token_id
    merged = embeds.copy()
    merged[0, rows] = features.reshape(-1, features.shape[-1])

    description = checker.describe(path["decoder_model_merged"])
    past_names = [n for n in description.inputs if n.startswith("past_key_values.")]
    past = {}
    for name in past_names:
        type_name, dims = description.inputs[name]
        shape = [1, dims[1], 0, dims[3]]
        past[name] = np.zeros(shape, dtype=_NUMPY[type_name])
    with_mask = "attention_mask" in description.inputs
    offset = 1 if config.is_paligemma else 0  # PaliGemma positions are 1-based (MODELS.md §3.8)

    def step(inputs_embeds: np.ndarray, start: int, keep: int) -> np.ndarray:
        length = inputs_embeds.shape[1]
        feeds = {"inputs_embeds": inputs_embeds,
                 "position_ids": np.arange(start, start + length, dtype=np.int64)[None] + offset,
                 "num_logits_to_keep": np.array(keep, dtype=np.int64)}
        if with_mask:
            feeds["attention_mask"] = np.ones((1, start + length), dtype=np.int64)
        feeds.update(past)
        out = checker.run(path["decoder_model_merged"], feeds)
        for name in past_names:
            past[name] = out[name.replace("past_key_values.", "present.")]
        return out["logits"]

    logits = step(merged.astype(np.float32), 0, 0)
    report.diffs["prefill_logits"] = _max_diff(logits[0], ref.prefill_logits, "prefill_logits")
    report.scales["prefill_logits"] = float(np.abs(ref.prefill_logits).max())
    length = merged.shape[1]
    token = int(np.argmax(logits[0, -1]))
    report.tokens_agree = token == ref.tokens[0]
    step_diff, step_scale = 0.0, 0.0
    for i, ref_token in enumerate(ref.tokens):
        # Each step embeds the reference's greedy token with embed_tokens, as a backend would.
        one = checker.run(path["embed_tokens"],
                          {"input_ids": np.array([[ref_token]], dtype=np.int64)})["inputs_embeds"]
        logits = step(one, length + i, 1)
        step_diff = max(step_diff, _max_diff(logits[0, -1], ref.step_logits[i], "step logits"))
        step_scale = max(step_scale, float(np.abs(ref.step_logits[i]).max()))
        if i + 1 < len(ref.tokens):
            report.tokens_agree &= int(np.argmax(logits[0, -1])) == ref.tokens[i + 1]
    report.diffs["step_logits"] = step_diff
    report.scales["step_logits"] = step_scale

    for name, value in report.diffs.items():
        if not np.isfinite(value):
            report.problems.append(f"{name}: non-finite output")
        elif suffix == "" and value > FP32_TOLERANCE * max(1.0, report.scales[name]):
            report.problems.append(f"{name}: max |diff| {value:.3g} exceeds "
                                   f"{FP32_TOLERANCE:g} × max(1, {report.scales[name]:.3g})")
    return report


def reference_outputs(model: VisionLanguageModel, sample: SampleInputs) -> _Reference:
    return _reference(model, sample)
