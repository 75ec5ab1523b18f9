#!/usr/bin/python3
"""Writes numpy reference outputs for tests/image/normalize_test.cpp.

Uses the arithmetic of Hugging Face's image processors: rescale is
float32(float64(u8) * factor); normalise is (x - mean) / std on float32 arrays (mean and std
cast to float32); the result is transposed to CHW. Output layout under --out:

  image.rgb          raw RGB bytes (HWC), sizes in the manifest
  <name>.f32         little-endian float32 CHW result of each configuration
  manifest.json      {"width", "height", "configs": [{name, rescale_factor, mean, std,
                      do_rescale, do_normalize, file}]}

Run: make_normalize_reference.py --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

CONFIGS = [
    # name, rescale_factor, mean, std, do_rescale, do_normalize
    ("siglip_half", 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], True, True),
    ("clip", 1 / 255, [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711],
     True, True),
    ("imagenet", 1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], True, True),
    ("odd_factor", 1 / 127.5, [1.0, 0.25, 0.0], [0.3, 1.7, 2.0], True, True),
    ("rescale_only", 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], True, False),
    ("normalize_only", 1 / 255, [127.5, 100.0, 3.0], [127.5, 58.3, 0.7], False, True),
    ("neither", 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], False, False),
]


def reference(image: np.ndarray, factor: float, mean: list[float], std: list[float],
              do_rescale: bool, do_normalize: bool) -> np.ndarray:
    x = image
    if do_rescale:
        x = (x.astype(np.float64) * factor).astype(np.float32)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    if do_normalize:
        x = (x - np.array(mean, dtype=x.dtype)) / np.array(std, dtype=x.dtype)
    assert x.dtype == np.float32
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="folder to write into")
    parser.add_argument("--seed", type=int, default=7, help="RNG seed")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(args.seed)
    width, height = 61, 37
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    # Make sure every byte value appears in every channel.
    image.reshape(-1, 3)[:256] = np.arange(256, dtype=np.uint8)[:, None]
    (args.out / "image.rgb").write_bytes(image.tobytes())

    configs = []
    for name, factor, mean, std, do_rescale, do_normalize in CONFIGS:
        out = reference(image, factor, mean, std, do_rescale, do_normalize)
        (args.out / f"{name}.f32").write_bytes(out.astype("<f4").tobytes())
        configs.append({"name": name, "rescale_factor": factor, "mean": mean, "std": std,
                        "do_rescale": do_rescale, "do_normalize": do_normalize,
                        "file": f"{name}.f32"})
    manifest = {"width": width, "height": height, "configs": configs}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
