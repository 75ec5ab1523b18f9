#!/usr/bin/python3
"""Writes the PIL resize parity corpus used by tests/image/resize_test.cpp.

For a fixed, seeded set of RGB source images (sizes 1x1 to 3000x2000, primes, extreme aspect
ratios; noise, gradients, hard edges and saturated colours that make LANCZOS/BICUBIC ring
into the clamp) it stores the raw source pixels and Pillow's Image.resize output for every
filter and several target sizes. Output layout under --out:

  sources/<name>.rgb      raw RGB bytes, row-major, no header
  cases/<index>.rgb       raw RGB bytes of Pillow's result
  manifest.json           {"pillow": version, "sources": [...], "cases": [...]}

Sizes live only in the manifest. Run: make_pil_resize_corpus.py --out DIR
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image
import PIL

NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING = 0, 1, 2, 3, 4, 5
ALL_FILTERS = [NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING]


def noise(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def gradient(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    fx = x / max(w - 1, 1)
    fy = y / max(h - 1, 1)
    img = np.stack([fx * 255, fy * 255, (fx + fy) * 127.5], axis=-1)
    img += rng.normal(0, 1.5, size=img.shape)  # a little dither so rounding paths vary
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def checker(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    cell = int(rng.integers(1, 8))
    y, x = np.mgrid[0:h, 0:w]
    on = ((x // cell) + (y // cell)) % 2 == 1
    img = np.where(on[..., None], np.uint8(255), np.uint8(0)).repeat(3, axis=-1)
    img[:, ::max(w // 5, 2), 1] = 255  # thin lines: one-pixel features
    return img.astype(np.uint8)


def saturated(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255],
                        [255, 0, 255], [255, 255, 255], [0, 0, 0]], dtype=np.uint8)
    block = int(rng.integers(1, 5))
    bh, bw = (h + block - 1) // block, (w + block - 1) // block
    idx = rng.integers(0, len(palette), size=(bh, bw))
    img = palette[idx].repeat(block, axis=0).repeat(block, axis=1)
    return img[:h, :w].copy()


def mixed(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Quadrants of the four contents, so one large image exercises all of them."""
    img = np.empty((h, w, 3), dtype=np.uint8)
    hw, hh = max(w // 2, 1), max(h // 2, 1)
    parts = [(0, 0, hw, hh, noise), (hw, 0, w, hh, gradient), (0, hh, hw, h, checker),
             (hw, hh, w, h, saturated)]
    for x0, y0, x1, y1, fn in parts:
        if x1 > x0 and y1 > y0:
            img[y0:y1, x0:x1] = fn(rng, x1 - x0, y1 - y0)
    return img


CONTENT = {"noise": noise, "gradient": gradient, "checker": checker, "saturated": saturated,
           "mixed": mixed}


def longest_edge(w: int, h: int, edge: int) -> tuple[int, int]:
    """Idefics3 stage-1 size (MODELS.md §5.2): longest edge = edge, other side even."""
    if w >= h:
        nw, nh = edge, int(edge / (w / h))
        nh += nh % 2
    else:
        nh, nw = edge, int(edge * (w / h))
        nw += nw % 2
    return max(nw, 1), max(nh, 1)


def small_targets(w: int, h: int) -> list[tuple[int, int]]:
    """Upscale, downscale, each axis unchanged, 1x1, 224x224."""
    up_w, up_h = w * 2 + 1, h * 3 - 1 if h > 1 else 3
    while up_w * up_h > 120_000:  # keep the corpus small: shrink the upscale, keep it > source
        up_w, up_h = max(w + 1, up_w * 3 // 4), max(h + 1, up_h * 3 // 4)
    targets = [
        (up_w, up_h),  # upscale (odd factors)
        (max(w // 3, 1), max(h // 5 + 1, 1)),  # downscale
        (w, max(h // 2, 1) if h > 1 else 4),  # width unchanged
        (max(w * 3 // 7, 1) if w > 1 else 5, h),  # height unchanged
        (1, 1),
        (224, 224),
    ]
    out: list[tuple[int, int]] = []
    for t in targets:
        if t not in out:
            out.append(t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="folder to write into")
    parser.add_argument("--seed", type=int, default=20240517, help="RNG seed")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    (args.out / "sources").mkdir(parents=True, exist_ok=True)
    (args.out / "cases").mkdir(parents=True, exist_ok=True)

    sources: list[dict] = []
    cases: list[dict] = []
    images: dict[str, Image.Image] = {}

    def add_source(name: str, pixels: np.ndarray) -> None:
        h, w = pixels.shape[:2]
        (args.out / "sources" / f"{name}.rgb").write_bytes(np.ascontiguousarray(pixels).tobytes())
        sources.append({"name": name, "width": w, "height": h, "file": f"sources/{name}.rgb"})
        images[name] = Image.fromarray(pixels, "RGB")

    def add_cases(name: str, targets: list[tuple[int, int]], filters: list[int],
                  same_as_source: str = "") -> None:
        for filt in filters:
            for tw, th in targets:
                result = images[name].resize((tw, th), resample=filt)
                index = len(cases)
                file = f"cases/{index}.rgb"
                if same_as_source:  # a later source *is* this output: store it once
                    assert result.tobytes() == images[same_as_source].tobytes()
                    file = f"sources/{same_as_source}.rgb"
                else:
                    (args.out / file).write_bytes(result.tobytes())
                cases.append({"source": name, "filter": filt, "width": tw, "height": th,
                              "file": file})

    # Small and odd sizes: every filter, every small target.
    small = [
        ("1x1", 1, 1, "noise"), ("2x3", 2, 3, "saturated"), ("3x2", 3, 2, "noise"),
        ("7x13", 7, 13, "noise"), ("13x7", 13, 7, "checker"), ("97x89", 97, 89, "mixed"),
        ("89x97", 89, 97, "saturated"), ("331x17", 331, 17, "gradient"),
        ("17x331", 17, 331, "mixed"), ("1009x13", 1009, 13, "noise"), ("1x500", 1, 500, "gradient"),
        ("500x1", 500, 1, "noise"), ("4x1000", 4, 1000, "checker"), ("1000x100", 1000, 100, "mixed"),
        ("257x257", 257, 257, "saturated"),
    ]
    for name, w, h, content in small:
        add_source(name, CONTENT[content](rng, w, h))
        targets = small_targets(w, h)
        if name in ("97x89", "257x257", "1000x100"):
            targets.append((512, 512))
        add_cases(name, targets, ALL_FILTERS)

    # SmolVLM stage 1/2/global sizes (MODELS.md §5.2 worked examples), chained through PIL's
    # own outputs so the second stage sees exactly what Pillow would feed it.
    add_source("640x480", mixed(rng, 640, 480))
    add_cases("640x480", [(224, 224)], ALL_FILTERS)
    stage1 = np.asarray(images["640x480"].resize(longest_edge(640, 480, 2048), LANCZOS))
    add_source("smolvlm_2048x1536", stage1)
    add_cases("640x480", [longest_edge(640, 480, 2048)], [LANCZOS], "smolvlm_2048x1536")
    add_source("100x80", mixed(rng, 100, 80))
    add_cases("smolvlm_2048x1536", [(512, 512), (512, 384)], [LANCZOS])
    add_cases("smolvlm_2048x1536", [(512, 384)], [NEAREST, BILINEAR, BICUBIC, BOX, HAMMING])
    stage1 = np.asarray(images["100x80"].resize(longest_edge(100, 80, 2048), LANCZOS))
    add_source("smolvlm_2048x1638", stage1)
    add_cases("100x80", [longest_edge(100, 80, 2048)], [LANCZOS], "smolvlm_2048x1638")
    add_cases("smolvlm_2048x1638", [(2048, 2048)], [LANCZOS])  # vertical pass only
    add_cases("smolvlm_2048x1638", [(512, 512)], [LANCZOS])

    # The two large sources: a handful of targets (test time matters, also under ASan).
    add_source("3000x2000", mixed(rng, 3000, 2000))
    add_cases("3000x2000", [longest_edge(3000, 2000, 2048)], [LANCZOS])
    add_cases("3000x2000", [(512, 512), (224, 224), (1, 1), (3000, 7), (11, 2000)], ALL_FILTERS)
    add_source("2000x3000", mixed(rng, 2000, 3000))
    add_cases("2000x3000", [longest_edge(2000, 3000, 2048)], [LANCZOS])
    add_cases("2000x3000", [(224, 224), (1, 1), (997, 1)], ALL_FILTERS)

    manifest = {"pillow": PIL.__version__, "seed": args.seed, "sources": sources, "cases": cases}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    total = sum(p.stat().st_size for p in args.out.rglob("*.rgb"))
    print(f"{len(sources)} sources, {len(cases)} cases, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
