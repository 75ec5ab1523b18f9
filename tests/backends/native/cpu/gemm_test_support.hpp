// Shared helpers for the GEMM tests: deterministic data, weights in each dtype and a naive
// double-accumulated reference.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/native/cpu/gemm.hpp"
#include "core/dtype.hpp"

namespace vlmrt::native::testing {

inline std::vector<float> random_values(std::size_t count, std::uint32_t seed, float scale = 1.0f) {
  std::vector<float> values(count);
  std::uint32_t state = seed * 2654435761u + 1u;
  for (float& v : values) {
    state = state * 1664525u + 1013904223u;
    v = scale * (static_cast<float>(state >> 8) / 8388608.0f - 1.0f);  // [-1, 1)
  }
  return values;
}

// A weight matrix stored in `dtype`, plus its exact f32 values (what the kernel must multiply).
struct TestWeights {
  DType dtype;
  std::int64_t out_features, in_features, row_stride;
  std::vector<std::uint8_t> storage;
  std::vector<float> exact;  // [out_features, in_features]

  WeightMatrix view() const {
    return WeightMatrix{dtype, storage.data(), out_features, in_features, row_stride, nullptr};
  }
};

inline TestWeights make_weights(DType dtype, std::int64_t n, std::int64_t k, std::int64_t stride,
                                std::uint32_t seed) {
  TestWeights w{dtype, n, k, stride, {}, {}};
  const std::vector<float> source = random_values(static_cast<std::size_t>(n * stride), seed);
  w.storage.resize(static_cast<std::size_t>(n * stride) * dtype_size(dtype));
  w.exact.resize(static_cast<std::size_t>(n * k));
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t i = 0; i < stride; ++i) {
      const std::size_t at = static_cast<std::size_t>(j * stride + i);
      float value = source[at];
      if (dtype == DType::F32) {
        std::memcpy(w.storage.data() + at * 4, &value, 4);
      } else {
        const std::uint16_t bits = dtype == DType::BF16 ? f32_to_bf16(value) : f32_to_f16(value);
        std::memcpy(w.storage.data() + at * 2, &bits, 2);
        value = dtype == DType::BF16 ? bf16_to_f32(bits) : f16_to_f32(bits);
      }
      if (i < k) w.exact[static_cast<std::size_t>(j * k + i)] = value;
    }
  return w;
}

// y = x · Wᵀ (+ bias) in double, and Σ|x·w| + |bias| per output (the scale of the rounding error
// of any f32 summation order).
struct Reference {
  std::vector<double> value;
  std::vector<double> magnitude;
};

inline Reference reference_linear(const std::vector<float>& x, std::int64_t m,
                                  std::int64_t x_stride, const std::vector<float>& w,
                                  std::int64_t n, std::int64_t k, const float* bias,
                                  bool round_x_to_bf16 = false) {
  Reference ref{std::vector<double>(static_cast<std::size_t>(m * n)),
                std::vector<double>(static_cast<std::size_t>(m * n))};
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = bias != nullptr ? bias[j] : 0.0;
      double magnitude = bias != nullptr ? std::fabs(bias[j]) : 0.0;
      for (std::int64_t i = 0; i < k; ++i) {
        float xv = x[static_cast<std::size_t>(r * x_stride + i)];
        if (round_x_to_bf16) xv = bf16_to_f32(f32_to_bf16(xv));
        const double product = static_cast<double>(xv) * w[static_cast<std::size_t>(j * k + i)];
        sum += product;
        magnitude += std::fabs(product);
      }
      ref.value[static_cast<std::size_t>(r * n + j)] = sum;
      ref.magnitude[static_cast<std::size_t>(r * n + j)] = magnitude;
    }
  return ref;
}

}  // namespace vlmrt::native::testing
