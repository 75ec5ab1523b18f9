// Scalar building blocks of the native CPU ops, written so that GCC/Clang auto-vectorise the
// loops that call them: dtype rounding and branch-free exp/tanh (~1 ulp, like the SLEEF routines
// PyTorch's vectorised CPU kernels use).
//
// Every .cpp that uses these must start with the no-FMA-contraction pragmas of ops.cpp:
// contracting a*b+c into an FMA changes low bits depending on the ISA a kernel was
// compiled for, and the Bf16 emulation is specified bit for bit (MODELS.md §7.1b).
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

#include "backends/native/cpu/ops.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

// Forced inlining: these must inline into the ISA-specific kernels (attention.cpp) to be
// compiled for that ISA.
#if defined(__GNUC__)
#define VLMRT_OPS_INLINE [[gnu::always_inline]] inline
#else
#define VLMRT_OPS_INLINE inline
#endif

namespace vlmrt::native::detail {

// Round-to-nearest-even to bf16, kept in f32 storage; identical to
// bf16_to_f32(f32_to_bf16(x)) including NaN quieting (core/dtype.cpp), but branch-free.
VLMRT_OPS_INLINE float round_bf16(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  const std::uint32_t nan = (bits | 0x00400000u) & 0xffff0000u;
  return std::bit_cast<float>((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

VLMRT_OPS_INLINE float round_to(Precision precision, float x) {
  switch (precision) {
    case Precision::F32:
      return x;
    case Precision::Bf16:
      return round_bf16(x);
    case Precision::F16:
      return f16_to_f32(f32_to_f16(x));
  }
  return x;
}

// 2^k for k in [-126, 127] (a normal float built from its exponent bits).
VLMRT_OPS_INLINE float exp2_int(std::int32_t k) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(k + 127) << 23);
}

// e^x with ~1 ulp error: Cody-Waite reduction by ln 2 and a degree-6 polynomial (Cephes expf
// coefficients). Overflows to +inf, underflows through the subnormals to 0, keeps NaN.
VLMRT_OPS_INLINE float fast_exp(float x) {
  const float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  // Round-to-nearest via the 1.5·2^23 trick: no SSE4.1 `floor` needed on the x86-64 baseline.
  const float t = xc * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  // Scale by 2^n in two steps so that subnormal results round once, correctly.
  const std::int32_t ni = static_cast<std::int32_t>(n);
  const std::int32_t n1 = ni / 2;
  const float result = y * exp2_int(n1) * exp2_int(ni - n1);
  return x != x ? x : result;
}

// tanh with ~1-2 ulp error: an odd polynomial near 0 (Cephes tanhf), 1 − 2/(e^{2|x|} + 1) beyond.
VLMRT_OPS_INLINE float fast_tanh(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float big_abs = 1.0f - 2.0f / (fast_exp(2.0f * ax) + 1.0f);
  // PyTorch's CPU tanh (SLEEF tanhf_u10) returns exactly ±1 beyond |x| = 8.664339742 (where
  // tanh is within 2^-25 of 1); matching that keeps gelu's far negative tail at -0 as in torch.
  const float saturated = ax > 8.664339742f ? 1.0f : big_abs;
  const float big = x < 0.0f ? -saturated : saturated;
  return ax < 0.625f ? small : big;
}

// PyTorch's gelu(approximate="tanh") on CPU, operation for operation (ATen Gelu.h, its float
// path, which bf16 inputs also take): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); gelu(−inf) = 0.
VLMRT_OPS_INLINE float gelu_tanh_f32(float x) {
  const float kBeta = 0.7978845608028654f;  // M_SQRT2 * M_2_SQRTPI * 0.5
  const float kKappa = 0.044715f;
  const float x_cube = x * x * x;
  const float inner = kBeta * (x + kKappa * x_cube);
  const float result = 0.5f * x * (1.0f + fast_tanh(inner));
  return x == -std::numeric_limits<float>::infinity() ? 0.0f : result;
}

// PyTorch's silu on CPU: x / (1 + e^{−x}).
VLMRT_OPS_INLINE float silu_f32(float x) {
  return x / (1.0f + fast_exp(-x));
}

// pool.parallel_for without a heap allocation: the std::function it takes is built around a
// lambda holding one pointer, which std::function stores in place, so the decode loop's ops
// never allocate (issue 5: no per-token allocations).
template <class Body>
void parallel_for(ThreadPool& pool, std::size_t begin, std::size_t end, const Body& body,
                  std::size_t min_chunk = 1) {
  const Body* target = &body;
  pool.parallel_for(
      begin, end, [target](std::size_t b, std::size_t e) { (*target)(b, e); }, min_chunk);
}

}  // namespace vlmrt::native::detail
