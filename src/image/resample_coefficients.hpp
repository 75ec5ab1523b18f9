// Per-axis resampling weights exactly as Pillow 9.4 computes them (Resample.c,
// precompute_coeffs + normalize_coeffs_8bpc), kept apart from the pixel loops so tests can pin
// the edge cases (in = 1, out = 1, in = out, huge reductions) directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "image/resize.hpp"

namespace vlmrt::image::detail {

// Pillow keeps 32 - 8 - 2 fractional bits for 8-bit images: 8 bits of result and 2 bits of
// headroom for the negative lobes and the > 1 partial sums (MODELS.md §5.2).
inline constexpr int kPrecisionBits = 22;

// Weights for one axis of a separable resize. Output i reads the `count[i]` input samples
// starting at `first[i]`, with the fixed-point weights at row i of `fixed` (stride `stride`).
struct AxisCoefficients {
  int in_size = 0;
  int out_size = 0;
  int stride = 0;                   // the largest count (weights are padded with zeros)
  std::vector<int> first;           // Pillow's xmin, clipped to ≥ 0
  std::vector<int> count;           // Pillow's xmax - xmin, clipped to the input
  std::vector<std::int32_t> fixed;  // normalised weights · 2^22, rounded half away from zero

  const std::int32_t* fixed_row(int i) const {
    return fixed.data() + static_cast<std::size_t>(i) * stride;
  }
};

// Pillow's filter support (half-width in input samples at scale 1). Nearest has none.
double filter_support(ResampleFilter filter);
// Pillow's filter kernel evaluated at x (same expressions, same double/float constants).
double filter_kernel(ResampleFilter filter, double x);

// Weights for resizing an axis of `in_size` samples to `out_size` (both ≥ 1) with the
// default box (the whole axis). Not for Nearest, which Pillow resizes by an affine transform.
AxisCoefficients compute_axis_coefficients(int in_size, int out_size, ResampleFilter filter);

// Source index of each output sample for a Pillow NEAREST resize, or -1 where Pillow leaves
// the output black (never happens for in, out ≥ 1, but Pillow's bounds check is kept).
std::vector<int> nearest_source_indices(int in_size, int out_size);

// resize() without the thread pool: for benchmarks and for callers already inside a pool task
// (ThreadPool::parallel_for is not re-entrant).
ImageRgb8 resize_single_threaded(const ImageRgb8& source, int out_width, int out_height,
                                 ResampleFilter filter);

}  // namespace vlmrt::image::detail
