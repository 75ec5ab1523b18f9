"""Weight quantization of a float32 graph's MatMuls whose right operand is a constant [K, N]
matrix (every Linear layer: q/k/v/o, MLPs, projector/connector, lm_head). Convolutions, Gathers
(embeddings), norms and attention stay float32.

    quantize_int8(model) -> int    `_int8`: per-output-channel symmetric int8 weights, activations
                                   quantized per tensor at run time (uint8, asymmetric):
                                   DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(scale)
    quantize_q4(model) -> int      `_q4`: com.microsoft MatMulNBits, bits 4, block_size 32,
                                   symmetric (no zero_points input: ORT's default zero point 8)
    pack_q4(weight [K, N]) -> (B uint8 [N, k_blocks, 16], scales float32 [N, k_blocks])
    dequantize_q4(B, scales, K) -> float32 [K, N]   (the spec's (q − 8) · scale, for tests)

Both rewrite the graph in place and return the number of MatMuls replaced.

MatMulNBits layout (onnxruntime docs/ContribOperators.md): B is [N, ceil(K / block), block·bits/8]
uint8, quantized along K; within a byte, the even K index sits in the low nibble and the odd one
in the high nibble; scales are [N, k_blocks] in A's type; dequantized = (q − zero_point) · scale.
A K that is not a multiple of the block is padded with zeros (q = 8).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Q4_BLOCK = 32
_MS_DOMAIN = "com.microsoft"


def _constant_matmuls(model: onnx.ModelProto) -> list[tuple[int, onnx.NodeProto, np.ndarray]]:
    inits = {t.name: t for t in model.graph.initializer}
    found = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "MatMul" or node.input[1] not in inits:
            continue
        tensor = inits[node.input[1]]
        if tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 2:
            continue
        found.append((index, node, numpy_helper.to_array(tensor)))
    return found


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {name for node in model.graph.node for name in node.input}
    used |= {value.name for value in model.graph.input}
    keep = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def _rewrite(model: onnx.ModelProto, build) -> int:
    """Replaces each constant MatMul by the nodes build(node, weight, prefix) returns."""
    matmuls = _constant_matmuls(model)
    replaced = {index for index, _, _ in matmuls}
    new_nodes: dict[int, list[onnx.NodeProto]] = {}
    for index, node, weight in matmuls:
        prefix = (node.name or node.output[0]).strip("/").replace("/", "_")
        nodes, initializers = build(node, weight, prefix)
        new_nodes[index] = nodes
        model.graph.initializer.extend(initializers)
    nodes = []
    for index, node in enumerate(model.graph.node):
        nodes.extend(new_nodes[index] if index in replaced else [node])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _drop_unused_initializers(model)
    return len(matmuls)


def quantize_int8(model: onnx.ModelProto) -> int:
    def build(node: onnx.NodeProto, weight: np.ndarray, prefix: str):
        absmax = np.abs(weight).max(axis=0)
        scale = np.where(absmax > 0, absmax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
        a, out = node.input[0], node.output[0]
        names = {k: f"{prefix}_{k}" for k in ("a_q", "a_scale", "a_zp", "acc", "accf", "scale",
                                                "w_q", "w_scale")}
        nodes = [
            helper.make_node("DynamicQuantizeLinear", [a],
                             [names["a_q"], names["a_scale"], names["a_zp"]],
                             name=f"{prefix}_quantize"),
            helper.make_node("MatMulInteger", [names["a_q"], names["w_q"], names["a_zp"]],
                             [names["acc"]], name=f"{prefix}_matmul_integer"),
            helper.make_node("Cast", [names["acc"]], [names["accf"]], to=TensorProto.FLOAT,
                             name=f"{prefix}_cast"),
            helper.make_node("Mul", [names["a_scale"], names["w_scale"]], [names["scale"]],
                             name=f"{prefix}_scale"),
            helper.make_node("Mul", [names["accf"], names["scale"]], [out],
                             name=f"{prefix}_dequantize"),
        ]
        return nodes, [numpy_helper.from_array(q, names["w_q"]),
                       numpy_helper.from_array(scale, names["w_scale"])]

    return _rewrite(model, build)


def pack_q4(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """weight [K, N] float32 -> (B uint8 [N, k_blocks, Q4_BLOCK / 2], scales float32 [N, k_blocks]).

    Symmetric with the implied zero point 8: each block's scale maps its largest-magnitude value
    to q = 0 (scale = value / −8), so the full 16 levels are used; the opposite extreme may clip
    from +8 to +7 steps."""
    k, n = weight.shape
    blocks = -(-k // Q4_BLOCK)
    padded = np.zeros((n, blocks * Q4_BLOCK), dtype=np.float32)
    padded[:, :k] = weight.T
    w = padded.reshape(n, blocks, Q4_BLOCK)
    extreme = np.take_along_axis(w, np.abs(w).argmax(axis=2)[..., None], axis=2)[..., 0]
    scales = np.where(extreme != 0, extreme / -8.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scales[..., None]) + 8, 0, 15).astype(np.uint8)
    packed = q[..., 0::2] | (q[..., 1::2] << 4)
    return packed.astype(np.uint8), scales


def dequantize_q4(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    low = (packed & 0x0F).astype(np.float32)
    high = (packed >> 4).astype(np.float32)
    q = np.stack([low, high], axis=-1).reshape(packed.shape[0], packed.shape[1], -1)
    w = (q - 8.0) * scales[..., None]
    return w.reshape(packed.shape[0], -1)[:, :k].T


def quantize_q4(model: onnx.ModelProto) -> int:
    def build(node: onnx.NodeProto, weight: np.ndarray, prefix: str):
        k, n = weight.shape
        packed, scales = pack_q4(weight)
        b_name, s_name = f"{prefix}_q4_weight", f"{prefix}_q4_scales"
        matmul = helper.make_node("MatMulNBits", [node.input[0], b_name, s_name], [node.output[0]],
                                  name=f"{prefix}_matmul_nbits", domain=_MS_DOMAIN, K=k, N=n,
                                  bits=4, block_size=Q4_BLOCK)
        return [matmul], [numpy_helper.from_array(packed, b_name),
                          numpy_helper.from_array(scales, s_name)]

    count = _rewrite(model, build)
    if count and not any(op.domain == _MS_DOMAIN for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(_MS_DOMAIN, 1))
    return count
