"""The PyTorch reference's model behaviour on small random configs (MODELS.md §3, §7.7):
prefill vs cached decode, Gemma2 sliding window and softcaps, prefix-LM vs causal masks,
determinism."""
from __future__ import annotations

import os
import sys
import unittest
from typing import Any

import torch

sys.path.insert(0, os.environ.get("VLMRT_SOURCE_DIR",
                                  os.path.join(os.path.dirname(__file__), "..", "..")))
from scripts.reference import attention, generate, models  # noqa: E402
from scripts.reference.config import ModelConfig, parse_config  # noqa: E402

VISION = {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2,
          "num_hidden_layers": 2, "image_size": 32, "patch_size": 8}


def paligemma_config(text_type: str = "gemma", **text: Any) -> ModelConfig:
    text_config = {"model_type": text_type, "hidden_size": 32, "intermediate_size": 48,
                   "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 1,
                   "head_dim": 8, "vocab_size": 64, **text}
    return parse_config({"model_type": "paligemma", "image_token_index": 63, "torch_dtype": "float32",
                         "text_config": text_config, "vision_config": dict(VISION)})


def smolvlm_config() -> ModelConfig:
    return parse_config({
        "model_type": "idefics3", "image_token_id": 60, "scale_factor": 2, "torch_dtype": "float32",
        "text_config": {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 3,
                        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
                        "rope_theta": 100000, "rms_norm_eps": 1e-5},
        "vision_config": dict(VISION)})


def model_for(config: ModelConfig, seed: int = 0, **kwargs: Any) -> models.VisionLanguageModel:
    return models.build_model(config, models.random_weights(config, seed), **kwargs)


def prompt(config: ModelConfig, text: list[int], images: int = 1) -> tuple[list[int], torch.Tensor]:
    generator = torch.Generator().manual_seed(7)
    frames = images if config.is_paligemma else 2 * images
    pixels = torch.rand(frames, 3, 32, 32, generator=generator) * 2 - 1
    per_frame = config.image_seq_len
    return [config.image_token_id] * per_frame * frames + text, pixels


class PrefillMatchesDecode(unittest.TestCase):
    def check(self, config: ModelConfig, tail: int = 5) -> None:
        model = model_for(config)
        ids, pixels = prompt(config, [2, 5, 9, 11, 3, 17, 8, 21, 30, 4])
        split = len(ids) - tail
        # PaliGemma: the tail is a suffix (token_type_ids = 1), causal like decode (§3.8).
        types = [0] * split + [1] * tail if config.is_paligemma else None
        full, _, _ = model.prefill(ids, pixels, token_type_ids=types)
        _, cache, _ = model.prefill(ids[:split], pixels)
        for offset, token in enumerate(ids[split:]):
            step = model.decode_step(token, cache)
            torch.testing.assert_close(step, full[split + offset], rtol=0, atol=1e-5)

    def test_gemma_prefill_equals_cached_decode(self) -> None:
        self.check(paligemma_config("gemma"))

    def test_gemma2_with_sliding_window_prefill_equals_cached_decode(self) -> None:
        config = paligemma_config("gemma2", sliding_window=6, query_pre_attn_scalar=8,
                                  attn_logit_softcapping=2.0, final_logit_softcapping=None)
        self.check(config, tail=8)

    def test_llama_prefill_equals_cached_decode(self) -> None:
        self.check(smolvlm_config())


class Gemma2Switches(unittest.TestCase):
    def test_sliding_window_changes_only_positions_past_the_window(self) -> None:
        window = 4
        weights = models.random_weights(paligemma_config("gemma2"), 3)
        ids = [2, 5, 9, 11, 3, 17, 8, 21, 30, 4]
        causal = [1] * len(ids)  # no prefix: plain causal rows
        outputs = []
        for sliding in (window, 4096):
            config = paligemma_config("gemma2", sliding_window=sliding)
            outputs.append(models.build_model(config, weights).prefill(ids, token_type_ids=causal)[0])
        small, large = outputs
        self.assertTrue(torch.equal(small[:window], large[:window]))
        for position in range(window, len(ids)):
            self.assertFalse(torch.equal(small[position], large[position]), position)

    def test_attention_softcap_is_applied_after_scale_and_before_mask(self) -> None:
        generator = torch.Generator().manual_seed(1)
        q, k, v = (torch.randn(1, 2, 5, 4, generator=generator) * 4 for _ in range(3))
        mask = attention.additive_mask(attention.decoder_allowed(torch.arange(5), 5), torch.float32)
        got = attention.eager_attention(q, k, v, 0.5, mask, softcap=3.0)
        scores = torch.tanh((q @ k.transpose(2, 3)) * 0.5 / 3.0) * 3.0 + mask
        expected = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(1, 5, 8)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
        self.assertFalse(torch.allclose(got, attention.eager_attention(q, k, v, 0.5, mask)))

    def test_final_logit_softcap_is_a_flag(self) -> None:
        config = paligemma_config("gemma2", final_logit_softcapping=10.0)
        weights = models.random_weights(config, 4)
        ids = [2, 5, 9, 11]
        plain = models.build_model(config, weights).prefill(ids)[0]
        capped = models.build_model(config, weights, final_logit_softcap=True).prefill(ids)[0]
        self.assertGreater(float(plain.abs().max()), 10.0)
        self.assertLessEqual(float(capped.abs().max()), 10.0)
        torch.testing.assert_close(capped, torch.tanh(plain / 10.0) * 10.0)
        self.assertTrue(torch.equal(plain.argmax(-1), capped.argmax(-1)))


class PrefixLmVersusCausal(unittest.TestCase):
    def earlier_rows_change(self, config: ModelConfig) -> bool:
        model = model_for(config)
        ids, pixels = prompt(config, [2, 5, 9, 11, 3])
        changed = ids[:-1] + [40]
        before = model.prefill(ids, pixels)[0][:-1]
        after = model.prefill(changed, pixels)[0][:-1]
        return not torch.equal(before, after)

    def test_paligemma_prompt_is_bidirectional(self) -> None:
        self.assertTrue(self.earlier_rows_change(paligemma_config()))

    def test_smolvlm_prompt_is_causal(self) -> None:
        self.assertFalse(self.earlier_rows_change(smolvlm_config()))


class Deterministic(unittest.TestCase):
    def test_two_runs_give_identical_bytes(self) -> None:
        for config in (paligemma_config("gemma2"), smolvlm_config()):
            runs = []
            for _ in range(2):
                ids, pixels = prompt(config, [2, 5, 9])
                result = generate.greedy(model_for(config, 5), ids, pixels, max_new_tokens=4)
                runs.append((result.tokens, result.step_logits.numpy().tobytes(),
                             result.prefill_logits.numpy().tobytes(),
                             result.intermediates["connector_out"].numpy().tobytes()))
            self.assertEqual(runs[0], runs[1])

    def test_bf16_run_stays_in_bf16(self) -> None:
        config = smolvlm_config()
        model = model_for(config, dtype=torch.bfloat16)
        ids, pixels = prompt(config, [2, 5])
        logits, cache, inter = model.prefill(ids, pixels)
        self.assertEqual(logits.dtype, torch.bfloat16)
        self.assertEqual(cache.keys[0].dtype, torch.bfloat16)
        self.assertEqual(inter["vision_out"].dtype, torch.bfloat16)


class Greedy(unittest.TestCase):
    def test_ties_go_to_the_lowest_index_and_eos_stops(self) -> None:
        self.assertEqual(generate.pick_token(torch.tensor([0.0, 3.0, 1.0, 3.0])), 1)
        config = smolvlm_config()
        model = model_for(config)
        ids, pixels = prompt(config, [2, 5])
        free = generate.greedy(model, ids, pixels, max_new_tokens=6)
        self.assertEqual(len(free.tokens), 6)
        stopped = generate.greedy(model, ids, pixels, max_new_tokens=6,
                                  eos_token_ids=[free.tokens[1]])
        self.assertEqual(stopped.tokens, free.tokens[:free.tokens.index(free.tokens[1]) + 1])


if __name__ == "__main__":
    torch.set_num_threads(2)
    unittest.main()
