// Helpers shared by the native CPU op tests (ops, attention, torch cross-check): random inputs
// and the reference dtype roundings, built on core/dtype (not on the code under test).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "backends/native/cpu/ops.hpp"
#include "core/dtype.hpp"

namespace vlmrt::native::ops_testing {

// The reference cast `.to(dtype)`: core/dtype's round-to-nearest-even conversions.
inline float ref_round(Precision precision, float x) {
  switch (precision) {
    case Precision::F32:
      return x;
    case Precision::Bf16:
      return bf16_to_f32(f32_to_bf16(x));
    case Precision::F16:
      return f16_to_f32(f32_to_f16(x));
  }
  return x;
}

// Normal(0, sigma) values, already representable in `precision` (model tensors always are).
inline std::vector<float> random_vector(std::size_t n, std::uint32_t seed, float sigma = 1.0f,
                                        Precision precision = Precision::F32) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> values(n);
  for (float& v : values) v = ref_round(precision, dist(rng));
  return values;
}

// Distance in units of the last place of `precision` (for failure messages).
inline double ulps(Precision precision, float a, float b) {
  const double unit = precision == Precision::Bf16 ? 1.0 / 128 : 1.0 / (1 << 23);
  const double scale = std::max(std::abs(static_cast<double>(a)), 1e-30);
  return std::abs(static_cast<double>(a) - b) / (scale * unit);
}

}  // namespace vlmrt::native::ops_testing
