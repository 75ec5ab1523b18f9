"""Traces the three graphs (scripts/onnx_export/graphs.py) from the reference model and writes
them with the published names, dtypes and dynamic axes (docs ONNX-LAYOUT.md "Graphs").

    export_graphs(model) -> dict[str, Traced]       keys: GRAPHS; model: the float32 reference
    finish(traced, target) -> onnx.ModelProto       weights attached, DOUBLE -> FLOAT / FLOAT16

Tracing runs in float64 with placeholder weights (params.py, convert.py say why).
Dynamic axis names: batch_size, sequence_length, past_sequence_length, total_sequence_length,
logits_length, num_images, num_images_total (SmolVLM frames left after dropping all-zero ones).
"""
from __future__ import annotations

import copy
import os
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np
import onnx
import torch
from onnx import TensorProto
from torch import nn

from scripts.reference.models import VisionLanguageModel

from . import graphs
from .convert import retype
from .params import attach_weights, placeholder_weights, traced_weights

OPSET = 17
GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")


def cache_names(layers: int, prefix: str) -> list[str]:
    return [f"{prefix}.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]


class _FlatDecoder(nn.Module):
    """torch.onnx passes positional tensors; this unpacks them for graphs.Decoder."""

    def __init__(self, model: VisionLanguageModel, with_attention_mask: bool) -> None:
        super().__init__()
        self.decoder = graphs.Decoder(model, with_attention_mask)
        self.with_attention_mask = with_attention_mask

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.with_attention_mask:
            embeds, mask, positions, keep, *past = inputs
        else:
            (embeds, positions, keep, *past), mask = inputs, None
        return tuple(self.decoder(embeds, mask, positions, keep, list(past)))


@dataclass
class Traced:
    proto: onnx.ModelProto             # model dtype DOUBLE; parameters are graph inputs
    weights: dict[str, torch.Tensor]   # graph input name -> the reference's float32 tensor


def _trace(module: nn.Module, args: tuple, input_names: list[str], output_names: list[str],
           dynamic_axes: dict[str, dict[int, str]], real: dict[int, torch.Tensor]) -> Traced:
    with tempfile.TemporaryDirectory(prefix="vlmrt-export-") as tmp:
        path = os.path.join(tmp, "graph.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python ints are expected
            torch.onnx.export(module, args, path, input_names=input_names,
                              output_names=output_names, dynamic_axes=dynamic_axes,
                              opset_version=OPSET, export_params=False,
                              # folding would turn W^T into unnamed inputs without data
                              do_constant_folding=False)
        proto = onnx.load(path)
    weights = traced_weights(module, real)
    unknown = [v.name for v in proto.graph.input
               if v.name not in input_names and v.name not in weights]
    if unknown:
        raise RuntimeError(f"traced graph has inputs that are neither graph inputs nor "
                           f"parameters: {unknown[:5]}")
    return Traced(proto, weights)


def export_graphs(model: VisionLanguageModel) -> dict[str, Traced]:
    """Every axis the graphs read is taken from a Shape op, so example sizes of 1 stay symbolic
    (the tests run other sizes); the vision examples are one image because tracing keeps every
    activation alive (2×2 SmolVLM-256M frames need ~19 GB)."""
    with placeholder_weights(model) as real:
        return _export_graphs(model, real)


def _export_graphs(model: VisionLanguageModel, real: dict[int, torch.Tensor]
                   ) -> dict[str, Traced]:
    config = model.config
    dtype = torch.float64
    text, vision = config.text, config.vision
    generator = torch.Generator().manual_seed(0)
    out: dict[str, Traced] = {}

    ids = torch.randint(0, text.vocab_size, (2, 3), generator=generator)
    out["embed_tokens"] = _trace(
        graphs.EmbedTokens(model), (ids,), ["input_ids"], ["inputs_embeds"],
        {"input_ids": {0: "batch_size", 1: "sequence_length"},
         "inputs_embeds": {0: "batch_size", 1: "sequence_length"}}, real)

    s = vision.image_size
    if config.is_paligemma:
        pixels = torch.randn(1, 3, s, s, generator=generator, dtype=dtype)
        out["vision_encoder"] = _trace(
            graphs.PaliGemmaVision(model), (pixels,), ["pixel_values"], ["image_features"],
            {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}}, real)
    else:
        pixels = torch.randn(1, 2, 3, s, s, generator=generator, dtype=dtype)
        pixels[0, 1] = 0.0  # one padding frame, so that frame dropping is traced
        mask = torch.ones(1, 2, s, s, dtype=torch.bool)
        mask[0, 1] = False
        out["vision_encoder"] = _trace(
            graphs.Idefics3Vision(model), (pixels, mask), ["pixel_values", "pixel_attention_mask"],
            ["image_features"],
            {"pixel_values": {0: "batch_size", 1: "num_images"},
             "pixel_attention_mask": {0: "batch_size", 1: "num_images"},
             "image_features": {0: "num_images_total"}}, real)

    with_mask = not config.is_paligemma  # PaliGemma exports have no attention_mask input
    layers, kv_heads, head_dim = graphs.head_dims(model)
    batch, length, past_len = 2, 3, 4
    embeds = torch.randn(batch, length, text.hidden_size, generator=generator, dtype=dtype)
    positions = (torch.arange(past_len, past_len + length) + 1)[None].repeat(batch, 1)
    keep = torch.tensor(0, dtype=torch.long)
    past = [torch.randn(batch, kv_heads, past_len, head_dim, generator=generator, dtype=dtype)
            for _ in range(2 * layers)]
    past_names = cache_names(layers, "past_key_values")
    present_names = cache_names(layers, "present")
    names = ["inputs_embeds"] + (["attention_mask"] if with_mask else []) + \
        ["position_ids", "num_logits_to_keep"] + past_names
    args = (embeds,) + ((torch.ones(batch, past_len + length, dtype=torch.long),) if with_mask
                        else ()) + (positions, keep, *past)
    axes = {"inputs_embeds": {0: "batch_size", 1: "sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "logits_length"}}
    if with_mask:
        axes["attention_mask"] = {0: "batch_size", 1: "total_sequence_length"}
    for name in past_names:
        axes[name] = {0: "batch_size", 2: "past_sequence_length"}
    for name in present_names:
        axes[name] = {0: "batch_size", 2: "total_sequence_length"}
    out["decoder_model_merged"] = _trace(_FlatDecoder(model, with_mask), args, names,
                                         ["logits"] + present_names, axes, real)
    return out


# Boundary tensors that stay float32 in every variant (the KV cache is the one exception:
# float16 in the fp16 decoder, ONNX-LAYOUT.md "fp16/q4f16 decoders").
FLOAT_IO = {"pixel_values", "image_features", "inputs_embeds", "logits"}


def finish(traced: Traced, target: int) -> onnx.ModelProto:
    """A graph with the weights attached in `target` and the model dtype replaced by it."""
    out = copy.deepcopy(traced.proto)
    attach_weights(out, traced.weights, target)
    retype(out, target, FLOAT_IO)
    out.producer_name = "vlmrt scripts/export_onnx.py"
    if sum(len(t.raw_data) for t in out.graph.initializer) < _EXTERNAL_THRESHOLD:
        onnx.checker.check_model(out)  # larger graphs are checked by ONNX Runtime at load
    return out


FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.FLOAT16


def set_dims(graph: onnx.ModelProto, name: str, dims: list) -> None:
    """Names or fixes the dims of a graph input/output (tracing loses some static sizes)."""
    for value in list(graph.graph.input) + list(graph.graph.output):
        if value.name != name:
            continue
        shape = value.type.tensor_type.shape
        for dim, want in zip(shape.dim, dims):
            if isinstance(want, int):
                dim.ClearField("dim_param")
                dim.dim_value = want
            else:
                dim.ClearField("dim_value")
                dim.dim_param = want


LOGITS_TO_KEEP_DEFAULT = 1


def add_logits_default(graph: onnx.ModelProto) -> None:
    """Gives `num_logits_to_keep` the default 1 (an initializer of the same name as the input):
    ONNX Runtime then lists it as an overridable initializer, not as a required input, so a
    caller that does not know it gets logits [B, 1, V] for the last position; feeding 0 returns
    every position."""
    graph.graph.initializer.append(onnx.numpy_helper.from_array(
        np.array(LOGITS_TO_KEEP_DEFAULT, dtype=np.int64), "num_logits_to_keep"))


_EXTERNAL_THRESHOLD = 1_800_000_000  # protobuf's 2 GB limit, with room for the graph itself


def save(graph: onnx.ModelProto, path: str) -> None:
    """Writes PATH; weights go to PATH + "_data" (ONNX-LAYOUT.md: NAME.onnx_data) when the file
    would pass protobuf's 2 GB limit."""
    weights = sum(len(t.raw_data) for t in graph.graph.initializer)
    if weights < _EXTERNAL_THRESHOLD:
        onnx.save(graph, path)
        return
    onnx.save(graph, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location=os.path.basename(path) + "_data", size_threshold=1024)
