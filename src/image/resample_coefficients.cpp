// Bit-exactness notes: every expression below keeps Pillow's operand order and types (double
// throughout, float for the box edges and for the Hamming constants) because reordering a
// single addition changes which pixels round the other way. Pillow 9.4 sources read:
// src/libImaging/Resample.c and Geometry.c (ImagingScaleAffine).
#include "image/resample_coefficients.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "vlmrt/errors.hpp"

// A fused multiply-add rounds once where Pillow's build rounds twice. GCC in ISO mode
// (-std=c++20) does not contract; clang does unless told.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace vlmrt::image::detail {
namespace {

double box_kernel(double x) {
  return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
}

double bilinear_kernel(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_kernel(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * std::numbers::pi;
  // Pillow writes these constants as float literals; their float values matter.
  return std::sin(x) / x * (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
}

double bicubic_kernel(double x) {
  constexpr double a = -0.5;  // Pillow's choice (Keys' a = -0.5)
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x;
}

// The window is -3 ≤ x < 3 (asymmetric), MODELS.md errata 1.
double lanczos_kernel(double x) {
  if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
  return 0.0;
}

// Pillow's box argument is float; a whole-axis box is (0.0f, float(size)).
double box_extent(int size) {
  return static_cast<double>(static_cast<float>(size));
}

}  // namespace

double filter_support(ResampleFilter filter) {
  switch (filter) {
    case ResampleFilter::Nearest:
      return 0.0;
    case ResampleFilter::Box:
      return 0.5;
    case ResampleFilter::Bilinear:
      return 1.0;
    case ResampleFilter::Hamming:
      return 1.0;
    case ResampleFilter::Bicubic:
      return 2.0;
    case ResampleFilter::Lanczos:
      return 3.0;
  }
  return 0.0;
}

double filter_kernel(ResampleFilter filter, double x) {
  switch (filter) {
    case ResampleFilter::Nearest:
      return box_kernel(x);
    case ResampleFilter::Box:
      return box_kernel(x);
    case ResampleFilter::Bilinear:
      return bilinear_kernel(x);
    case ResampleFilter::Hamming:
      return hamming_kernel(x);
    case ResampleFilter::Bicubic:
      return bicubic_kernel(x);
    case ResampleFilter::Lanczos:
      return lanczos_kernel(x);
  }
  return 0.0;
}

AxisCoefficients compute_axis_coefficients(int in_size, int out_size, ResampleFilter filter) {
  if (in_size < 1 || out_size < 1)
    throw Error(ErrorKind::InvalidArgument, "resize: axis sizes must be >= 1 (input " +
                                                std::to_string(in_size) + ", output " +
                                                std::to_string(out_size) + ")");
  if (filter == ResampleFilter::Nearest)
    throw Error(ErrorKind::Internal, "resize: NEAREST has no convolution weights");

  AxisCoefficients axis;
  axis.in_size = in_size;
  axis.out_size = out_size;
  axis.first.resize(static_cast<std::size_t>(out_size));
  axis.count.resize(static_cast<std::size_t>(out_size));

  const double scale = box_extent(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);  // antialias only when reducing
  const double support = filter_support(filter) * filterscale;
  const double inverse_filterscale = 1.0 / filterscale;

  // Bounds first, so the weight table is sized by the real tap count rather than Pillow's
  // 2·ceil(support) + 1 (which overflows int for huge reductions).
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // Pillow truncates with (int); both values are > -1 after + 0.5 or clipped anyway.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
    axis.first[static_cast<std::size_t>(i)] = xmin;
    axis.count[static_cast<std::size_t>(i)] = std::max(xmax - xmin, 0);
    axis.stride = std::max(axis.stride, xmax - xmin);
  }
  const std::size_t table =
      static_cast<std::size_t>(out_size) * static_cast<std::size_t>(axis.stride);
  axis.fixed.assign(table, 0);
  std::vector<double> scratch(static_cast<std::size_t>(axis.stride));
  double* w = scratch.data();  // one output's weights in double, as Pillow keeps them

  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int xmin = axis.first[static_cast<std::size_t>(i)];
    const int taps = axis.count[static_cast<std::size_t>(i)];
    double sum = 0.0;
    for (int x = 0; x < taps; ++x) {
      w[x] = filter_kernel(filter, ((x + xmin) - center + 0.5) * inverse_filterscale);
      sum += w[x];
    }
    if (sum != 0.0)
      for (int x = 0; x < taps; ++x) w[x] /= sum;
    std::int32_t* k = axis.fixed.data() + static_cast<std::size_t>(i) * axis.stride;
    constexpr double kOne = static_cast<double>(1 << kPrecisionBits);
    for (int x = 0; x < taps; ++x)
      k[x] = static_cast<std::int32_t>(w[x] < 0 ? -0.5 + w[x] * kOne : 0.5 + w[x] * kOne);
  }
  return axis;
}

std::vector<int> nearest_source_indices(int in_size, int out_size) {
  if (in_size < 1 || out_size < 1)
    throw Error(ErrorKind::InvalidArgument, "resize: axis sizes must be >= 1");
  // Pillow resizes NEAREST with an affine transform (ImagingScaleAffine): step a = in/out, the
  // position starts at a/2 and is *accumulated* (not multiplied), then truncated.
  const double step = box_extent(in_size) / out_size;
  double position = 0.0 + step * 0.5;
  std::vector<int> indices(static_cast<std::size_t>(out_size));
  for (int i = 0; i < out_size; ++i) {
    const int source = position < 0.0 ? -1 : static_cast<int>(position);
    indices[static_cast<std::size_t>(i)] = (source >= 0 && source < in_size) ? source : -1;
    position += step;
  }
  return indices;
}

}  // namespace vlmrt::image::detail
