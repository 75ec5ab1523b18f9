"""The three exported graphs as torch modules over the reference model (scripts/reference).

Each wrapper only re-wires the reference's blocks into the published ONNX signatures
(docs ONNX-LAYOUT.md "Graphs"): the math (attention, RoPE, norms, MLPs, connectors) is the
reference's own code. What is written here is what tracing needs: the KV cache comes in as
tensors, masks are built from tensor ops instead of Python control flow.

    EmbedTokens(model)       input_ids int64 [B, S] -> inputs_embeds [B, S, H]   (never scaled)
    PaliGemmaVision(model)   pixel_values [B, 3, S, S] -> image_features [B, P, H] (÷ sqrt(H))
    Idefics3Vision(model)    pixel_values [B, N, 3, S, S], pixel_attention_mask bool [B, N, S, S]
                             -> image_features [frames, T, H]  (all-zero frames dropped)
    Decoder(model)           inputs_embeds, [attention_mask], position_ids, num_logits_to_keep,
                             past k/v per layer -> logits, present k/v per layer
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from scripts.reference.attention import additive_mask
from scripts.reference.decoder import KVCache, rope_tables
from scripts.reference.models import VisionLanguageModel


class EmbedTokens(nn.Module):
    def __init__(self, model: VisionLanguageModel) -> None:
        super().__init__()
        self.embed_tokens = model.text_model.embed_tokens
        self.image_token_id = model.config.image_token_id
        self.vocab_size = model.config.text.vocab_size

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.image_token_id >= self.vocab_size:  # looked up as 0 (MODELS.md §4)
            input_ids = torch.where(input_ids == self.image_token_id,
                                    torch.zeros_like(input_ids), input_ids)
        # Gemma's ×sqrt(H) happens in the decoder, after the image merge (ONNX-LAYOUT.md).
        return self.embed_tokens(input_ids)


class PaliGemmaVision(nn.Module):
    def __init__(self, model: VisionLanguageModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # Projector output ÷ sqrt(text hidden size): exactly what is merged (MODELS.md §3.3).
        return self.model.image_features(pixel_values, None)[1]


class Idefics3Vision(nn.Module):
    """The reference's Idefics3 image path in traceable form: the patch mask, the bucketed
    position ids and the dropping of all-zero padding frames are tensor ops here (the reference
    uses Python loops over masks)."""

    def __init__(self, model: VisionLanguageModel) -> None:
        super().__init__()
        self.model = model
        vision = model.config.vision
        self.patch = vision.patch_size
        self.per_side = vision.patches_per_side
        self.image_size = vision.image_size

    def _position_ids(self, patch_mask: torch.Tensor) -> torch.Tensor:
        """bh(r)·N + bw(c) with bh(r) = floor(r·N / nb_h) over the valid top-left nb_h × nb_w
        rectangle (nb counted in column 0 / row 0), 0 elsewhere (MODELS.md §3.2). Equals the
        reference's row-major assignment whenever the valid patches form that rectangle, which is
        what the processor's bottom/right padding produces."""
        n = self.per_side
        nb_h = patch_mask[:, :, 0].sum(1).clamp(min=1)[:, None, None]
        nb_w = patch_mask[:, 0, :].sum(1).clamp(min=1)[:, None, None]
        index = torch.arange(n, dtype=torch.long)
        rows = torch.div(index[None, :, None] * n, nb_h, rounding_mode="floor")
        cols = torch.div(index[None, None, :] * n, nb_w, rounding_mode="floor")
        ids = rows * n + cols
        return torch.where(patch_mask, ids, torch.zeros_like(ids)).flatten(1)

    def forward(self, pixel_values: torch.Tensor,
                pixel_attention_mask: torch.Tensor) -> torch.Tensor:
        s, p, n = self.image_size, self.patch, self.per_side
        frames = pixel_values.reshape(-1, 3, s, s)
        pixels = pixel_attention_mask.reshape(-1, s, s)
        # All-zero frames are batch padding and are dropped; the first frame is kept when every
        # frame is zero (MODELS.md §3.2, reference models.Idefics3.image_features).
        real = (frames != 0).flatten(1).any(1)
        first = torch.arange(real.shape[0]) == 0
        real = real | (first & ~real.any())
        frames, pixels = frames[real], pixels[real]
        # A patch is valid when any pixel of its p×p block is; trailing pixels that fill no patch
        # are ignored like the stride-p conv ignores them.
        blocks = pixels[:, :n * p, :n * p].reshape(-1, n, p, n, p)
        patch_mask = blocks.any(4).any(2)

        tower = self.model.model.vision_model
        embeddings = tower.embeddings
        x = embeddings.patch_embedding(frames.to(embeddings.patch_embedding.weight.dtype))
        x = x.flatten(2).transpose(1, 2)
        x = x + embeddings.position_embedding(self._position_ids(patch_mask))
        # Invalid patches are masked as keys; when all are valid the mask adds exact zeros, which
        # is the reference's "no mask" result (MODELS.md §3.2).
        mask = additive_mask(patch_mask.flatten(1), x.dtype)[:, None, None, :]
        for layer in tower.encoder.layers:
            x = layer(x, mask)
        return self.model.model.connector(tower.post_layernorm(x))


class _TracedCache(KVCache):
    """The reference's KVCache seeded with the graph's past tensors. append() hands attention
    the GQA-broadcast K/V (query head h reads KV head h // groups, what the reference's
    repeat_interleave computes) so that eager_attention sees groups == 1: torch 1.13 exports
    repeat_interleave over dynamic axes wrongly. The cache itself keeps the kv_heads layout."""

    def __init__(self, past: list[torch.Tensor], groups: int) -> None:
        super().__init__(len(past) // 2)
        self.keys = list(past[0::2])
        self.values = list(past[1::2])
        self.groups = groups

    def _broadcast(self, t: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return t
        b, heads, length, dim = t.shape
        return t[:, :, None].expand(b, heads, self.groups, length, dim).reshape(
            b, heads * self.groups, length, dim)

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = super().append(layer, k, v)
        return self._broadcast(k), self._broadcast(v)


class Decoder(nn.Module):
    """decoder_model_merged. Masks (ONNX-LAYOUT.md, MODELS.md §3.8):
    - with `attention_mask` (SmolVLM): key j is visible to the query in cache slot i when j ≤ i
      and attention_mask[b, j] != 0;
    - without (PaliGemma): causal over cache slots, except that a first step (zero-length past)
      is the prefill, which attends bidirectionally over the whole prompt;
    - Gemma2 sliding layers add i − j < sliding_window (the prefill's bidirectional block is
      OR-ed on top, as the reference composes it).
    `num_logits_to_keep` k > 0 returns logits for the last k positions only (k ≥ S: all);
    k = 0 returns every position (Hugging Face's convention)."""

    def __init__(self, model: VisionLanguageModel, with_attention_mask: bool) -> None:
        super().__init__()
        self.model = model
        self.text = model.text_model
        self.with_attention_mask = with_attention_mask
        self.bidirectional_prefill = model.config.is_paligemma

    def _allowed(self, query_slots: torch.Tensor, total: torch.Tensor, past_len: torch.Tensor,
                 attention_mask: Optional[torch.Tensor], window: Optional[int]) -> torch.Tensor:
        keys = torch.arange(total)
        allowed = keys[None, :] <= query_slots[:, None]
        if window is not None:
            allowed = allowed & (query_slots[:, None] - keys[None, :] < window)
        allowed = allowed[None, None]  # [1, 1, S, T]
        if attention_mask is not None:
            allowed = allowed & (attention_mask != 0)[:, None, None, :]
        if self.bidirectional_prefill:
            allowed = allowed | (past_len == 0)
        return allowed

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: Optional[torch.Tensor],
                position_ids: torch.Tensor, num_logits_to_keep: torch.Tensor,
                past: list[torch.Tensor]) -> list[torch.Tensor]:
        c = self.text.config
        x = inputs_embeds.to(self.text.norm.weight.dtype)
        if c.architecture != "llama":
            # Gemma scales all embeddings, image rows included (MODELS.md §3.5).
            x = x * torch.tensor(c.hidden_size ** 0.5, dtype=x.dtype)
        batch, length = x.shape[0], x.shape[1]
        past_len = torch._shape_as_tensor(past[0])[2]
        total = past_len + length
        cos, sin = rope_tables(position_ids.reshape(-1), c.head_dim, c.rope_theta, x.dtype)
        cos = cos.reshape(batch, 1, length, c.head_dim)
        sin = sin.reshape(batch, 1, length, c.head_dim)
        slots = torch.arange(length) + past_len
        full = additive_mask(self._allowed(slots, total, past_len, attention_mask, None), x.dtype)
        sliding = full
        if c.architecture == "gemma2" and c.sliding_window is not None:
            sliding = additive_mask(self._allowed(slots, total, past_len, attention_mask,
                                                  int(c.sliding_window)), x.dtype)
        cache = _TracedCache(past, c.num_attention_heads // c.num_key_value_heads)
        for index, layer in enumerate(self.text.layers):
            mask = sliding if c.is_sliding_layer(index) else full
            x = layer(x, cos, sin, mask, cache, index)
        hidden = self.text.norm(x)
        length_t = torch._shape_as_tensor(x)[1]
        keep = torch.where(num_logits_to_keep > 0, torch.minimum(num_logits_to_keep, length_t),
                           length_t)
        hidden = torch.index_select(hidden, 1, torch.arange(length_t - keep, length_t))
        logits = self.model._logits(hidden)
        present: list[torch.Tensor] = []
        for k, v in zip(cache.keys, cache.values):
            present += [k, v]
        return [logits] + present


def head_dims(model: VisionLanguageModel) -> tuple[int, int, int]:
    """(layers, kv_heads, head_dim) of the decoder's cache."""
    c = model.config.text
    return c.num_hidden_layers, c.num_key_value_heads, c.head_dim

