"""The PyTorch reference's building blocks: pixel shuffle and bucketed positions against MODELS.md's
closed forms (§3.2, §3.4), safetensors round trips, config spellings, prompt building."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import unittest

import torch

SOURCE_DIR = os.environ.get("VLMRT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, SOURCE_DIR)
from scripts.reference import config as cfg, processing, weights  # noqa: E402
from scripts.reference.connector import pixel_shuffle  # noqa: E402
from scripts.reference.siglip import bucketed_position_ids, patch_mask_from_pixels  # noqa: E402


class PixelShuffle(unittest.TestCase):
    def test_matches_the_space_to_depth_formula(self) -> None:
        for grid, scale, channels in ((4, 2, 3), (6, 3, 2), (8, 4, 5)):
            x = torch.randn(2, grid * grid, channels, generator=torch.Generator().manual_seed(grid))
            out = pixel_shuffle(x, scale)
            side = grid // scale
            self.assertEqual(tuple(out.shape), (2, side * side, channels * scale * scale))
            for n in range(2):
                for hq in range(side):
                    for wq in range(side):
                        for hr in range(scale):
                            for wr in range(scale):
                                for e in range(channels):
                                    c = hr * scale * channels + wr * channels + e
                                    src = (hq * scale + hr) * grid + (wq * scale + wr)
                                    self.assertEqual(out[n, hq * side + wq, c], x[n, src, e])


class BucketedPositions(unittest.TestCase):
    def test_equal_floor_of_r_times_n_over_nb_and_transformers_bucketize(self) -> None:
        for n in (32, 27):
            boundaries = torch.arange(1 / n, 1.0, 1 / n)
            for nb_h, nb_w in ((n, n), (1, 1), (n - 1, 3), (5, n), (17, 9)):
                mask = torch.zeros(n, n, dtype=torch.bool)
                mask[:nb_h, :nb_w] = True
                ids = bucketed_position_ids(mask, n).view(n, n)
                for r in range(nb_h):
                    for c in range(nb_w):
                        self.assertEqual(int(ids[r, c]), (r * n // nb_h) * n + c * n // nb_w)
                self.assertEqual(int(ids[~mask].abs().sum()), 0)
                # The pre-regression transformers rule (MODELS.md §3.2): bucketize on fp32 fractions.
                frac_h = torch.arange(nb_h, dtype=torch.float32) * (1 / nb_h)
                frac_w = torch.arange(nb_w, dtype=torch.float32) * (1 / nb_w)
                bh = torch.bucketize(frac_h, boundaries, right=True)
                bw = torch.bucketize(frac_w, boundaries, right=True)
                self.assertTrue(torch.equal(ids[:nb_h, :nb_w], bh[:, None] * n + bw[None, :]))

    def test_full_tiles_get_the_identity(self) -> None:
        for n in (32, 27):
            ids = bucketed_position_ids(torch.ones(n, n, dtype=torch.bool), n)
            self.assertTrue(torch.equal(ids, torch.arange(n * n)))

    def test_patch_is_valid_when_any_pixel_is(self) -> None:
        pixels = torch.zeros(1, 16, 16, dtype=torch.long)
        pixels[0, :9, :3] = 1
        expected = torch.tensor([[[True, False], [True, False]]])
        self.assertTrue(torch.equal(patch_mask_from_pixels(pixels, 8), expected))


class SafetensorsRoundTrip(unittest.TestCase):
    def tensors(self) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(0)
        return {"b.bf16": torch.randn(3, 5, generator=g).to(torch.bfloat16),
                "a.f32": torch.randn(7, generator=g),
                "c.f16": torch.randn(2, 2, generator=g).half(),
                "d.i64": torch.arange(6).view(2, 3),
                "e.empty": torch.zeros(0, 4)}

    def test_save_load_is_bit_exact_and_deterministic(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            first, second = os.path.join(tmp, "1.safetensors"), os.path.join(tmp, "2.safetensors")
            weights.save_safetensors(first, self.tensors(), {"format": "pt"})
            weights.save_safetensors(second, self.tensors(), {"format": "pt"})
            with open(first, "rb") as a, open(second, "rb") as b:
                self.assertEqual(a.read(), b.read())
            loaded = weights.load_safetensors(first)
            for name, tensor in self.tensors().items():
                self.assertEqual(loaded[name].dtype, tensor.dtype, name)
                self.assertTrue(torch.equal(loaded[name], tensor), name)

    def test_sharded_legacy_paligemma_names_are_canonicalised(self) -> None:
        legacy = {"language_model.model.norm.weight": torch.ones(4).to(torch.bfloat16),
                  "vision_tower.vision_model.post_layernorm.bias": torch.zeros(2),
                  "language_model.model.layers.0.self_attn.rotary_emb.inv_freq": torch.ones(2)}
        with tempfile.TemporaryDirectory() as tmp:
            names = sorted(legacy)
            weights.save_safetensors(os.path.join(tmp, "a.safetensors"), {names[0]: legacy[names[0]]})
            weights.save_safetensors(os.path.join(tmp, "b.safetensors"),
                                     {n: legacy[n] for n in names[1:]})
            index = {"weight_map": {names[0]: "a.safetensors",
                                    **{n: "b.safetensors" for n in names[1:]}}}
            with open(os.path.join(tmp, "model.safetensors.index.json"), "w") as f:
                json.dump(index, f)
            loaded = weights.load_checkpoint(tmp)
        self.assertEqual(sorted(loaded), ["model.language_model.norm.weight",
                                          "model.vision_tower.vision_model.post_layernorm.bias"])
        self.assertEqual(weights.legacy_paligemma_names(loaded).keys(),
                         {"language_model.model.norm.weight",
                          "vision_tower.vision_model.post_layernorm.bias"})

    def test_rejects_offsets_past_the_body(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.safetensors")
            header = json.dumps({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
            with open(path, "wb") as f:
                f.write(len(header).to_bytes(8, "little") + header + b"\0" * 8)
            with self.assertRaisesRegex(ValueError, "'t'"):
                weights.load_safetensors(path)


class ConfigSpellings(unittest.TestCase):
    def test_v4_and_v5_spellings_parse_alike(self) -> None:
        configs = os.path.join(SOURCE_DIR, "tests", "fixtures", "configs")
        v5 = cfg.load_config(os.path.join(configs, "SmolVLM2-500M-Video-Instruct-v5"))
        self.assertEqual((v5.family, v5.dtype, v5.text.rope_theta), ("smolvlm", torch.float32, 1e5))
        samples = os.path.join(SOURCE_DIR, "samples", "models")
        v4 = cfg.load_config(os.path.join(samples, "SmolVLM-256M-Instruct"))
        self.assertEqual((v4.family, v4.dtype, v4.text.rope_theta), ("idefics3", torch.bfloat16, 1e5))
        self.assertEqual((v4.image_seq_len, v4.pad_token_id, v4.vision.hidden_size), (64, 2, 768))
        pg2 = cfg.load_config(os.path.join(configs, "paligemma2-3b-pt-224"))
        self.assertEqual((pg2.family, pg2.text.sliding_window, pg2.text.attention_scale),
                         ("paligemma2", 4096, 1 / 16))
        pg1 = cfg.load_config(os.path.join(samples, "paligemma-3b-pt-224"))
        self.assertEqual((pg1.image_seq_len, pg1.text.head_dim, pg1.tie_word_embeddings),
                         (256, 256, True))
        gen = cfg.load_generation_config(os.path.join(configs, "SmolVLM2-500M-Video-Instruct-v5"), v5)
        self.assertEqual((gen.eos_token_ids, gen.repetition_penalty), ([49279], 1.1))


class Prompts(unittest.TestCase):
    def test_smolvlm_chat_then_expansion(self) -> None:
        folder = os.path.join(SOURCE_DIR, "samples", "models", "SmolVLM-256M-Instruct")
        config = cfg.load_config(folder)
        text = processing.prompt_text(folder, config, "Hi?", [(1, 2)])
        tile = "<image>" * 64
        self.assertEqual(text, "<|im_start|>User:<fake_token_around_image><row_1_col_1>" + tile +
                         "<fake_token_around_image><row_1_col_2>" + tile + "\n\n"
                         "<fake_token_around_image><global-img>" + tile +
                         "<fake_token_around_image>Hi?<end_of_utterance>\nAssistant:")
        self.assertEqual(processing.prompt_text(folder, config, "Hi", [], chat=True),
                         "<|im_start|>User: Hi<end_of_utterance>\nAssistant:")

    def test_paligemma_prefix(self) -> None:
        folder = os.path.join(SOURCE_DIR, "tests", "fixtures", "configs", "tiny-paligemma")
        config = cfg.load_config(folder)
        self.assertEqual(processing.prompt_text(folder, config, "caption en", [(0, 0)]),
                         "<image>" * 4 + "<bos>caption en\n")


if __name__ == "__main__":
    unittest.main()
