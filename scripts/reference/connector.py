"""Vision → text connectors (MODELS.md §3.3, §3.4).

Public API (stable):

    PaliGemmaProjector(vision_hidden, text_hidden)   parameter names: linear.{weight,bias}
        .forward(vision_out [n, P, Dv]) -> [n, P, H]  projector output divided by sqrt(H)
    Idefics3Connector(vision_hidden, text_hidden, scale)  parameter: modality_projection.proj.weight
        .forward(vision_out [n, G², Dv]) -> [n, (G/s)², H]
    pixel_shuffle(x [n, G², E], scale) -> [n, (G/s)², E·s²]
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import numerics


class PaliGemmaProjector(nn.Module):
    def __init__(self, vision_hidden: int, text_hidden: int) -> None:
        super().__init__()
        self.text_hidden = text_hidden
        self.linear = nn.Linear(vision_hidden, text_hidden)

    def forward(self, vision_out: torch.Tensor) -> torch.Tensor:
        # Divided by sqrt(text_config.hidden_size) — never the stale top-level hidden_size — as a
        # tensor ÷ Python float in the model dtype (MODELS.md §3.3), the float kept in f32 as
        # PyTorch 2 does (numerics.py point 2).
        return numerics.div_scalar(self.linear(vision_out), self.text_hidden ** 0.5)


def pixel_shuffle(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Space-to-depth: out[n, hq·(G/s)+wq, hr·s·E + wr·E + e] = x[n, (hq·s+hr)·G + wq·s+wr, e]
    (MODELS.md §3.4): each output token concatenates its s×s block row-major."""
    n, length, e = x.shape
    g = math.isqrt(length)
    if g * g != length or g % scale:
        raise ValueError(f"pixel_shuffle: {length} tokens are not a square grid divisible by {scale}")
    q = g // scale
    blocks = x.reshape(n, q, scale, q, scale, e)        # [n, hq, hr, wq, wr, e]
    return blocks.permute(0, 1, 3, 2, 4, 5).reshape(n, q * q, scale * scale * e)


class ModalityProjection(nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, out_features, bias=False)


class Idefics3Connector(nn.Module):
    def __init__(self, vision_hidden: int, text_hidden: int, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.modality_projection = ModalityProjection(vision_hidden * scale * scale, text_hidden)

    def forward(self, vision_out: torch.Tensor) -> torch.Tensor:
        return self.modality_projection.proj(pixel_shuffle(vision_out, self.scale))
