"""SigLIP vision tower, PaliGemma and Idefics3/SmolVLM variants (MODELS.md §3.1, §3.2).

Public API (stable):

    VisionTower(config: VisionConfig)            nn.Module; parameter names are HF's below
                                                 `…vision_model.` (embeddings.*, encoder.layers.*,
                                                 post_layernorm.*)
    VisionTower.forward(pixel_values [n, 3, H, W], patch_mask: BoolTensor [n, H/p, W/p] | None)
        -> last_hidden_state [n, H/p · W/p, D]   (in the tower's dtype)
    bucketed_position_ids(patch_mask [h, w], patches_per_side) -> LongTensor [h·w]
    patch_mask_from_pixels(pixel_attention_mask [n, H, W], patch) -> BoolTensor [n, H/p, W/p]

`patch_mask=None` is the PaliGemma path: identity positions 0..N²−1 and no attention mask.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from . import numerics
from .attention import additive_mask, eager_attention
from .config import VisionConfig


def patch_mask_from_pixels(pixel_attention_mask: torch.Tensor, patch: int) -> torch.Tensor:
    """A patch is valid when any pixel of its p×p block is (MODELS.md §3.2); trailing pixels that do
    not fill a patch are ignored, like the stride-p conv."""
    blocks = pixel_attention_mask.unfold(1, patch, patch).unfold(2, patch, patch)
    return blocks.sum(dim=(-1, -2)) > 0


def bucketed_position_ids(patch_mask: torch.Tensor, patches_per_side: int) -> torch.Tensor:
    """Idefics3 position ids of one image: the valid region (nb_h × nb_w patches, counted in column
    0 and row 0) gets bh(r)·N + bw(c) with bh(r) = floor(r·N / nb_h), written row-major into the
    valid slots; invalid patches get 0. This is transformers' bucketize rule with the #41190 fix:
    full tiles get the identity 0..N²−1 (MODELS.md §3.2, errata 2)."""
    n = patches_per_side
    nb_h = int(patch_mask[:, 0].sum())
    nb_w = int(patch_mask[0].sum())
    rows = torch.div(torch.arange(nb_h) * n, nb_h, rounding_mode="floor")
    cols = torch.div(torch.arange(nb_w) * n, nb_w, rounding_mode="floor")
    ids = (rows[:, None] * n + cols[None, :]).flatten()
    flat = patch_mask.flatten()
    if int(flat.sum()) != ids.numel():
        raise ValueError(f"patch mask with {int(flat.sum())} valid patches is not the "
                         f"{nb_h}×{nb_w} rectangle its first row and column describe")
    out = torch.zeros(flat.numel(), dtype=torch.long)
    out[flat] = ids
    return out


class Embeddings(nn.Module):
    def __init__(self, c: VisionConfig) -> None:
        super().__init__()
        self.patch_size = c.patch_size
        self.patches_per_side = c.patches_per_side
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size)
        self.position_embedding = nn.Embedding(c.num_patches, c.hidden_size)

    def forward(self, pixel_values: torch.Tensor, patch_mask: Optional[torch.Tensor]) -> torch.Tensor:
        # Pixels are cast to the model dtype before the conv (MODELS.md §7.3). The conv
        # accumulates in f32 and rounds once, as PyTorch 2 does (numerics.py point 3).
        conv = self.patch_embedding
        x = numerics.conv2d(pixel_values.to(conv.weight.dtype), conv.weight, conv.bias,
                            self.patch_size)
        x = x.flatten(2).transpose(1, 2)  # patch index = row · W/p + col
        if patch_mask is None:
            ids = torch.arange(x.shape[1])[None].expand(x.shape[0], -1)
        else:
            ids = torch.stack([bucketed_position_ids(m, self.patches_per_side) for m in patch_mask])
        return x + self.position_embedding(ids)


class Attention(nn.Module):
    def __init__(self, c: VisionConfig) -> None:
        super().__init__()
        self.heads, self.scale = c.num_attention_heads, c.head_dim ** -0.5
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.out_proj = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        b, n, _ = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, -1).transpose(1, 2)

        out = eager_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)),
                              self.scale, mask)
        return self.out_proj(out)


class Mlp(nn.Module):
    def __init__(self, c: VisionConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # gelu_pytorch_tanh in f32, rounded once, as PyTorch 2 does (numerics.py point 1).
        return self.fc2(numerics.gelu_tanh(self.fc1(x)))


class LayerNorm(nn.LayerNorm):
    """nn.LayerNorm (same parameters and names) that, in bf16/f16, computes in f32 and rounds
    once, as PyTorch 2's mixed-type kernel does (numerics.py point 4; MODELS.md §7.2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return numerics.layer_norm(x, self.weight, self.bias, self.eps)


class EncoderLayer(nn.Module):
    def __init__(self, c: VisionConfig) -> None:
        super().__init__()
        self.layer_norm1 = LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.self_attn = Attention(c)
        self.layer_norm2 = LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = Mlp(c)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c: VisionConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.num_hidden_layers))


class VisionTower(nn.Module):
    """Pre-LN ViT without pooling head; output = post_layernorm(last layer) (MODELS.md §3.1)."""

    def __init__(self, c: VisionConfig) -> None:
        super().__init__()
        self.config = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.post_layernorm = LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor,
                patch_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.embeddings(pixel_values, patch_mask)
        mask = None
        # Invalid patches are masked as keys; with every patch valid no mask is used (§3.2).
        if patch_mask is not None and not bool(patch_mask.all()):
            mask = additive_mask(patch_mask.flatten(1), x.dtype)[:, None, None, :]
        for layer in self.encoder.layers:
            x = layer(x, mask)
        return self.post_layernorm(x)
