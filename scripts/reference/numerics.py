"""Half-precision ops spelled the way PyTorch >= 2 computes them on the CPU (MODELS.md §7.1-2).

The reference runs on whatever torch is installed; here that is Debian's 1.13, whose bf16 CPU
kernels differ from PyTorch 2 (what transformers users run, what vlmrt's engine follows) in four
places, each checked against the installed torch:

  1. F.silu and F.gelu(approximate="tanh") round every intermediate step to bf16; PyTorch 2
     computes in f32 and rounds once (`reduced_fp_to_float` in its Activation kernels).
  2. `bf16_tensor * python_float` and `/ python_float` round the scalar to bf16 first; PyTorch 2
     uses it as an f32 (`original_scalar_value<opmath_t>` in BinaryOpsKernel.cpp).
  3. matmuls too small for oneDNN (b·m·k·n ≤ 4096, e.g. decode attention over ≤ 64 keys), and
     every bmm/conv where oneDNN's bf16 path is unavailable (it needs AVX-512), accumulate in bf16,
     rounding every partial sum; PyTorch 2 accumulates in f32 and rounds once.
  4. LayerNorm on bf16 input and weights does not compute in f32 and round once, as PyTorch 2's
     mixed-type kernel does.

Each helper therefore computes in f32 and casts the result to the input dtype once. For f32 (and
the f64 the ONNX export traces in) it runs the plain op with no cast at all, so fp32 goldens and
traced graphs are exactly what they were. nn.Linear needs no helper: the installed torch's bf16
Linear already accumulates in f32 with one rounding, with or without oneDNN (checked on the
decoder's decode-step shapes too).

What no helper can pin is the last f32 bit of a kernel (summation order; the exp inside softmax
and SiLU): PyTorch 2 itself differs there by version and instruction set. Where such an f32 value
sits on a bf16 rounding midpoint, the bf16 output may round either way in another implementation;
the native engine's golden tests state where that happens in the fixtures.

Public API (stable):

    is_half(dtype) -> bool                   bf16 or f16: the dtypes the helpers upcast
    gelu_tanh(x), silu(x) -> Tensor           activation in f32, one rounding
    mul_scalar(x, s), div_scalar(x, s)        x · s, x / s with s as an f32 scalar
    matmul(a, b) -> Tensor                    f32 accumulation, one rounding
    conv2d(x, weight, bias, stride)           f32 accumulation (bias included), one rounding
    layer_norm(x, weight, bias, eps)          over the last dim, in f32, one rounding
"""
from __future__ import annotations

from typing import Optional

import torch
from torch.nn import functional as F

_HALF = (torch.bfloat16, torch.float16)


def is_half(dtype: torch.dtype) -> bool:
    return dtype in _HALF


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    if not is_half(x.dtype):
        return F.gelu(x, approximate="tanh")
    return F.gelu(x.float(), approximate="tanh").to(x.dtype)


def silu(x: torch.Tensor) -> torch.Tensor:
    if not is_half(x.dtype):
        return F.silu(x)
    return F.silu(x.float()).to(x.dtype)


def mul_scalar(x: torch.Tensor, s: float) -> torch.Tensor:
    if not is_half(x.dtype):
        return x * s
    # An f32 tensor times a Python float uses the scalar as f32: PyTorch 2's opmath scalar.
    return (x.float() * s).to(x.dtype)


def div_scalar(x: torch.Tensor, s: float) -> torch.Tensor:
    if not is_half(x.dtype):
        return x / s
    # A true division by the f32 scalar, not a multiplication by its reciprocal.
    return (x.float() / s).to(x.dtype)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if not is_half(a.dtype):
        return torch.matmul(a, b)
    # Products of two half values are exact in f32, so only the summation order (unspecified in
    # PyTorch 2 too) is left to the f32 kernel.
    return torch.matmul(a.float(), b.float()).to(a.dtype)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
           stride: int) -> torch.Tensor:
    if not is_half(x.dtype):
        return F.conv2d(x, weight, bias, stride)
    bias32 = None if bias is None else bias.float()
    return F.conv2d(x.float(), weight.float(), bias32, stride).to(x.dtype)


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               eps: float) -> torch.Tensor:
    shape = (x.shape[-1],)
    if not is_half(x.dtype):
        return F.layer_norm(x, shape, weight, bias, eps)
    return F.layer_norm(x.float(), shape, weight.float(), bias.float(), eps).to(x.dtype)
