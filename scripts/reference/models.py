"""PaliGemma / PaliGemma2 and Idefics3 / SmolVLM / SmolVLM2 models wired from the shared blocks
(MODELS.md §3, §4). Batch size 1.

Public API (stable):

    load_model(model_dir, dtype=None, final_logit_softcap=False) -> VisionLanguageModel
    build_model(config, tensors, dtype=None, final_logit_softcap=False) -> VisionLanguageModel
    random_weights(config, seed, dtype=None) -> dict[str, torch.Tensor]   # HF (new-style) names

    model.prefill(input_ids, pixel_values=None, pixel_attention_mask=None, token_type_ids=None)
        -> (logits [L, V] in the model dtype, cache: DecodeCache,
            {"vision_out": [n, P, Dv] | None, "connector_out": [n, T, H] | None})
    model.decode_step(token_id: int, cache) -> logits [V] in the model dtype (cache advances)

Inputs accept lists, numpy arrays or tensors. pixel_values: PaliGemma [n_images, 3, S, S];
Idefics3 [n_frames, 3, S, S] or [1, n_frames, 3, S, S] (all-zero padding frames are dropped);
pixel_attention_mask [n_frames, S, S] (optional, 1 = real pixel). token_type_ids (PaliGemma only):
0 = prefix (bidirectional), 1 = suffix (causal); None = the whole prompt is prefix.
`vision_out` is the tower's post_layernorm output of the real frames; `connector_out` is exactly
what is merged into the <image> rows (PaliGemma: projector output / sqrt(H)).

dtype None runs in the checkpoint's dtype with real torch ops (bf16 math is what transformers
runs on PyTorch >= 2: numerics.py spells the ops where an older installed torch differs);
torch.float32 upcasts the weights exactly. `final_logit_softcap` applies Gemma2's
final_logit_softcapping; off by default, as in transformers v5 (MODELS.md §3.6, errata 14).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from . import numerics
from .config import ModelConfig, load_config
from .connector import Idefics3Connector, PaliGemmaProjector
from .decoder import KVCache, RMSNorm, TextModel
from .siglip import VisionTower, patch_mask_from_pixels
from .weights import load_checkpoint

torch.set_num_threads(2)  # reproducible bytes: GEMM splits depend on the thread count

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence[int]]


class DecodeCache(KVCache):
    """The KV cache of one sequence; `length` is the number of cached tokens."""


def _tensor(value: Any, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    return t if dtype is None else t.to(dtype)


class VisionLanguageModel(nn.Module):
    """Shared prefill/decode plumbing; subclasses supply the image path and positions."""

    position_offset = 0  # RoPE position of cache slot 0

    def __init__(self, config: ModelConfig, final_logit_softcap: bool) -> None:
        super().__init__()
        self.config = config
        self.final_logit_softcap = final_logit_softcap
        self.lm_head = nn.Linear(config.text.hidden_size, config.text.vocab_size, bias=False)

    @property
    def text_model(self) -> TextModel:
        raise NotImplementedError

    def image_features(self, pixel_values: torch.Tensor, pixel_attention_mask: Optional[torch.Tensor]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """→ (vision_out, connector_out)."""
        raise NotImplementedError

    def prefix_groups(self, token_type_ids: Optional[torch.Tensor], length: int
                      ) -> Optional[torch.Tensor]:
        return None

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        image = self.config.image_token_id
        if image >= self.config.text.vocab_size:  # looked up as 0, then overwritten (MODELS.md §4)
            ids = torch.where(ids == image, torch.zeros_like(ids), ids)
        return self.text_model.embed_tokens(ids)[None]

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.lm_head(hidden)
        cap = self.config.text.final_logit_softcapping
        if self.final_logit_softcap and self.config.text.architecture == "gemma2" and cap:
            # Softcap ops each round to the model dtype, scalars kept in f32 (numerics.py point 2).
            logits = numerics.mul_scalar(torch.tanh(numerics.div_scalar(logits, cap)), cap)
        return logits

    @torch.no_grad()
    def prefill(self, input_ids: ArrayLike, pixel_values: Optional[ArrayLike] = None,
                pixel_attention_mask: Optional[ArrayLike] = None,
                token_type_ids: Optional[ArrayLike] = None
                ) -> tuple[torch.Tensor, DecodeCache, dict[str, Optional[torch.Tensor]]]:
        ids = _tensor(input_ids, torch.long).flatten()
        embeds = self._embed(ids)
        vision_out = connector_out = None
        if pixel_values is not None:
            mask = None if pixel_attention_mask is None else _tensor(pixel_attention_mask)
            vision_out, connector_out = self.image_features(_tensor(pixel_values, torch.float32), mask)
            rows = ids == self.config.image_token_id
            features = connector_out.reshape(-1, connector_out.shape[-1]).to(embeds.dtype)
            if int(rows.sum()) != features.shape[0]:
                raise ValueError(f"the prompt has {int(rows.sum())} image tokens but the images "
                                 f"give {features.shape[0]} feature rows")
            # Merged in order, before Gemma's ×sqrt(H) normalizer (MODELS.md §4).
            embeds[0, rows] = features
        tt = None if token_type_ids is None else _tensor(token_type_ids, torch.long).flatten()
        cache = DecodeCache(self.config.text.num_hidden_layers)
        positions = torch.arange(ids.numel()) + self.position_offset
        hidden = self.text_model(embeds, positions, cache, self.prefix_groups(tt, ids.numel()))
        logits = self._logits(hidden)[0]
        return logits, cache, {"vision_out": vision_out, "connector_out": connector_out}

    @torch.no_grad()
    def decode_step(self, token_id: int, cache: DecodeCache) -> torch.Tensor:
        """One generated token, causal over the cache; image features are never re-merged and a
        generated <image> id gets its ordinary embedding (MODELS.md §3.8)."""
        embeds = self._embed(torch.tensor([int(token_id)]))
        positions = torch.tensor([cache.length + self.position_offset])
        return self._logits(self.text_model(embeds, positions, cache))[0, 0]


class _VisionTowerWrapper(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.vision_model = VisionTower(config.vision)


class _PaliGemmaInner(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.vision_tower = _VisionTowerWrapper(config)
        self.multi_modal_projector = PaliGemmaProjector(config.vision.hidden_size,
                                                        config.text.hidden_size)
        self.language_model = TextModel(config.text)


class PaliGemma(VisionLanguageModel):
    # PaliGemma positions are 1-based: position = cache slot + 1 (MODELS.md §3.8).
    position_offset = 1

    def __init__(self, config: ModelConfig, final_logit_softcap: bool = False) -> None:
        super().__init__(config, final_logit_softcap)
        self.model = _PaliGemmaInner(config)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.language_model.embed_tokens.weight

    @property
    def text_model(self) -> TextModel:
        return self.model.language_model

    def image_features(self, pixel_values: torch.Tensor, pixel_attention_mask: Optional[torch.Tensor]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        vision_out = self.model.vision_tower.vision_model(pixel_values)
        return vision_out, self.model.multi_modal_projector(vision_out)

    def prefix_groups(self, token_type_ids: Optional[torch.Tensor], length: int
                      ) -> Optional[torch.Tensor]:
        """Contiguous runs of token_type_ids == 0 form bidirectional blocks (transformers v5);
        without token_type_ids the whole prompt is one block (MODELS.md §3.8, errata 5)."""
        if token_type_ids is None:
            return torch.zeros(length, dtype=torch.long)
        prefix = token_type_ids == 0
        starts = prefix & ~torch.cat([torch.tensor([False]), prefix[:-1]])
        groups = torch.cumsum(starts.long(), 0) - 1
        return torch.where(prefix, groups, torch.full_like(groups, -1))


class _Idefics3Inner(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.vision_model = VisionTower(config.vision)
        self.connector = Idefics3Connector(config.vision.hidden_size, config.text.hidden_size,
                                           config.scale_factor)
        self.text_model = TextModel(config.text)


class Idefics3(VisionLanguageModel):
    """Idefics3 (SmolVLM) and SmolVLM (SmolVLM2): causal, 0-based positions (MODELS.md §3.8)."""

    def __init__(self, config: ModelConfig, final_logit_softcap: bool = False) -> None:
        super().__init__(config, final_logit_softcap)
        self.model = _Idefics3Inner(config)

    @property
    def text_model(self) -> TextModel:
        return self.model.text_model

    def image_features(self, pixel_values: torch.Tensor, pixel_attention_mask: Optional[torch.Tensor]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        frames = pixel_values.reshape(-1, *pixel_values.shape[-3:])
        if pixel_attention_mask is None:
            pixels = torch.ones(frames.shape[0], *frames.shape[-2:], dtype=torch.bool)
        else:
            pixels = pixel_attention_mask.reshape(-1, *pixel_attention_mask.shape[-2:]).bool()
        # All-zero frames are batch padding; a real frame never is, since normalisation maps
        # pixel 0 to −1. At least the first frame is kept (MODELS.md §3.2).
        real = (frames == 0.0).flatten(1).sum(1) != frames[0].numel()
        if not bool(real.any()):
            real[0] = True
        patch_mask = patch_mask_from_pixels(pixels[real], self.config.vision.patch_size)
        # SmolVLM leaves the cast to the caller, Idefics3 casts itself; either way the tower runs
        # in the model dtype (MODELS.md errata 11, §7.3).
        vision_out = self.model.vision_model(frames[real], patch_mask)
        return vision_out, self.model.connector(vision_out)


def build_model(config: ModelConfig, tensors: dict[str, torch.Tensor],
                dtype: Optional[torch.dtype] = None,
                final_logit_softcap: bool = False) -> VisionLanguageModel:
    """A model holding `tensors` (canonical HF names) cast to `dtype` (default: config.dtype)."""
    model = (PaliGemma if config.is_paligemma else Idefics3)(config, final_logit_softcap)
    expected = model.state_dict()
    if config.tie_word_embeddings:  # lm_head aliases embed_tokens (MODELS.md §2.1)
        tensors = {k: v for k, v in tensors.items() if k != "lm_head.weight"}
        expected = {k: v for k, v in expected.items() if k != "lm_head.weight"}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"checkpoint does not match the config: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(f"tensor {name!r} has shape {list(tensor.shape)}, "
                             f"config says {list(expected[name].shape)}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=False)
    return model.to(dtype or config.dtype).eval()


def load_model(model_dir: str, dtype: Optional[torch.dtype] = None,
               final_logit_softcap: bool = False) -> VisionLanguageModel:
    """config.json + (sharded) safetensors of a Hugging Face model folder."""
    config = load_config(model_dir)
    return build_model(config, load_checkpoint(model_dir), dtype, final_logit_softcap)


def random_weights(config: ModelConfig, seed: int,
                   dtype: Optional[torch.dtype] = None) -> dict[str, torch.Tensor]:
    """Seeded random weights with canonical HF names, drawn in fp32 on the CPU generator (the same
    bytes on every machine), then cast to `dtype` (default: config.dtype). Scales keep activations
    O(1) so that tiny models give decisive logits: linear/conv N(0, 1/fan_in), embeddings N(0, 1),
    norm scales 1 + N(0, 0.1) (Gemma stores w of 1 + w: N(0, 0.1)), biases N(0, 0.1)."""
    model = (PaliGemma if config.is_paligemma else Idefics3)(config)
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    for name, param in sorted(model.state_dict().items()):
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        owner = modules[name.rsplit(".", 1)[0]]
        noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
        if name.endswith("bias"):
            value = 0.1 * noise
        elif isinstance(owner, (nn.Linear, nn.Conv2d)):
            value = noise / float(np.sqrt(param[0].numel()))
        elif isinstance(owner, nn.Embedding):
            value = noise
        elif isinstance(owner, RMSNorm) and owner.gemma:
            value = 0.1 * noise
        else:  # LayerNorm / Llama RMSNorm scale
            value = 1.0 + 0.1 * noise
        out[name] = value.to(dtype or config.dtype)
    return out
