#!/usr/bin/python3
"""Reference image preprocessing for vlmrt parity tests: a command-line wrapper around
scripts/reference/processing.py, which re-implements Hugging Face's slow/PIL image processors
with PIL + numpy (transformers v5 PIL backend, MODELS.md §5.1, §5.2, errata 1/3/12).

Writes, for every --config NAME=PATH and every image, into OUT/NAME/:
  STEM.frames.u8          raw uint8 frames [n, H, W, 3] (before rescale/normalise)
  STEM.pixel_values.npy   float32 [n, 3, H, W] (only when it is at most --float-limit-mb)
  lut.npy                 float32 [3, 256]: the normalised value of every byte per channel,
                          computed by the same normalise code (the float stage is elementwise, so
                          LUT[frames] equals pixel_values exactly; this script asserts it)
  summary.json            per image: size, rows, cols, frames, stage sizes, frame shape
With --make-images the test images are generated first into OUT/images/ (noise + gradients,
varied sizes, one gray PNG, one RGBA PNG, one palette PNG, one JPEG).

Example:
  tests/models/hf_image_processor_reference.py --out /tmp/ref --make-images \\
      --config smolvlm=samples/models/SmolVLM-256M-Instruct/preprocessor_config.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from scripts.reference.processing import (idefics3_frames, is_idefics3, load_rgb,  # noqa: E402
                                          normalize, siglip_frames)

# (width, height) of the generated RGB PNGs.
RGB_SIZES = [(1, 1), (17, 9), (100, 80), (224, 224), (333, 500), (640, 480), (512, 512),
             (1000, 100), (100, 1000), (1023, 767), (2048, 1536), (3000, 2000)]


def pattern(width: int, height: int, seed: int) -> np.ndarray:
    """Gradients + sinusoids + noise, uint8 HWC (3 channels)."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    w, h = max(width - 1, 1), max(height - 1, 1)
    r = 255.0 * x / w
    g = 255.0 * y / h
    b = 127.5 + 127.5 * np.sin(x / 7.0 + y / 11.0)
    base = np.stack([r, g, b], axis=-1)
    noise = rng.normal(0.0, 40.0, size=base.shape)
    # Some hard edges (a checkerboard) so that ringing of LANCZOS/BICUBIC is exercised.
    checker = (((x // 13) + (y // 9)) % 2 == 0)[..., None] * 60.0
    return np.clip(base + noise + checker - 30.0, 0, 255).astype(np.uint8)


def make_images(folder: str) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, (w, h) in enumerate(RGB_SIZES):
        path = os.path.join(folder, f"rgb_{w}x{h}.png")
        Image.fromarray(pattern(w, h, seed=i), "RGB").save(path)
        paths.append(path)
    gray = pattern(300, 200, seed=100)[..., 1]
    path = os.path.join(folder, "gray_300x200.png")
    Image.fromarray(gray, "L").save(path)
    paths.append(path)
    rgba = np.concatenate([pattern(250, 333, seed=101), pattern(250, 333, seed=102)[..., :1]], axis=-1)
    path = os.path.join(folder, "rgba_250x333.png")
    Image.fromarray(rgba, "RGBA").save(path)
    paths.append(path)
    path = os.path.join(folder, "palette_120x90.png")
    Image.fromarray(pattern(120, 90, seed=103), "RGB").quantize(colors=64).save(path)
    paths.append(path)
    path = os.path.join(folder, "photo_400x300.jpg")
    Image.fromarray(pattern(400, 300, seed=104), "RGB").save(path, quality=90)
    paths.append(path)
    return paths


def run_config(name: str, cfg_path: str, images: list[str], out: str, float_limit: int) -> None:
    with open(cfg_path) as f:
        cfg = json.load(f)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    lut_input = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)[None]  # [1,256,3]
    lut = normalize(cfg, lut_input)[0].T.copy()  # [3, 256]
    np.save(os.path.join(folder, "lut.npy"), lut)
    summary = []
    for path in images:
        stem = os.path.splitext(os.path.basename(path))[0]
        image = load_rgb(path)
        frames, info = (idefics3_frames if is_idefics3(cfg) else siglip_frames)(cfg, image)
        stacked = np.ascontiguousarray(np.stack(frames))  # [n, H, W, 3]
        stacked.tofile(os.path.join(folder, stem + ".frames.u8"))
        n, h, w, _ = stacked.shape
        pixel_values = np.ascontiguousarray(normalize(cfg, stacked).transpose(0, 3, 1, 2))
        via_lut = np.stack([lut[c][stacked[..., c]] for c in range(3)], axis=1)
        assert np.array_equal(pixel_values.view(np.uint32), via_lut.view(np.uint32)), "LUT mismatch"
        wrote_float = pixel_values.nbytes <= float_limit
        if wrote_float:
            np.save(os.path.join(folder, stem + ".pixel_values.npy"), pixel_values)
        info.update(file=os.path.basename(path), stem=stem, width=image.width, height=image.height,
                    frames=n, frame_height=h, frame_width=w, float_npy=wrote_float)
        summary.append(info)
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump({"config": os.path.abspath(cfg_path), "images": summary}, f, indent=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--make-images", action="store_true", help="generate the test images into OUT/images")
    parser.add_argument("--image", action="append", default=[], help="an extra image file to process")
    parser.add_argument("--config", action="append", default=[], metavar="NAME=PATH",
                        help="a preprocessor_config.json to run; outputs go to OUT/NAME")
    parser.add_argument("--float-limit-mb", type=float, default=16.0,
                        help="write STEM.pixel_values.npy only when it is at most this size")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    images = list(args.image)
    if args.make_images:
        images = make_images(os.path.join(args.out, "images")) + images
    if not images:
        parser.error("no images: pass --make-images and/or --image")
    for spec in args.config:
        name, sep, path = spec.partition("=")
        if not sep or not name or os.sep in name:
            parser.error(f"--config expects NAME=PATH, got {spec!r}")
        run_config(name, path, images, args.out, int(args.float_limit_mb * (1 << 20)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
