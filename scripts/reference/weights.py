"""Pure-Python safetensors I/O with Hugging Face tensor names (MODELS.md §2).

Public API (stable):

    load_safetensors(path) -> dict[str, torch.Tensor]
    save_safetensors(path, tensors, metadata=None) -> None    # deterministic bytes
    load_checkpoint(model_dir) -> dict[str, torch.Tensor]      # single file or sharded index,
                                                               # legacy PaliGemma names mapped
    canonical_name(name) -> str | None                         # legacy → new name; None = ignore
    legacy_paligemma_names(tensors) -> dict[str, torch.Tensor] # new → hub (legacy) spelling

The `safetensors` package is not required: the header is JSON, the data little-endian. numpy has
no bfloat16, so BF16 bytes travel as int16 and are reinterpreted by torch (bit-exact).
"""
from __future__ import annotations

import json
import os
import struct
from typing import Optional

import numpy as np
import torch

# safetensors dtype → (numpy storage dtype, torch dtype); BF16 is stored through int16.
_DTYPES: dict[str, tuple[np.dtype, torch.dtype]] = {
    "F64": (np.dtype("<f8"), torch.float64), "F32": (np.dtype("<f4"), torch.float32),
    "F16": (np.dtype("<f2"), torch.float16), "BF16": (np.dtype("<i2"), torch.bfloat16),
    "I64": (np.dtype("<i8"), torch.int64), "I32": (np.dtype("<i4"), torch.int32),
    "I16": (np.dtype("<i2"), torch.int16), "I8": (np.dtype("i1"), torch.int8),
    "U8": (np.dtype("u1"), torch.uint8), "BOOL": (np.dtype("?"), torch.bool),
}
_NAMES = {torch_dtype: name for name, (_, torch_dtype) in _DTYPES.items()}

# Legacy hub prefixes → the layout transformers ≥ 4.52 saves (MODELS.md §2.1 renames).
_RENAMES = [("language_model.model.", "model.language_model."),
            ("language_model.lm_head.", "lm_head."),
            ("vision_tower.", "model.vision_tower."),
            ("multi_modal_projector.", "model.multi_modal_projector.")]


def load_safetensors(path: str) -> dict[str, torch.Tensor]:
    """Every tensor of one .safetensors file, with sizes and offsets checked against the file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise ValueError(f"{path}: header length {header_len} runs past the end of the file")
    header = json.loads(data[8:8 + header_len].decode("utf-8"))
    body = memoryview(data)[8 + header_len:]
    tensors: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']}")
        np_dtype, t_dtype = _DTYPES[info["dtype"]]
        shape = [int(s) for s in info["shape"]]
        begin, end = (int(o) for o in info["data_offsets"])
        expected = int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize
        if not 0 <= begin <= end <= len(body) or end - begin != expected:
            raise ValueError(f"{path}: tensor {name!r} offsets [{begin}, {end}) do not hold "
                             f"{shape} {info['dtype']} inside a {len(body)}-byte body")
        array = np.frombuffer(body[begin:end], dtype=np_dtype).reshape(shape).copy()
        tensor = torch.from_numpy(array)
        tensors[name] = tensor.view(torch.bfloat16) if t_dtype == torch.bfloat16 else tensor
    return tensors


def save_safetensors(path: str, tensors: dict[str, torch.Tensor],
                     metadata: Optional[dict[str, str]] = None) -> None:
    """Writes tensors sorted by name, header padded with spaces to 8 bytes: same input, same bytes."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in _NAMES:
            raise ValueError(f"tensor {name!r}: dtype {tensor.dtype} cannot be saved")
        raw = tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor
        blob = raw.numpy().astype(_DTYPES[_NAMES[tensor.dtype]][0], copy=False).tobytes()
        header[name] = {"dtype": _NAMES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        chunks.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in chunks:
            f.write(blob)


def canonical_name(name: str) -> Optional[str]:
    """Maps a legacy PaliGemma name to the new spelling; None for stray buffers (MODELS.md §2.1)."""
    if name.endswith("rotary_emb.inv_freq") or name.endswith("position_ids"):
        return None
    for old, new in _RENAMES:
        if name.startswith(old):
            return new + name[len(old):]
    return name


def legacy_paligemma_names(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The hub spelling of PaliGemma checkpoints (inverse of canonical_name)."""
    out = {}
    for name, tensor in tensors.items():
        for old, new in _RENAMES:
            if name.startswith(new):
                name = old + name[len(new):]
                break
        out[name] = tensor
    return out


def load_checkpoint(model_dir: str) -> dict[str, torch.Tensor]:
    """All tensors of a model folder: model.safetensors or the shards named by
    model.safetensors.index.json's weight_map; names canonicalised, stray buffers dropped."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        for name, tensor in load_safetensors(os.path.join(model_dir, file)).items():
            mapped = canonical_name(name)
            if mapped is not None:
                if mapped in tensors:
                    raise ValueError(f"{model_dir}: tensor {mapped!r} appears twice")
                tensors[mapped] = tensor
    return tensors
