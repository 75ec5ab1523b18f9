// Internal to attention.cpp and attention_gemm.cpp: helpers both paths share (rounding limits,
// the mask as a per-query key interval, the eager softmax of attention.hpp) and the entry points
// of the GEMM path. Every .cpp including this must start with the no-FMA-contraction pragmas of
// attention.cpp: the softmax below is specified operation by operation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>

#include "backends/native/cpu/attention.hpp"
#include "backends/native/cpu/ops_math.hpp"

#if defined(__GNUC__)
#define VLMRT_KERNEL_INLINE [[gnu::always_inline]] inline
#else
#define VLMRT_KERNEL_INLINE inline
#endif

namespace vlmrt::native::attention_detail {

inline constexpr std::size_t kLanes = 16;  // softmax-sum lanes (attention.hpp)

VLMRT_KERNEL_INLINE std::size_t round_up(std::size_t n, std::size_t m) {
  return (n + m - 1) / m * m;
}

VLMRT_KERNEL_INLINE float lowest_of(Precision precision) {
  switch (precision) {
    case Precision::F32:
      return std::numeric_limits<float>::lowest();
    case Precision::Bf16:
      return -3.38953139e38f;  // bf16 0xff7f
    case Precision::F16:
      return -65504.0f;
  }
  return std::numeric_limits<float>::lowest();
}

// Keys [first, end) are the ones the mask kind and window allow absolute query i to see
// (attention.hpp; key_valid comes on top): the rules make that an interval.
struct KeyRange {
  std::size_t first;
  std::size_t end;
};

VLMRT_KERNEL_INLINE KeyRange key_range(const AttentionParams& p, std::size_t i) {
  std::size_t end = p.kv_len;
  if (p.mask == AttentionMask::Causal) end = std::min(end, i + 1);
  if (p.mask == AttentionMask::PrefixLm)
    end = std::min(end, std::max(i + 1, i < p.prefix_len ? p.prefix_len : 0));
  std::size_t first = 0;
  if (p.window > 0 && i + 1 > p.window) first = i + 1 - p.window;
  return {std::min(first, end), end};
}

// max(row[lo, hi)), hi > lo, over 16 lanes: a serial max chain does not vectorise without
// -ffinite-math-only, and GCC keeps a 16-float array of lanes in scalar registers. The max of a
// set is the same in any order.
VLMRT_KERNEL_INLINE float row_max(const float* row, std::size_t lo, std::size_t hi) {
#if defined(__GNUC__)
  using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));
  float max_value = row[lo];
  std::size_t j = lo;
  if (hi - lo >= kLanes) {
    Lanes lanes;
    std::memcpy(&lanes, row + lo, sizeof lanes);
    for (j = lo + kLanes; j + kLanes <= hi; j += kLanes) {
      Lanes x;
      std::memcpy(&x, row + j, sizeof x);
      lanes = lanes < x ? x : lanes;
    }
    for (std::size_t l = 0; l < kLanes; ++l) max_value = std::max(max_value, lanes[l]);
  }
  for (; j < hi; ++j) max_value = std::max(max_value, row[j]);
  return max_value;
#else
  float max_value = row[lo];
  for (std::size_t j = lo; j < hi; ++j) max_value = std::max(max_value, row[j]);
  return max_value;
#endif
}

// The first half of the eager softmax over row[lo, hi) in place (masked entries already hold
// `lowest`): row[j] = e^{s − max}, entries outside [lo, hi) up to the lane boundaries zeroed so
// the lane sums see whole lanes; returns 1 / Σ e, the sum over 16 lanes folded as attention.hpp
// specifies.
VLMRT_KERNEL_INLINE float softmax_exp(float* row, std::size_t lo, std::size_t hi) {
  const float max_value = row_max(row, lo, hi);
  const std::size_t lo16 = lo / kLanes * kLanes;
  const std::size_t hi16 = round_up(hi, kLanes);
  // e^(−inf − max) is exactly 0: the lane padding then goes through the same loops.
  for (std::size_t j = lo16; j < lo; ++j) row[j] = -std::numeric_limits<float>::infinity();
  for (std::size_t j = hi; j < hi16; ++j) row[j] = -std::numeric_limits<float>::infinity();
  // In pieces of kPiece keys, so that the serial lane sums (one add latency per 16 keys) of a
  // piece overlap the e^x of the next one instead of forming a pass of their own.
  constexpr std::size_t kPiece = 256;
  float lanes[kLanes] = {};
  for (std::size_t p0 = lo16; p0 < hi16; p0 += kPiece) {
    const std::size_t p1 = std::min(hi16, p0 + kPiece);
    for (std::size_t j = p0; j < p1; ++j) row[j] = detail::fast_exp(row[j] - max_value);
    for (std::size_t j = p0; j < p1; j += kLanes) {
      for (std::size_t l = 0; l < kLanes; ++l) lanes[l] = lanes[l] + row[j + l];
    }
  }
  for (std::size_t w = kLanes / 2; w > 0; w /= 2) {
    for (std::size_t l = 0; l < w; ++l) lanes[l] = lanes[l] + lanes[l + w];
  }
  return 1.0f / lanes[0];
}

// The eager softmax: p = R(e^{s − max} · (1 / Σ e)) over the lane-aligned hull of [lo, hi).
template <Precision P>
VLMRT_KERNEL_INLINE void softmax_row(float* row, std::size_t lo, std::size_t hi) {
  const float inv_sum = softmax_exp(row, lo, hi);
  const std::size_t lo16 = lo / kLanes * kLanes;
  const std::size_t hi16 = round_up(hi, kLanes);
  for (std::size_t j = lo16; j < hi16; ++j) row[j] = detail::round_to(P, row[j] * inv_sum);
}

// The GEMM path (attention_gemm.cpp): many queries per call, the score strip and p·v through
// the packed GEMM micro-kernels of gemm_kernels.hpp.
bool gemm_path_applies(const AttentionParams& p);
// Floats of scratch the GEMM path needs on `threads` threads, whatever the ISA chosen at run time.
std::size_t gemm_scratch_floats(const AttentionParams& p, std::size_t threads);
void attention_gemm(const float* q, const float* k_cache, const float* v_cache, float* out,
                    const AttentionParams& p, float* scratch, ThreadPool& pool);

}  // namespace vlmrt::native::attention_detail
