#!/usr/bin/python3
"""scripts/train_tiny_model.py's pieces that decide what the bundled models learn and how they are
scored: the task samples follow the ground truth, detection answers are scored by IoU, the patch
labels sit under the right patches, and the position codes are distinct per patch."""
from __future__ import annotations

import os
import random
import sys
import unittest

import numpy as np

SOURCE = os.environ.get("VLMRT_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
import shapes_task  # noqa: E402
import train_tiny_model  # noqa: E402


def scene_with(*kinds: str) -> shapes_task.Scene:
    for seed in range(10_000):
        scene = shapes_task.random_scene(seed)
        if sorted(s.kind for s in scene.shapes) == sorted(kinds):
            return scene
    raise AssertionError(f"no scene with {kinds}")


class TaskSamples(unittest.TestCase):
    def test_answers_are_the_scene_ground_truth(self) -> None:
        for seed in range(200):
            scene = shapes_task.random_scene(seed)
            for family in ("smolvlm", "paligemma"):
                prompt, answer = train_tiny_model.task_sample(family, scene, random.Random(seed))
                if prompt.startswith("detect "):
                    self.assertEqual(family, "paligemma")
                    self.assertEqual(answer, shapes_task.detection(scene, prompt[7:]))
                elif prompt in shapes_task.CAPTION_PROMPTS or prompt == "caption en":
                    self.assertEqual(answer, shapes_task.caption(scene))
                else:
                    self.assertEqual(family, "smolvlm")
                    self.assertIn((prompt, answer), shapes_task.questions(scene))


class BoxHits(unittest.TestCase):
    def test_the_true_answer_hits_every_object(self) -> None:
        scene = scene_with("circle", "circle", "star")
        self.assertEqual(train_tiny_model.box_hits(
            scene, "circle", shapes_task.detection(scene, "circle")), [1.0, 1.0])

    def test_a_box_far_off_or_missing_misses(self) -> None:
        scene = scene_with("circle", "circle", "star")
        first, _second = shapes_task.detection(scene, "circle").split(" ; ")
        self.assertEqual(train_tiny_model.box_hits(scene, "circle", first), [1.0, 0.0])
        self.assertEqual(train_tiny_model.box_hits(
            scene, "circle", "<loc0000><loc0000><loc0010><loc0010> circle"), [0.0, 0.0])
        self.assertEqual(train_tiny_model.box_hits(scene, "circle", "a red circle"), [0.0, 0.0])


class PatchLabels(unittest.TestCase):
    def test_the_shape_under_each_patch_centre(self) -> None:
        scene = shapes_task.random_scene(7)
        kinds, colours = train_tiny_model.patch_labels(scene, (0, 0), 1, 12)
        pixel_kinds, pixel_colours = shapes_task.label_maps(scene)
        self.assertEqual(kinds.shape, (1, 144))
        for index in range(144):
            row, col = divmod(index, 12)
            x = int((col + 0.5) / 12 * scene.width)
            y = int((row + 0.5) / 12 * scene.height)
            self.assertEqual(kinds[0, index], pixel_kinds[y, x])
            self.assertEqual(colours[0, index], pixel_colours[y, x])
        self.assertTrue(np.any(kinds > 0))

    def test_tiles_cover_their_part_of_the_picture(self) -> None:
        scene = shapes_task.random_scene(11)
        kinds, _ = train_tiny_model.patch_labels(scene, (2, 2), 5, 8)
        pixel_kinds, _ = shapes_task.label_maps(scene)
        # Tile (row 1, col 0) patch (0, 0) has its centre 1/16 of a tile into the bottom-left tile.
        x = int(0.5 / 16 * scene.width)
        y = int((0.5 + 0.5 / 8) * scene.height)
        self.assertEqual(kinds[2, 0], pixel_kinds[y, x])


class Decode(unittest.TestCase):
    def test_byte_fallback_tokens_become_their_characters(self) -> None:
        task = train_tiny_model.Task("paligemma", os.path.join(SOURCE, "models", "tiny-paligemma"))
        text = "a blue circle above a red star"
        ids = task.tokens[text]
        self.assertEqual(train_tiny_model.decode(task, ids), text)


class PositionCodes(unittest.TestCase):
    def test_every_patch_has_its_own_code(self) -> None:
        codes = train_tiny_model.sincos_positions(8, 96)
        self.assertEqual(tuple(codes.shape), (64, 96))
        distances = np.linalg.norm(codes.numpy()[:, None] - codes.numpy()[None], axis=-1)
        np.fill_diagonal(distances, np.inf)
        self.assertGreater(distances.min(), 0.1)


if __name__ == "__main__":
    unittest.main()
