"""Tracing without a float64 copy of the weights.

Graphs are traced in float64 (convert.py says why), but a float64 copy of a model costs 8 bytes
per parameter and tracing it costs as much again. So the reference model (float32, the one the
check compares with) lends its structure: while tracing, every parameter is swapped for a
float64 zero of the same shape that takes no memory (a stride-0 expand), the graph is exported
with the parameters as graph inputs (export_params=False), and each variant then gets the real
float32 values, cast to its dtype, as initializers.

    placeholder_weights(model)          context manager; yields {id(placeholder): real tensor}
    traced_weights(module, real)        {graph input name: real tensor} after an export of module
    attach_weights(graph, weights, target)   weights -> initializers in `target` (FLOAT/FLOAT16),
                                        Transposes of a weight folded (MatMul sees W^T [K, N])
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper
from torch import nn

_NUMPY = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16}


@contextlib.contextmanager
def placeholder_weights(model: nn.Module) -> Iterator[dict[int, torch.Tensor]]:
    """Swaps every parameter (a tied one once, so it stays tied) and restores them on exit.
    Also lets the reference's LayerNorm subclasses run as nn.LayerNorm meanwhile: they pass
    x.shape[-1] as the normalized shape, which torch 1.13 cannot export, and compute exactly
    nn.LayerNorm for f32/f64 (scripts/reference/numerics.py)."""
    swapped: list[tuple[nn.Module, str, nn.Parameter]] = []
    classes: list[tuple[nn.Module, type]] = []
    placeholders: dict[int, nn.Parameter] = {}
    real: dict[int, torch.Tensor] = {}
    try:
        for module in model.modules():
            if isinstance(module, nn.LayerNorm) and type(module) is not nn.LayerNorm:
                classes.append((module, type(module)))
                module.__class__ = nn.LayerNorm
            for name, param in list(module._parameters.items()):
                if param is None:
                    continue
                if id(param) not in placeholders:
                    zero = torch.zeros((), dtype=torch.float64).expand(param.shape)
                    placeholders[id(param)] = nn.Parameter(zero, requires_grad=False)
                    real[id(placeholders[id(param)])] = param.detach()
                swapped.append((module, name, param))
                module._parameters[name] = placeholders[id(param)]
        yield real
    finally:
        for module, name, param in swapped:
            module._parameters[name] = param
        for module, cls in classes:
            module.__class__ = cls


def traced_weights(module: nn.Module, real: dict[int, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torch.onnx names parameter inputs by the module's state-dict keys, a tensor shared by
    several keys under the first one (torch.jit._unique_state_dict)."""
    seen: set[int] = set()
    out: dict[str, torch.Tensor] = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        if id(tensor) in seen or id(tensor) not in real:
            continue
        seen.add(id(tensor))
        out[name] = real[id(tensor)]
    return out


def _array(tensor: torch.Tensor, target: int) -> np.ndarray:
    values = tensor.detach().to(torch.float32)
    if target == TensorProto.FLOAT16:  # fp16 has no room past ±65504: saturate, never inf
        values = values.clamp(-65504.0, 65504.0)
    return values.numpy().astype(_NUMPY[target])


def attach_weights(graph: onnx.ModelProto, weights: dict[str, torch.Tensor], target: int) -> None:
    g = graph.graph
    inputs = [value for value in g.input if value.name not in weights]
    used = {name for node in g.node for name in node.input}
    del g.input[:]
    g.input.extend(inputs)
    arrays = {name: _array(t, target) for name, t in weights.items() if name in used}
    # Fold Transpose(weight): Linear layers trace as MatMul(x, Transpose(W)); the quantizers and
    # ORT want the [K, N] matrix as a constant. torch also "deduplicates" parameters of equal
    # value — all placeholders are zero — into Identity(other parameter) nodes: those parameters
    # get their own values back instead.
    nodes = []
    for node in g.node:
        if node.op_type == "Identity" and node.output[0] in weights:
            arrays.setdefault(node.output[0], _array(weights[node.output[0]], target))
            continue
        if node.op_type == "Transpose" and node.input[0] in arrays:
            perm = [a.ints for a in node.attribute if a.name == "perm"]
            source = arrays[node.input[0]]
            arrays[node.output[0]] = np.ascontiguousarray(
                source.transpose(list(perm[0]) if perm else None))
            continue
        nodes.append(node)
    del g.node[:]
    g.node.extend(nodes)
    still_used = {name for node in g.node for name in node.input}
    for name, array in arrays.items():
        if name in still_used:
            g.initializer.append(numpy_helper.from_array(array, name))
