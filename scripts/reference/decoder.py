"""One decoder block family for Gemma, Gemma2 and Llama, with a KV cache (MODELS.md §3.5–§3.8).

Public API (stable):

    TextModel(config: TextConfig)        nn.Module; parameter names are HF's below
                                         `model.language_model.` / `model.text_model.`
                                         (embed_tokens, layers.{i}.*, norm)
    TextModel.forward(inputs_embeds [1, L, H], positions LongTensor [L], cache: KVCache,
                      prefix_groups: LongTensor [L] | None = None) -> hidden [1, L, H]
        appends this chunk's post-RoPE K and V to `cache`; `positions` are RoPE positions
        (PaliGemma passes cache slot + 1); `prefix_groups` marks bidirectional prefix blocks.
    KVCache(num_layers)                  .keys/.values: per-layer [1, Hkv, T, d]; .length
    rope_tables(positions, head_dim, theta, dtype) -> (cos, sin)  each [L, head_dim]
    rms_norm(x, weight, eps, gemma: bool) -> Tensor

Switches: Gemma (1+w) RMSNorm in fp32, GeGLU, ×sqrt(H) embedding scale; Gemma2 adds four norms per
layer, query_pre_attn_scalar, the attention-logit softcap and sliding windows on even layers; Llama
casts before multiplying by w and uses SwiGLU.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from . import numerics
from .attention import additive_mask, decoder_allowed, eager_attention
from .config import TextConfig


class KVCache:
    """Post-RoPE K and V as computed, in the model dtype (MODELS.md §7.7)."""

    def __init__(self, num_layers: int) -> None:
        self.keys: list[Optional[torch.Tensor]] = [None] * num_layers
        self.values: list[Optional[torch.Tensor]] = [None] * num_layers
        self.length = 0

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        old_k, old_v = self.keys[layer], self.values[layer]
        self.keys[layer] = k if old_k is None else torch.cat([old_k, k], dim=2)
        self.values[layer] = v if old_v is None else torch.cat([old_v, v], dim=2)
        return self.keys[layer], self.values[layer]


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """fp32 inv_freq, one fp32 product pos·inv_freq, cos/sin in fp32 then cast to the model dtype
    (MODELS.md §3.5, §7.9)."""
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim
    inv_freq = 1.0 / (theta ** exponents)
    freqs = positions.to(torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Half-rotation (NeoX) RoPE in the model dtype: x·cos + rotate_half(x)·sin."""
    return x * cos + _rotate_half(x) * sin


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float, gemma: bool) -> torch.Tensor:
    """Gemma: everything in fp32, ×(1 + w), cast at the end. Llama: normalise in fp32, cast to the
    input dtype, then ×w in that dtype (MODELS.md §3.5, §3.7)."""
    x32 = x.to(torch.float32)
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    if gemma:
        return (normed * (1.0 + weight.to(torch.float32))).to(x.dtype)
    return weight * normed.to(x.dtype)


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float, gemma: bool) -> None:
        super().__init__()
        self.eps, self.gemma = eps, gemma
        self.weight = nn.Parameter(torch.zeros(size) if gemma else torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps, self.gemma)


class SelfAttention(nn.Module):
    def __init__(self, c: TextConfig) -> None:
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor,
                cache: KVCache, layer: int) -> torch.Tensor:
        b, n, _ = x.shape
        c = self.c

        def split(t: torch.Tensor, heads: int) -> torch.Tensor:
            return t.view(b, n, heads, c.head_dim).transpose(1, 2)

        q = apply_rope(split(self.q_proj(x), c.num_attention_heads), cos, sin)
        k = apply_rope(split(self.k_proj(x), c.num_key_value_heads), cos, sin)
        k, v = cache.append(layer, k, split(self.v_proj(x), c.num_key_value_heads))
        softcap = c.attn_logit_softcapping if c.architecture == "gemma2" else None
        return self.o_proj(eager_attention(q, k, v, c.attention_scale, mask, softcap))


class Mlp(nn.Module):
    def __init__(self, c: TextConfig) -> None:
        super().__init__()
        self.gated_gelu = c.architecture != "llama"  # GeGLU (gelu_tanh) vs SwiGLU
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gate_proj(x)
        # The activation in f32, rounded once, as PyTorch 2 does (numerics.py point 1).
        act = numerics.gelu_tanh(gate) if self.gated_gelu else numerics.silu(gate)
        return self.down_proj(act * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: TextConfig) -> None:
        super().__init__()
        gemma = c.architecture != "llama"
        self.sandwich = c.architecture == "gemma2"
        self.self_attn = SelfAttention(c)
        self.mlp = Mlp(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps, gemma)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps, gemma)
        if self.sandwich:
            self.pre_feedforward_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps, gemma)
            self.post_feedforward_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps, gemma)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor,
                cache: KVCache, layer: int) -> torch.Tensor:
        attn = self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, layer)
        if not self.sandwich:
            x = x + attn
            return x + self.mlp(self.post_attention_layernorm(x))
        # Gemma2: post-norms wrap both sub-blocks before the residual add (MODELS.md §3.6).
        x = x + self.post_attention_layernorm(attn)
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class TextModel(nn.Module):
    def __init__(self, c: TextConfig) -> None:
        super().__init__()
        self.config = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps, c.architecture != "llama")

    def forward(self, inputs_embeds: torch.Tensor, positions: torch.Tensor, cache: KVCache,
                prefix_groups: Optional[torch.Tensor] = None) -> torch.Tensor:
        c = self.config
        x = inputs_embeds
        if c.architecture != "llama":
            # Gemma scales all embeddings (image rows included) by sqrt(H) rounded to the model
            # dtype: 45.25 in bf16 for H = 2048 (MODELS.md §3.5).
            x = x * torch.tensor(c.hidden_size ** 0.5, dtype=x.dtype)
        cos, sin = rope_tables(positions, c.head_dim, c.rope_theta, x.dtype)
        slots = torch.arange(cache.length, cache.length + x.shape[1])
        keys = cache.length + x.shape[1]
        full = additive_mask(decoder_allowed(slots, keys, None, prefix_groups), x.dtype)
        sliding = (additive_mask(decoder_allowed(slots, keys, c.sliding_window, prefix_groups),
                                 x.dtype) if c.architecture == "gemma2" else full)
        for index, layer in enumerate(self.layers):
            mask = sliding if c.is_sliding_layer(index) else full
            x = layer(x, cos, sin, mask, cache, index)
        cache.length = keys
        return self.norm(x)
