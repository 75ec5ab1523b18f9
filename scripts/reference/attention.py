"""Eager attention and masks shared by the SigLIP tower and the decoders (MODELS.md §3, §7).

The order of operations is the one transformers' eager path runs, so that bf16 rounding happens at
the same places: scores = (q·kᵀ)·scale in the model dtype, optional softcap, + additive mask,
softmax in fp32, cast back, ·V. Each op rounds once, as PyTorch 2 computes it (numerics.py).
"""
from __future__ import annotations

from typing import Optional

import torch

from . import numerics


def eager_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                    mask: Optional[torch.Tensor] = None,
                    softcap: Optional[float] = None) -> torch.Tensor:
    """q [B, H, Lq, d], k/v [B, Hkv, Lk, d] (H a multiple of Hkv) → [B, Lq, H·d].

    Query head h reads KV head h // (H/Hkv) (GQA/MQA broadcast). `mask` is additive, broadcast to
    [B, H, Lq, Lk], in the model dtype. The Gemma2 logit softcap runs after scaling and before the
    mask, in the model dtype (MODELS.md §3.6, §7.2).
    """
    groups = q.shape[1] // k.shape[1]
    if groups > 1:
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
    # Both products accumulate in f32 (torch 1.13 sums in bf16 when b·m·k·n ≤ 4096, e.g. decode
    # over ≤ 64 keys) and the Python scalars stay f32 (torch 1.13 rounds 24^-0.5 to bf16): what
    # PyTorch 2 does, numerics.py points 2 and 3.
    scores = numerics.mul_scalar(numerics.matmul(q, k.transpose(2, 3)), scale)
    if softcap is not None:
        # Three ops, three roundings to the model dtype, as transformers' Gemma2 writes it.
        scores = torch.tanh(numerics.div_scalar(scores, softcap))
        scores = numerics.mul_scalar(scores, softcap)
    if mask is not None:
        scores = scores + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    out = numerics.matmul(probs, v)
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)


def additive_mask(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Boolean "may attend" → 0 / finfo(dtype).min, never −inf, so a fully masked row gives a
    uniform softmax instead of NaN (MODELS.md §7.5)."""
    zero = torch.zeros((), dtype=dtype)
    return torch.where(allowed, zero, torch.tensor(torch.finfo(dtype).min, dtype=dtype))


def decoder_allowed(query_index: torch.Tensor, key_count: int,
                    sliding_window: Optional[int] = None,
                    prefix_groups: Optional[torch.Tensor] = None) -> torch.Tensor:
    """[Lq, Lk] boolean mask for the text decoder; indices are cache slots (0-based).

    Causal (key j ≤ query i), restricted to i − j < window on Gemma2's sliding layers. During a
    PaliGemma prefill, `prefix_groups[j]` ≥ 0 marks contiguous prefix blocks (token_type_ids = 0):
    tokens of one block see each other bidirectionally, OR-ed on top of the causal/sliding rule as
    transformers v5 composes it (MODELS.md §3.8, errata 5).
    """
    i = query_index[:, None]
    j = torch.arange(key_count)[None, :]
    allowed = j <= i
    if sliding_window is not None:
        allowed = allowed & (i - j < sliding_window)
    if prefix_groups is not None:
        gq = prefix_groups[query_index][:, None]
        gk = prefix_groups[:key_count][None, :]
        allowed = allowed | ((gq == gk) & (gq >= 0))
    return allowed
