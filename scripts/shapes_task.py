#!/usr/bin/python3
"""The synthetic shapes task: seeded scenes of 1-3 coloured shapes, their pictures and ground truth.

The bundled models (`models/tiny-smolvlm`, `models/tiny-paligemma`) are trained on it and tested
against it. One seed gives one scene; the same seed gives the same bytes on every machine.

A scene is 1-3 shapes (circle, square, triangle, star) in five colours (red, green, blue,
yellow, purple), 28-45 % of the shorter image side, never overlapping, on a plain or textured
grey background, in an image of 64-320 px per side (aspect ratios 1:2 to 2:1, so SmolVLM's
tiling sees square and oblong grids). Ground truth:

  caption     "a red circle" | "a red circle above a blue square" | "a red circle to the left of
              a blue square" | "a red circle, a blue square and a green star". Two shapes: the
              relation along the axis where they are clearly further apart (the generator only
              makes scenes where one axis wins by 1.6x, in coordinates normalised by the image
              size); three shapes: left to right (centres at least 12 % of the width apart).
  questions   "How many shapes are there?" -> "three"; "How many stars are there?" -> "zero" ..
              "three"; "What colour is the star?" -> "red" (only for a shape present once);
              "Which shape is red?" -> "star" (only for a colour present once).
  detection   PaliGemma's form: per object of the class, left to right,
              <locYMIN><locXMIN><locYMAX><locXMAX> then the class; objects joined by " ; ".
              A coordinate c of an image side of n px is bin round(c / n * 1024) clipped to 1023,
              read back as bin / 1024 * n.

Usage (writes images and tasks.jsonl, one JSON object per image):
  shapes_task.py --out DIR --count 100 --seed 1000000
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star")
COLOURS = {  # name -> base RGB; each drawn shape jitters it by up to +-24 per channel
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 230),
    "yellow": (235, 215, 40),
    "purple": (150, 50, 200),
}
COUNT_WORDS = ("zero", "one", "two", "three")
CAPTION_PROMPTS = ("Describe the image.", "What do you see?", "Caption this picture.")
LOC_BINS = 1024
SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down: anti-aliased edges

Box = Tuple[float, float, float, float]  # x_min, y_min, x_max, y_max in image pixels


@dataclass
class Shape:
    kind: str
    colour: str
    box: Box
    rgb: Tuple[int, int, int]

    @property
    def centre(self) -> Tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def phrase(self) -> str:
        return f"a {self.colour} {self.kind}"


@dataclass
class Scene:
    seed: int
    width: int
    height: int
    background: str  # plain | noise | stripes | checker
    background_rgb: Tuple[int, int, int]
    shapes: List[Shape] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Scenes


def _image_size(rng: random.Random) -> Tuple[int, int]:
    aspect = math.exp(rng.uniform(math.log(1 / 2), math.log(2)))
    longest = rng.randint(64, 320)
    if aspect >= 1:
        return longest, max(48, round(longest / aspect))
    return max(48, round(longest * aspect)), longest


def _unambiguous(shapes: Sequence[Shape], width: int, height: int) -> bool:
    centres = [(s.centre[0] / width, s.centre[1] / height) for s in shapes]
    if len(shapes) == 2:
        dx, dy = abs(centres[0][0] - centres[1][0]), abs(centres[0][1] - centres[1][1])
        return max(dx, dy) >= 1.6 * min(dx, dy) and max(dx, dy) >= 0.2
    if len(shapes) == 3:
        xs = sorted(c[0] for c in centres)
        return xs[1] - xs[0] >= 0.12 and xs[2] - xs[1] >= 0.12
    return True


def _separated(a: Box, b: Box, gap: float) -> bool:
    return (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or
            b[3] + gap <= a[1])


def random_scene(seed: int) -> Scene:
    """The scene of a seed. Layouts that would make the caption ambiguous are redrawn."""
    rng = random.Random(seed)
    while True:
        width, height = _image_size(rng)
        count = rng.choice((1, 2, 2, 3, 3))
        grey = rng.randint(60, 200)
        tint = tuple(max(0, min(255, grey + rng.randint(-12, 12))) for _ in range(3))
        scene = Scene(seed, width, height, rng.choice(("plain", "plain", "noise", "stripes",
                                                       "checker")), tint)
        short = min(width, height)
        for _ in range(count):
            for _attempt in range(50):
                side = rng.uniform(0.28, 0.45) * short
                x0 = rng.uniform(1, width - side - 1)
                y0 = rng.uniform(1, height - side - 1)
                box = (x0, y0, x0 + side, y0 + side)
                if all(_separated(box, s.box, 0.04 * short) for s in scene.shapes):
                    colour = rng.choice(sorted(COLOURS))
                    rgb = tuple(max(0, min(255, c + rng.randint(-24, 24)))
                                for c in COLOURS[colour])
                    scene.shapes.append(Shape(rng.choice(SHAPES), colour, box, rgb))
                    break
        if len(scene.shapes) == count and _unambiguous(scene.shapes, width, height):
            return scene


# ---------------------------------------------------------------------------------------------
# Pictures


def _star(box: Box) -> List[Tuple[float, float]]:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    outer = (box[2] - box[0]) / 2
    inner = outer * 0.45
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _background(scene: Scene) -> Image.Image:
    w, h = scene.width, scene.height
    base = np.array(scene.background_rgb, dtype=np.int32)
    if scene.background == "plain":
        delta = np.zeros((h, w), dtype=np.int32)
    else:
        rng = np.random.default_rng(scene.seed)
        period = int(rng.integers(6, 17))
        y, x = np.mgrid[0:h, 0:w]
        if scene.background == "noise":
            delta = rng.integers(-18, 19, size=(h, w))
        elif scene.background == "stripes":
            delta = np.round(16 * np.sin(2 * np.pi * (x + y) / period)).astype(np.int32)
        else:
            delta = np.where(((x // period) + (y // period)) % 2 == 1, 14, -14)
    pixels = np.clip(base[None, None, :] + delta[:, :, None], 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def render(scene: Scene) -> Image.Image:
    """The scene's picture (RGB, scene.width x scene.height)."""
    s = SUPERSAMPLE
    canvas = Image.new("RGBA", (scene.width * s, scene.height * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for shape in scene.shapes:
        x0, y0, x1, y1 = (v * s for v in shape.box)
        fill = shape.rgb + (255,)
        if shape.kind == "circle":
            draw.ellipse([x0, y0, x1, y1], fill=fill)
        elif shape.kind == "square":
            draw.rectangle([x0, y0, x1, y1], fill=fill)
        elif shape.kind == "triangle":
            draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
        else:
            draw.polygon(_star((x0, y0, x1, y1)), fill=fill)
    shapes = canvas.resize((scene.width, scene.height), Image.BOX)
    image = _background(scene)
    image.paste(shapes, (0, 0), shapes)
    return image


def label_maps(scene: Scene) -> Tuple[np.ndarray, np.ndarray]:
    """Per-pixel ground truth, [height, width] uint8 each: the shape kind (1 + index in SHAPES)
    and its colour (1 + index in sorted COLOURS) covering the pixel, 0 for background."""
    kinds = Image.new("L", (scene.width, scene.height), 0)
    colours = Image.new("L", (scene.width, scene.height), 0)
    colour_index = {name: i + 1 for i, name in enumerate(sorted(COLOURS))}
    for shape in scene.shapes:
        x0, y0, x1, y1 = shape.box
        if shape.kind == "circle":
            outline = None
        elif shape.kind == "square":
            outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        elif shape.kind == "triangle":
            outline = [((x0 + x1) / 2, y0), (x1, y1), (x0, y1)]
        else:
            outline = _star(shape.box)
        for image, value in ((kinds, SHAPES.index(shape.kind) + 1),
                             (colours, colour_index[shape.colour])):
            draw = ImageDraw.Draw(image)
            if outline is None:
                draw.ellipse([x0, y0, x1, y1], fill=value)
            else:
                draw.polygon(outline, fill=value)
    return np.asarray(kinds), np.asarray(colours)


def tight_box(shape: Shape) -> Box:
    """The drawn extent: a star's top point and lower points do not reach the box's bottom."""
    if shape.kind != "star":
        return shape.box
    xs, ys = zip(*_star(shape.box))
    return (min(xs), min(ys), max(xs), max(ys))


# ---------------------------------------------------------------------------------------------
# Ground truth


def _left_to_right(shapes: Sequence[Shape]) -> List[Shape]:
    return sorted(shapes, key=lambda s: s.centre[0])


def caption(scene: Scene) -> str:
    shapes = scene.shapes
    if len(shapes) == 1:
        return shapes[0].phrase()
    if len(shapes) == 2:
        a, b = shapes
        dx = abs(a.centre[0] - b.centre[0]) / scene.width
        dy = abs(a.centre[1] - b.centre[1]) / scene.height
        if dy > dx:
            top, bottom = sorted(shapes, key=lambda s: s.centre[1])
            return f"{top.phrase()} above {bottom.phrase()}"
        left, right = _left_to_right(shapes)
        return f"{left.phrase()} to the left of {right.phrase()}"
    ordered = _left_to_right(shapes)
    return ", ".join(s.phrase() for s in ordered[:-1]) + " and " + ordered[-1].phrase()


def questions(scene: Scene) -> List[Tuple[str, str]]:
    """Every question the task asks about a scene, with its answer."""
    out = [("How many shapes are there?", COUNT_WORDS[len(scene.shapes)])]
    for kind in SHAPES:
        same = [s for s in scene.shapes if s.kind == kind]
        out.append((f"How many {kind}s are there?", COUNT_WORDS[len(same)]))
        if len(same) == 1:
            out.append((f"What colour is the {kind}?", same[0].colour))
    for colour in sorted(COLOURS):
        same = [s for s in scene.shapes if s.colour == colour]
        if len(same) == 1:
            out.append((f"Which shape is {colour}?", same[0].kind))
    return out


def loc_bin(coordinate: float, size: int) -> int:
    return max(0, min(LOC_BINS - 1, round(coordinate / size * LOC_BINS)))


def detection(scene: Scene, kind: str) -> str:
    """PaliGemma's answer to `detect <kind>` ("" when the scene has none)."""
    parts = []
    for shape in _left_to_right([s for s in scene.shapes if s.kind == kind]):
        x0, y0, x1, y1 = tight_box(shape)
        locs = (loc_bin(y0, scene.height), loc_bin(x0, scene.width),
                loc_bin(y1, scene.height), loc_bin(x1, scene.width))
        parts.append("".join(f"<loc{v:04d}>" for v in locs) + " " + kind)
    return " ; ".join(parts)


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ground_truth(scene: Scene) -> dict:
    """Everything a test needs about one scene, JSON-ready."""
    return {
        "seed": scene.seed,
        "width": scene.width,
        "height": scene.height,
        "caption": caption(scene),
        "questions": [{"question": q, "answer": a} for q, a in questions(scene)],
        "objects": [{"kind": s.kind, "colour": s.colour,
                     "box": [round(v, 3) for v in tight_box(s)]}
                    for s in _left_to_right(scene.shapes)],
        "detections": {k: detection(scene, k) for k in SHAPES
                       if any(s.kind == k for s in scene.shapes)},
    }


def write_set(out: str, count: int, seed: int, fmt: str = "png") -> None:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tasks.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for i in range(count):
            scene = random_scene(seed + i)
            name = f"shapes_{seed + i}.{fmt}"
            render(scene).save(os.path.join(out, name))
            record = ground_truth(scene)
            record["image"] = name
            f.write(json.dumps(record, sort_keys=True) + "\n")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the images and tasks.jsonl")
    parser.add_argument("--count", type=int, default=100, help="number of scenes (default 100)")
    parser.add_argument("--seed", type=int, default=1_000_000,
                        help="seed of the first scene; scene i uses seed + i (default 1000000, "
                             "the held-out range: training uses seeds below it)")
    parser.add_argument("--format", choices=("png", "jpg", "bmp"), default="png")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    write_set(args.out, args.count, args.seed, args.format)


if __name__ == "__main__":
    main()
