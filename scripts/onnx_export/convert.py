"""Model-dtype substitution for graphs traced in float64.

The graphs are traced from the reference model held in float64, so that every place where the
reference computes "in the model dtype" shows up as DOUBLE and every explicit fp32 island of the
reference (Gemma RMSNorm, softmax, RoPE tables, Llama's normalisation) stays FLOAT. Replacing
DOUBLE by FLOAT gives the fp32 graph; replacing it by FLOAT16 gives a graph that computes exactly
where the reference computes in half precision, with the fp32 islands kept (torch 1.13 cannot run,
hence cannot trace, fp16 on the CPU).

    retype(model, target, float_io) -> None   (in place)

`float_io` names graph inputs/outputs that stay float32 at the boundary (a Cast is inserted
next to them when target is FLOAT16); every other DOUBLE input/output becomes `target`.
Constants are clamped to the target's finite range, which turns finfo(float64).min mask fills
into finfo(target).min, the value the reference uses (MODELS.md §7.5).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_NUMPY = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16}


def _convert_tensor(tensor: TensorProto, target: int) -> TensorProto:
    dtype = _NUMPY[target]
    array = numpy_helper.to_array(tensor).astype(np.float64)
    limit = float(np.finfo(dtype).max)
    out = numpy_helper.from_array(np.clip(array, -limit, limit).astype(dtype), tensor.name)
    return out


def rename_value(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Renames a value everywhere it is produced or consumed (graph outputs included)."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for output in graph.output:
        if output.name == old:
            output.name = new


def retype(model: onnx.ModelProto, target: int, float_io: set[str]) -> None:
    graph = model.graph
    for index, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.DOUBLE:
            graph.initializer[index].CopyFrom(_convert_tensor(init, target))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH or attr.type == onnx.AttributeProto.GRAPHS:
                raise ValueError(f"node {node.name} ({node.op_type}) has a subgraph: not expected "
                                 "in these exports")
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.DOUBLE:
                attr.i = target
            elif attr.name == "dtype" and attr.i == TensorProto.DOUBLE:
                raise ValueError(f"node {node.name} ({node.op_type}) makes float64 values")
            elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.DOUBLE:
                attr.t.CopyFrom(_convert_tensor(attr.t, target))
    del graph.value_info[:]  # stale types; ORT infers its own

    head: list[onnx.NodeProto] = []
    for value in graph.input:
        tensor = value.type.tensor_type
        if tensor.elem_type != TensorProto.DOUBLE:
            continue
        if value.name in float_io and target != TensorProto.FLOAT:
            inner = value.name + "_model_dtype"
            rename_value(graph, value.name, inner)
            head.append(helper.make_node("Cast", [value.name], [inner], to=target,
                                         name=f"cast_in_{value.name}"))
            tensor.elem_type = TensorProto.FLOAT
        else:
            tensor.elem_type = TensorProto.FLOAT if value.name in float_io else target
    tail: list[onnx.NodeProto] = []
    for value in graph.output:
        tensor = value.type.tensor_type
        if tensor.elem_type != TensorProto.DOUBLE:
            continue
        if value.name in float_io and target != TensorProto.FLOAT:
            name = value.name
            inner = name + "_model_dtype"
            rename_value(graph, name, inner)
            value.name = name
            tail.append(helper.make_node("Cast", [inner], [name], to=TensorProto.FLOAT,
                                         name=f"cast_out_{name}"))
            tensor.elem_type = TensorProto.FLOAT
        else:
            tensor.elem_type = TensorProto.FLOAT if value.name in float_io else target
    nodes = head + list(graph.node) + tail
    del graph.node[:]
    graph.node.extend(nodes)

