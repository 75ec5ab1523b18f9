#!/usr/bin/python3
"""Draws the bundled sample images (simple coloured shapes on a textured background).

Deterministic: the same command always writes the same pixels. Run with Debian's python3:
    /usr/bin/python3 scripts/make_sample_images.py --out samples/images
"""
import argparse
import pathlib
import random

from PIL import Image, ImageDraw


def draw_scene(width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            shade = 200 + (x * 31 + y * 17) % 40
            pixels[x, y] = (shade, shade - 10, shade - 25)
    draw = ImageDraw.Draw(image)
    shapes = [
        ("circle", (220, 40, 40)),
        ("square", (40, 90, 220)),
        ("triangle", (30, 160, 60)),
    ]
    for index, (shape, colour) in enumerate(shapes):
        size = min(width, height) // 4
        cx = width * (index + 1) // (len(shapes) + 1)
        cy = height // 2 + rng.randint(-height // 8, height // 8)
        box = (cx - size // 2, cy - size // 2, cx + size // 2, cy + size // 2)
        if shape == "circle":
            draw.ellipse(box, fill=colour)
        elif shape == "square":
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(box[0], box[3]), (box[2], box[3]), (cx, box[1])], fill=colour)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path, help="folder to write the images into")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    draw_scene(640, 480, seed=7).save(args.out / "shapes.jpg", quality=90)
    draw_scene(333, 500, seed=11).save(args.out / "shapes_portrait.png")


if __name__ == "__main__":
    main()
