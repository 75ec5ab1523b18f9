#!/usr/bin/env python3
"""Writes the seed corpora of the safetensors fuzz targets (tiny files, generated so that no
binaries are committed).

    make_safetensors_corpus.py --out DIR   writes DIR/safetensors/* and DIR/safetensors_index/*

Seeds are valid files of every dtype and layout vlmrt accepts plus near-misses of each check,
so the fuzzer starts next to every branch of the parser.
"""
import argparse
import json
import struct
from pathlib import Path
from typing import Dict, List, Optional, Tuple

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "I8": 1, "BOOL": 1}


def safetensors(header: Dict, data: bytes, length: int = -1) -> bytes:
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text) if length < 0 else length) + text + data


def contiguous(tensors: List[Tuple[str, str, List[int]]], metadata: Optional[Dict] = None) -> bytes:
    header: Dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, dtype, shape in tensors:
        size = SIZES[dtype]
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    return safetensors(header, bytes(i % 251 for i in range(offset)))


def entry(dtype: str, shape: List, offsets: List) -> Dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


def safetensors_seeds() -> Dict[str, bytes]:
    seeds = {
        "valid_two": contiguous([("a.weight", "BF16", [2, 4]), ("b", "F32", [2])], {"format": "pt"}),
        "valid_all_dtypes": contiguous([(f"t{d}", d, [3]) for d in SIZES]),
        "valid_scalar_empty": contiguous([("s", "F32", []), ("e", "F16", [0, 5])]),
        "valid_unicode": contiguous([("poids.é→Ω", "U8", [2])], {"clé": "valeur"}),
        "valid_rank8": contiguous([("r", "I8", [1, 1, 1, 1, 1, 1, 1, 2])]),
        "empty_header": safetensors({}, b""),
        "gap": safetensors({"a": entry("U8", [2], [0, 2]), "b": entry("U8", [2], [8, 10])},
                           bytes(16)),
        "overlap": safetensors({"a": entry("F32", [4], [0, 16]), "b": entry("F32", [2], [8, 16])},
                               bytes(16)),
        "size_mismatch": safetensors({"w": entry("F32", [3, 2], [0, 10])}, bytes(10)),
        "f8": safetensors({"w": entry("F8_E4M3", [4], [0, 4])}, bytes(4)),
        "negative_dim": safetensors({"w": entry("F32", [-1], [0, 0])}, b""),
        "overflow": safetensors({"w": entry("U8", [4294967296, 4294967296], [0, 0])}, b""),
        "past_data": safetensors({"w": entry("U8", [4], [6, 10])}, bytes(8)),
        "header_past_eof": safetensors({}, b"", length=64),
        "short": b"\x02\x00\x00",
        "metadata_not_str": safetensors({"__metadata__": {"k": 1}}, b""),
    }
    duplicate = (b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                 b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}')
    seeds["duplicate"] = struct.pack("<Q", len(duplicate)) + duplicate + bytes(2)
    return seeds


def index_seeds() -> Dict[str, bytes]:
    def index(weight_map: Dict) -> bytes:
        return json.dumps({"metadata": {"total_size": 24}, "weight_map": weight_map}).encode()

    return {
        "valid": index({"embed": "model-00001-of-00002.safetensors",
                        "head": "model-00002-of-00002.safetensors"}),
        "subfolder": index({"a": "weights/part1.safetensors"}),
        "escape": index({"a": "../outside.safetensors"}),
        "absolute": index({"a": "/etc/passwd"}),
        "not_string": index({"a": 3}),
        "empty": index({}),
        "no_weight_map": b'{"metadata":{}}',
        "duplicate": b'{"weight_map":{"a":"x.safetensors","a":"y.safetensors"}}',
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write the corpora into")
    args = parser.parse_args()
    for folder, seeds in (("safetensors", safetensors_seeds()), ("safetensors_index", index_seeds())):
        target = args.out / folder
        target.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (target / f"seed_{name}").write_bytes(data)


if __name__ == "__main__":
    main()
