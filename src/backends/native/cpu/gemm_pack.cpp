// Portable packing of A (activations) and B (weights) into the panels of gemm_kernels.hpp.
#include <algorithm>
#include <cstring>

#include "backends/native/cpu/gemm_kernels.hpp"

namespace vlmrt::native::detail {

namespace {

inline std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// Round to nearest even, NaN kept quiet NaN: the same rule as core/dtype.hpp's f32_to_bf16,
// written branch-free so the packing loops vectorise.
inline std::uint32_t round_to_bf16(float value) {
  const std::uint32_t bits = bits_of(value);
  const std::uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  const bool is_nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
  return is_nan ? ((bits >> 16) | 0x40u) : rounded;
}

inline std::uint16_t load_u16(const void* base, std::int64_t index) {
  std::uint16_t value;
  std::memcpy(&value, static_cast<const std::uint16_t*>(base) + index, sizeof value);
  return value;
}

inline float load_as_f32(DType dtype, const void* base, std::int64_t index) {
  switch (dtype) {
    case DType::BF16: {
      const std::uint32_t bits = static_cast<std::uint32_t>(load_u16(base, index)) << 16;
      float value;
      std::memcpy(&value, &bits, sizeof value);
      return value;
    }
    case DType::F16:
      return f16_to_f32(load_u16(base, index));
    default: {
      // memcpy: a tensor in a mapped safetensors file need not be 4-byte aligned.
      float value;
      std::memcpy(&value, static_cast<const float*>(base) + index, sizeof value);
      return value;
    }
  }
}

}  // namespace

void pack_a_f32_portable(const float* x, std::int64_t m, std::int64_t k, std::int64_t x_stride,
                         std::int64_t row0, std::int64_t step0, std::int64_t kc, int mr,
                         void* dst) {
  float* out = static_cast<float*>(dst);
  const std::int64_t k_valid = std::clamp<std::int64_t>(k - step0, 0, kc);
  for (int r = 0; r < mr; ++r) {
    const std::int64_t row = row0 + r;
    if (row >= m) {
      for (std::int64_t s = 0; s < kc; ++s) out[s * mr + r] = 0.0f;
      continue;
    }
    const float* src = x + row * x_stride + step0;
    for (std::int64_t s = 0; s < k_valid; ++s) out[s * mr + r] = src[s];
    for (std::int64_t s = k_valid; s < kc; ++s) out[s * mr + r] = 0.0f;
  }
}

void pack_a_bf16_portable(const float* x, std::int64_t m, std::int64_t k, std::int64_t x_stride,
                          std::int64_t row0, std::int64_t step0, std::int64_t kc, int mr,
                          void* dst) {
  std::uint32_t* out = static_cast<std::uint32_t*>(dst);
  const std::int64_t first = 2 * step0;  // first k value of the block
  for (int r = 0; r < mr; ++r) {
    const std::int64_t row = row0 + r;
    const float* src = row < m ? x + row * x_stride : nullptr;
    for (std::int64_t s = 0; s < kc; ++s) {
      const std::int64_t lo = first + 2 * s;
      std::uint32_t pair = 0;
      if (src != nullptr && lo < k) {
        pair = round_to_bf16(src[lo]);
        if (lo + 1 < k) pair |= round_to_bf16(src[lo + 1]) << 16;
      }
      out[s * mr + r] = pair;
    }
  }
}

void pack_b_f32_portable(const BSource& b, std::int64_t n, std::int64_t k, std::int64_t col0,
                         std::int64_t step0, std::int64_t kc, int nr, void* out) {
  float* dst = static_cast<float*>(out);
  const std::int64_t k_valid = std::clamp<std::int64_t>(k - step0, 0, kc);
  const int n_valid = static_cast<int>(std::clamp<std::int64_t>(n - col0, 0, nr));
  if (b.n_major) {
    // Rows of W are contiguous in k: read them sequentially, write with stride nr.
    for (int j = 0; j < n_valid; ++j) {
      const std::int64_t base = (col0 + j) * b.ld + step0;
      for (std::int64_t s = 0; s < k_valid; ++s)
        dst[s * nr + j] = load_as_f32(b.dtype, b.data, base + s);
    }
  } else {
    for (std::int64_t s = 0; s < k_valid; ++s) {
      const std::int64_t base = (step0 + s) * b.ld + col0;
      for (int j = 0; j < n_valid; ++j) dst[s * nr + j] = load_as_f32(b.dtype, b.data, base + j);
    }
  }
  for (std::int64_t s = 0; s < k_valid; ++s)
    for (int j = n_valid; j < nr; ++j) dst[s * nr + j] = 0.0f;
  for (std::int64_t s = k_valid; s < kc; ++s)
    for (int j = 0; j < nr; ++j) dst[s * nr + j] = 0.0f;
}

void pack_b_bf16_portable(const BSource& b, std::int64_t n, std::int64_t k, std::int64_t col0,
                          std::int64_t step0, std::int64_t kc, int nr, void* out) {
  std::uint32_t* dst = static_cast<std::uint32_t*>(out);
  const int n_valid = static_cast<int>(std::clamp<std::int64_t>(n - col0, 0, nr));
  const std::int64_t first = 2 * step0;
  // Whole pairs inside k; a last odd k value gets a zero partner.
  const std::int64_t full_pairs = std::clamp<std::int64_t>((k - first) / 2, 0, kc);
  const bool half_pair = full_pairs < kc && first + 2 * full_pairs < k;
  for (int j = 0; j < n_valid; ++j) {
    const std::int64_t base = (col0 + j) * b.ld + first;
    const auto* src = static_cast<const unsigned char*>(b.data) + base * 2;
    for (std::int64_t s = 0; s < full_pairs; ++s) {
      std::uint32_t pair;
      std::memcpy(&pair, src + 4 * s, sizeof pair);
      dst[s * nr + j] = pair;
    }
    if (half_pair) dst[full_pairs * nr + j] = load_u16(b.data, base + 2 * full_pairs);
  }
  const std::int64_t filled = full_pairs + (half_pair ? 1 : 0);
  for (std::int64_t s = 0; s < filled; ++s)
    for (int j = n_valid; j < nr; ++j) dst[s * nr + j] = 0;
  for (std::int64_t s = filled; s < kc; ++s)
    for (int j = 0; j < nr; ++j) dst[s * nr + j] = 0;
}

}  // namespace vlmrt::native::detail
