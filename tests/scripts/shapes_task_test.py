#!/usr/bin/python3
"""scripts/shapes_task.py: scenes are seeded and valid (sizes, no overlaps, unambiguous layouts),
pictures are deterministic and show the shapes where the ground truth says, and the ground truth
follows the documented grammar (captions, answers, PaliGemma <loc> boxes)."""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import unittest

import numpy as np

SOURCE = os.environ.get("VLMRT_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
import shapes_task  # noqa: E402

SEEDS = range(300)
PHRASE = r"a (red|green|blue|yellow|purple) (circle|square|triangle|star)"
CAPTION = re.compile(rf"^{PHRASE}$|^{PHRASE} (above|to the left of) {PHRASE}$|"
                     rf"^{PHRASE}, {PHRASE} and {PHRASE}$")
LOC_OBJECT = re.compile(r"^(<loc\d{4}>){4} (circle|square|triangle|star)$")


class Scenes(unittest.TestCase):
    def test_same_seed_same_scene_and_bytes_other_seed_differs(self) -> None:
        a, b = shapes_task.random_scene(42), shapes_task.random_scene(42)
        self.assertEqual(a, b)
        self.assertEqual(shapes_task.render(a).tobytes(), shapes_task.render(b).tobytes())
        self.assertNotEqual(shapes_task.render(a).tobytes(),
                            shapes_task.render(shapes_task.random_scene(43)).tobytes())

    def test_scenes_respect_the_documented_ranges(self) -> None:
        counts, aspects, backgrounds = set(), [], set()
        for seed in SEEDS:
            scene = shapes_task.random_scene(seed)
            self.assertTrue(48 <= scene.width <= 320 and 48 <= scene.height <= 320, seed)
            self.assertIn(len(scene.shapes), (1, 2, 3))
            counts.add(len(scene.shapes))
            aspects.append(scene.width / scene.height)
            backgrounds.add(scene.background)
            short = min(scene.width, scene.height)
            for i, shape in enumerate(scene.shapes):
                x0, y0, x1, y1 = shape.box
                self.assertTrue(0 <= x0 < x1 <= scene.width and 0 <= y0 < y1 <= scene.height)
                self.assertTrue(0.27 * short <= x1 - x0 <= 0.46 * short, seed)
                for other in scene.shapes[i + 1:]:
                    self.assertEqual(shapes_task.iou(shape.box, other.box), 0.0, seed)
        self.assertEqual(counts, {1, 2, 3})
        self.assertEqual(backgrounds, {"plain", "noise", "stripes", "checker"})
        self.assertLess(min(aspects), 0.6)
        self.assertGreater(max(aspects), 1.7)

    def test_pictures_show_each_shape_in_its_colour_at_its_box(self) -> None:
        for seed in range(40):
            scene = shapes_task.random_scene(seed)
            pixels = np.asarray(shapes_task.render(scene), dtype=np.int32)
            self.assertEqual(pixels.shape, (scene.height, scene.width, 3))
            for shape in scene.shapes:
                x0, y0, x1, y1 = shape.box
                # The centre of a circle/square/star and the lower middle of a triangle are
                # inside the shape for every size.
                cx = int((x0 + x1) / 2)
                cy = int((y0 + y1) / 2 if shape.kind != "triangle" else y0 + 0.75 * (y1 - y0))
                self.assertLessEqual(np.abs(pixels[cy, cx] - np.array(shape.rgb)).max(), 2,
                                     f"seed {seed}: {shape}")


    def test_label_maps_mark_each_shape_with_its_kind_and_colour(self) -> None:
        colour_index = {name: i + 1 for i, name in enumerate(sorted(shapes_task.COLOURS))}
        for seed in range(40):
            scene = shapes_task.random_scene(seed)
            kinds, colours = shapes_task.label_maps(scene)
            self.assertEqual(kinds.shape, (scene.height, scene.width))
            self.assertEqual(int(kinds[0, 0]), 0)  # shapes keep a margin from the corners
            for shape in scene.shapes:
                x0, y0, x1, y1 = shape.box
                cx = int((x0 + x1) / 2)
                cy = int((y0 + y1) / 2 if shape.kind != "triangle" else y0 + 0.75 * (y1 - y0))
                self.assertEqual(int(kinds[cy, cx]), shapes_task.SHAPES.index(shape.kind) + 1)
                self.assertEqual(int(colours[cy, cx]), colour_index[shape.colour])
            covered = int((kinds > 0).sum())
            boxes = sum((s.box[2] - s.box[0]) * (s.box[3] - s.box[1]) for s in scene.shapes)
            self.assertLess(covered, boxes * 1.05 + 4 * len(scene.shapes) * scene.width)


class GroundTruth(unittest.TestCase):
    def test_captions_follow_the_grammar_and_order(self) -> None:
        for seed in SEEDS:
            scene = shapes_task.random_scene(seed)
            caption = shapes_task.caption(scene)
            self.assertRegex(caption, CAPTION)
            if len(scene.shapes) == 3:
                xs = [s.centre[0] for s in scene.shapes]
                ordered = sorted(scene.shapes, key=lambda s: s.centre[0])
                self.assertEqual(caption, f"{ordered[0].phrase()}, {ordered[1].phrase()} and "
                                          f"{ordered[2].phrase()}", xs)
        two = shapes_task.Scene(0, 200, 100, "plain", (128, 128, 128), [
            shapes_task.Shape("star", "red", (120, 10, 150, 40), (220, 40, 40)),
            shapes_task.Shape("circle", "blue", (10, 50, 40, 80), (40, 80, 230))])
        self.assertEqual(shapes_task.caption(two), "a blue circle to the left of a red star")
        two.width = 400  # relative to the image, the vertical gap now wins
        self.assertEqual(shapes_task.caption(two), "a red star above a blue circle")

    def test_answers_count_and_name_what_is_there(self) -> None:
        for seed in SEEDS:
            scene = shapes_task.random_scene(seed)
            answers = dict(shapes_task.questions(scene))
            self.assertEqual(answers["How many shapes are there?"],
                             shapes_task.COUNT_WORDS[len(scene.shapes)])
            for kind in shapes_task.SHAPES:
                same = [s for s in scene.shapes if s.kind == kind]
                self.assertEqual(answers[f"How many {kind}s are there?"],
                                 shapes_task.COUNT_WORDS[len(same)])
                self.assertEqual(answers.get(f"What colour is the {kind}?"),
                                 same[0].colour if len(same) == 1 else None)

    def test_detection_strings_encode_the_boxes_in_1024_bins(self) -> None:
        scene = shapes_task.Scene(0, 200, 100, "plain", (128, 128, 128), [
            shapes_task.Shape("square", "red", (50, 25, 100, 75), (220, 40, 40)),
            shapes_task.Shape("square", "blue", (10, 0, 40, 30), (40, 80, 230))])
        self.assertEqual(shapes_task.detection(scene, "square"),
                         "<loc0000><loc0051><loc0307><loc0205> square ; "
                         "<loc0256><loc0256><loc0768><loc0512> square")
        self.assertEqual(shapes_task.detection(scene, "star"), "")
        for seed in SEEDS:
            scene = shapes_task.random_scene(seed)
            for kind, text in shapes_task.ground_truth(scene)["detections"].items():
                parts = text.split(" ; ")
                self.assertEqual(len(parts), sum(s.kind == kind for s in scene.shapes))
                for part in parts:
                    self.assertRegex(part, LOC_OBJECT)

    def test_decoded_bins_recover_the_box_within_half_a_bin(self) -> None:
        for seed in range(50):
            scene = shapes_task.random_scene(seed)
            for shape in scene.shapes:
                box = shapes_task.tight_box(shape)
                sizes = (scene.width, scene.height, scene.width, scene.height)
                decoded = [shapes_task.loc_bin(v, n) / 1024 * n for v, n in zip(box, sizes)]
                for value, back, n in zip(box, decoded, sizes):
                    self.assertLessEqual(abs(value - back), n / 2048 + 1e-9)
                self.assertGreater(shapes_task.iou(box, tuple(decoded)), 0.9)


class HeldOutSet(unittest.TestCase):
    def test_cli_writes_images_and_ground_truth(self) -> None:
        with tempfile.TemporaryDirectory() as out:
            shapes_task.main(["--out", out, "--count", "4", "--seed", "1000000"])
            with open(os.path.join(out, "tasks.jsonl"), encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
            self.assertEqual([r["seed"] for r in records], list(range(1000000, 1000004)))
            for record in records:
                self.assertTrue(os.path.exists(os.path.join(out, record["image"])))
                scene = shapes_task.random_scene(record["seed"])
                self.assertEqual(record["caption"], shapes_task.caption(scene))
                self.assertEqual(len(record["objects"]), len(scene.shapes))


if __name__ == "__main__":
    unittest.main()
