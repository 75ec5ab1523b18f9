"""scripts/reference/numerics.py: half-precision ops with PyTorch 2 semantics on any installed torch
(bf16 in f32 with one rounding, f32 scalars, f32 accumulation), and untouched fp32/f64 ops (the
fp32 goldens and the ONNX export's f64 traces depend on that)."""
from __future__ import annotations

import os
import sys
import unittest

import torch
from torch.nn import functional as F

sys.path.insert(0, os.environ.get("VLMRT_SOURCE_DIR",
                                  os.path.join(os.path.dirname(__file__), "..", "..")))
from scripts.reference import numerics, siglip  # noqa: E402

BF16 = torch.bfloat16


def sample(shape: tuple[int, ...], scale: float = 3.0, seed: int = 0) -> torch.Tensor:
    return (torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale).to(BF16)


def ulps_apart(got: torch.Tensor, want: torch.Tensor) -> torch.Tensor:
    """|got - want| in bf16 ulps of want (both bf16), ulps of 2^-6 below that magnitude: near 0
    the f32 kernels lose relative precision by cancellation (gelu(-10) = -10·(1 + tanh(...)))
    where float64 does not, which says nothing about where the result is rounded."""
    exponent = torch.floor(torch.log2(want.double().abs().clamp_min(2.0 ** -6)))
    return (got.double() - want.double()).abs() / torch.pow(2.0, exponent - 7)


def check_rounds_once(test: unittest.TestCase, got: torch.Tensor, exact: torch.Tensor) -> None:
    """Against float64 math rounded once to bf16: every value within 1 ulp, nearly all equal (f32
    and f64 only disagree where an f32 result sits next to a bf16 rounding midpoint). Rounding
    every intermediate to bf16 (torch 1.13's kernels) misses by several ulps."""
    test.assertEqual(got.dtype, BF16)
    want = exact.to(BF16)
    apart = ulps_apart(got, want)
    test.assertLessEqual(float(apart.max()), 1.0)
    normal = want.double().abs() >= 2.0 ** -6
    test.assertGreaterEqual(float((apart[normal] == 0).double().mean()), 0.999)


class HalfPrecisionRoundsOnce(unittest.TestCase):

    def test_gelu_tanh(self) -> None:
        x = sample((20000,))
        check_rounds_once(self, numerics.gelu_tanh(x), F.gelu(x.double(), approximate="tanh"))

    def test_silu(self) -> None:
        x = sample((20000,))
        check_rounds_once(self, numerics.silu(x), F.silu(x.double()))

    def test_layer_norm(self) -> None:
        x, w, b = sample((64, 96), 2.0), sample((96,), 0.3, 1) + 1, sample((96,), 0.1, 2)
        got = numerics.layer_norm(x, w, b, 1e-6)
        exact = F.layer_norm(x.double(), (96,), w.double(), b.double(), 1e-6)
        check_rounds_once(self, got, exact)
        # The SigLIP blocks use it, parameters and names unchanged.
        norm = siglip.LayerNorm(96, eps=1e-6).to(BF16)
        with torch.no_grad():
            norm.weight.copy_(w)
            norm.bias.copy_(b)
        self.assertEqual(sorted(n for n, _ in norm.named_parameters()), ["bias", "weight"])
        self.assertTrue(torch.equal(norm(x), got))


class ScalarsStayF32(unittest.TestCase):
    def test_attention_scale_is_not_rounded_to_bf16(self) -> None:
        x = sample((4096,))
        scale = 24 ** -0.5  # tiny-paligemma2's vision scale; 0.2041015625 in bf16
        want = (x.float() * torch.tensor(scale, dtype=torch.float32)).to(BF16)
        self.assertTrue(torch.equal(numerics.mul_scalar(x, scale), want))
        rounded_scalar = (x.float() * torch.tensor(scale).to(BF16).float()).to(BF16)
        self.assertFalse(torch.equal(numerics.mul_scalar(x, scale), rounded_scalar))

    def test_division_is_a_true_division_by_the_f32_scalar(self) -> None:
        x = sample((4096,))
        divisor = 64 ** 0.5 + 0.25
        want = (x.float() / torch.tensor(divisor, dtype=torch.float32)).to(BF16)
        self.assertTrue(torch.equal(numerics.div_scalar(x, divisor), want))


class MatmulAccumulatesInF32(unittest.TestCase):
    def test_small_matmul_keeps_the_small_terms(self) -> None:
        # 1 + 64 · 2^-8: a bf16 accumulator rounds every 1 + 2^-8 back to 1 (torch 1.13 does this
        # for b·m·k·n ≤ 4096, here 65); f32 accumulation keeps all of them: 1.25, exact in bf16.
        a = torch.ones(1, 1, 65, dtype=BF16)
        b = torch.full((1, 65, 1), 2.0 ** -8, dtype=BF16)
        b[0, 0, 0] = 1.0
        got = numerics.matmul(a, b)
        self.assertEqual(got.dtype, BF16)
        self.assertEqual(float(got), 1.25)

    def test_random_matmul_and_conv_round_once(self) -> None:
        q, k = sample((2, 4, 9, 16)), sample((2, 4, 16, 7), seed=1)
        check_rounds_once(self, numerics.matmul(q, k), q.double() @ k.double())
        pixels, kernel, bias = sample((3, 3, 32, 32)), sample((16, 3, 8, 8), 0.05, 1), sample((16,))
        exact = F.conv2d(pixels.double(), kernel.double(), bias.double(), 8)
        check_rounds_once(self, numerics.conv2d(pixels, kernel, bias, 8), exact)


class FullPrecisionIsUntouched(unittest.TestCase):
    """fp32 goldens stay byte-identical and the ONNX export's float64 traces keep float64."""

    def test_every_helper_is_the_plain_op(self) -> None:
        for dtype in (torch.float32, torch.float64):
            g = torch.Generator().manual_seed(3)
            x = torch.randn(2, 3, 8, 16, generator=g, dtype=dtype)
            y = torch.randn(2, 3, 16, 8, generator=g, dtype=dtype)
            w = torch.randn(16, generator=g, dtype=dtype)
            b = torch.randn(16, generator=g, dtype=dtype)
            pixels = torch.randn(1, 3, 16, 16, generator=g, dtype=dtype)
            kernel = torch.randn(4, 3, 8, 8, generator=g, dtype=dtype)
            pairs = [
                (numerics.gelu_tanh(x), F.gelu(x, approximate="tanh")),
                (numerics.silu(x), F.silu(x)),
                (numerics.mul_scalar(x, 24 ** -0.5), x * 24 ** -0.5),
                (numerics.div_scalar(x, 8 ** 0.5), x / 8 ** 0.5),
                (numerics.matmul(x, y), torch.matmul(x, y)),
                (numerics.layer_norm(x, w, b, 1e-6), F.layer_norm(x, (16,), w, b, 1e-6)),
                (numerics.conv2d(pixels, kernel, w[:4], 8), F.conv2d(pixels, kernel, w[:4], 8)),
            ]
            for got, want in pairs:
                self.assertEqual(got.dtype, dtype)
                self.assertTrue(torch.equal(got, want))


if __name__ == "__main__":
    torch.set_num_threads(2)
    unittest.main()
