// Pillow-exact two-pass resize (MODELS.md §5.2 and errata 1): a horizontal pass into an 8-bit
// intermediate image, then a vertical pass, each skipped when its axis keeps its size; NEAREST
// follows Pillow's affine path instead. Weights come from resample_coefficients.cpp.
#include "image/resize.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>

#include "core/thread_pool.hpp"
#include "image/resample_coefficients.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::image {
namespace {

using detail::AxisCoefficients;
using detail::kPrecisionBits;

// Larger outputs are refused before allocation: 2^28 pixels is 16× the biggest frame any
// supported processor produces (4096²) and keeps every byte count far from overflow.
constexpr std::uint64_t kMaxOutputPixels = std::uint64_t{1} << 28;
// Pillow holds the box edges as float; up to 2^24 they are exact, and window arithmetic on
// int stays far from overflow.
constexpr int kMaxSide = 1 << 24;
// Below this many multiply-adds a pass runs on the calling thread (pool hand-off costs more).
constexpr std::size_t kParallelMinWork = std::size_t{1} << 18;

// Accumulates in uint32 so wrap-around is defined; converted back it equals Pillow's int sum.
inline std::uint8_t clip8(std::uint32_t sum) {
  const std::int32_t value = static_cast<std::int32_t>(sum) >> kPrecisionBits;
  return static_cast<std::uint8_t>(std::clamp(value, 0, 255));
}

constexpr std::uint32_t kRoundingBias = std::uint32_t{1} << (kPrecisionBits - 1);

struct RowRunner {
  bool allow_threads;
  // Calls body(begin, end) over [0, rows), split over the pool when the work is large.
  void operator()(int rows, std::size_t work_per_row,
                  const std::function<void(std::size_t, std::size_t)>& body) const {
    if (rows <= 0) return;
    const std::size_t total =
        static_cast<std::size_t>(rows) * std::max<std::size_t>(work_per_row, 1);
    if (!allow_threads || total < kParallelMinWork || rows < 2) {
      body(0, static_cast<std::size_t>(rows));
      return;
    }
    const std::size_t min_rows =
        std::max<std::size_t>(1, kParallelMinWork / 4 / std::max<std::size_t>(work_per_row, 1));
    ThreadPool::global().parallel_for(0, static_cast<std::size_t>(rows), body, min_rows);
  }
};

// out row r = horizontally resampled source row (row_offset + r).
void horizontal_pass(const ImageRgb8& source, int row_offset, const AxisCoefficients& axis,
                     ImageRgb8& out, const RowRunner& run) {
  const int out_width = out.width();
  run(out.height(), static_cast<std::size_t>(out_width) * axis.stride * 3,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
          const std::uint8_t* in = source.row(row_offset + static_cast<int>(r));
          std::uint8_t* dst = out.row(static_cast<int>(r));
          for (int x = 0; x < out_width; ++x) {
            const std::int32_t* k = axis.fixed_row(x);
            const std::uint8_t* p =
                in + static_cast<std::size_t>(axis.first[static_cast<std::size_t>(x)]) * 3;
            const int taps = axis.count[static_cast<std::size_t>(x)];
            std::uint32_t s0 = kRoundingBias, s1 = kRoundingBias, s2 = kRoundingBias;
            for (int t = 0; t < taps; ++t) {
              const auto w = static_cast<std::uint32_t>(k[t]);
              s0 += p[3 * t + 0] * w;
              s1 += p[3 * t + 1] * w;
              s2 += p[3 * t + 2] * w;
            }
            dst[3 * x + 0] = clip8(s0);
            dst[3 * x + 1] = clip8(s1);
            dst[3 * x + 2] = clip8(s2);
          }
        }
      });
}

// out row r = weighted sum of source rows first[r] - row_offset .. + count[r].
void vertical_pass(const ImageRgb8& source, int row_offset, const AxisCoefficients& axis,
                   ImageRgb8& out, const RowRunner& run) {
  const std::size_t row_values = static_cast<std::size_t>(out.width()) * 3;
  run(out.height(), row_values * axis.stride, [&](std::size_t begin, std::size_t end) {
    // Whole-row accumulators: the inner loop is a contiguous multiply-add that vectorises.
    std::vector<std::uint32_t> sums(row_values);
    for (std::size_t r = begin; r < end; ++r) {
      const int y = static_cast<int>(r);
      const std::int32_t* k = axis.fixed_row(y);
      const int first = axis.first[r] - row_offset;
      const int taps = axis.count[r];
      std::fill(sums.begin(), sums.end(), kRoundingBias);
      for (int t = 0; t < taps; ++t) {
        const std::uint8_t* in = source.row(first + t);
        const auto w = static_cast<std::uint32_t>(k[t]);
        std::uint32_t* s = sums.data();
        for (std::size_t i = 0; i < row_values; ++i) s[i] += in[i] * w;
      }
      std::uint8_t* dst = out.row(y);
      for (std::size_t i = 0; i < row_values; ++i) dst[i] = clip8(sums[i]);
    }
  });
}

ImageRgb8 resize_nearest(const ImageRgb8& source, int out_width, int out_height,
                         const RowRunner& run) {
  const std::vector<int> xs = detail::nearest_source_indices(source.width(), out_width);
  const std::vector<int> ys = detail::nearest_source_indices(source.height(), out_height);
  ImageRgb8 out(out_width, out_height);  // zero-filled, as Pillow's `fill` leaves unmapped pixels
  run(out_height, static_cast<std::size_t>(out_width), [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) {
      if (ys[r] < 0) continue;
      const std::uint8_t* in = source.row(ys[r]);
      std::uint8_t* dst = out.row(static_cast<int>(r));
      for (int x = 0; x < out_width; ++x) {
        const int sx = xs[static_cast<std::size_t>(x)];
        if (sx < 0) continue;
        std::memcpy(dst + 3 * static_cast<std::size_t>(x), in + 3 * static_cast<std::size_t>(sx),
                    3);
      }
    }
  });
  return out;
}

void check_arguments(const ImageRgb8& source, int out_width, int out_height,
                     ResampleFilter filter) {
  const int code = static_cast<int>(filter);
  if (code < 0 || code > 5)
    throw Error(ErrorKind::InvalidArgument,
                "resize: invalid resample filter value " + std::to_string(code));
  if (source.empty())
    throw Error(ErrorKind::InvalidArgument, "resize: the source image is empty (" +
                                                std::to_string(source.width()) + "x" +
                                                std::to_string(source.height()) + ")");
  if (out_width < 1 || out_height < 1)
    throw Error(ErrorKind::InvalidArgument, "resize: output size " + std::to_string(out_width) +
                                                "x" + std::to_string(out_height) +
                                                " must be at least 1x1");
  const std::uint64_t pixels =
      static_cast<std::uint64_t>(out_width) * static_cast<std::uint64_t>(out_height);
  if (source.width() > kMaxSide || source.height() > kMaxSide || out_width > kMaxSide ||
      out_height > kMaxSide)
    throw Error(ErrorKind::LimitExceeded,
                "resize: " + std::to_string(source.width()) + "x" +
                    std::to_string(source.height()) + " -> " + std::to_string(out_width) + "x" +
                    std::to_string(out_height) + " has a side longer than " +
                    std::to_string(kMaxSide));
  if (pixels > kMaxOutputPixels)
    throw Error(ErrorKind::LimitExceeded, "resize: output size " + std::to_string(out_width) + "x" +
                                              std::to_string(out_height) +
                                              " exceeds the limit of " +
                                              std::to_string(kMaxOutputPixels) + " pixels");
}

ImageRgb8 resize_impl(const ImageRgb8& source, int out_width, int out_height, ResampleFilter filter,
                      const RowRunner& run) {
  check_arguments(source, out_width, out_height, filter);
  // Pillow's Image.resize returns a copy when the size is unchanged (any filter).
  if (out_width == source.width() && out_height == source.height()) return source.clone();
  if (filter == ResampleFilter::Nearest) return resize_nearest(source, out_width, out_height, run);

  const bool need_horizontal = out_width != source.width();
  const bool need_vertical = out_height != source.height();
  if (!need_vertical) {
    ImageRgb8 out(out_width, out_height);
    horizontal_pass(source, 0, detail::compute_axis_coefficients(source.width(), out_width, filter),
                    out, run);
    return out;
  }
  const AxisCoefficients vertical =
      detail::compute_axis_coefficients(source.height(), out_height, filter);
  if (!need_horizontal) {
    ImageRgb8 out(out_width, out_height);
    vertical_pass(source, 0, vertical, out, run);
    return out;
  }
  // Like Pillow, the horizontal pass only produces the rows the vertical pass reads.
  const int first_row = vertical.first.front();
  const int last_row = vertical.first.back() + vertical.count.back();
  const AxisCoefficients horizontal =
      detail::compute_axis_coefficients(source.width(), out_width, filter);
  if (static_cast<std::uint64_t>(out_width) * static_cast<std::uint64_t>(last_row - first_row) >
      kMaxOutputPixels)
    throw Error(ErrorKind::LimitExceeded,
                "resize: the intermediate image of " + std::to_string(out_width) + "x" +
                    std::to_string(last_row - first_row) + " exceeds the limit of " +
                    std::to_string(kMaxOutputPixels) + " pixels");
  ImageRgb8 intermediate(out_width, last_row - first_row);
  horizontal_pass(source, first_row, horizontal, intermediate, run);
  ImageRgb8 out(out_width, out_height);
  vertical_pass(intermediate, first_row, vertical, out, run);
  return out;
}

}  // namespace

ResampleFilter resample_filter_from_pil(int code) {
  switch (code) {
    case 0:
      return ResampleFilter::Nearest;
    case 1:
      return ResampleFilter::Lanczos;
    case 2:
      return ResampleFilter::Bilinear;
    case 3:
      return ResampleFilter::Bicubic;
    case 4:
      return ResampleFilter::Box;
    case 5:
      return ResampleFilter::Hamming;
    default:
      throw Error(
          ErrorKind::Unsupported,
          "resample: unknown Pillow resample code " + std::to_string(code) +
              " (expected 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or 5 HAMMING)");
  }
}

const char* resample_filter_name(ResampleFilter filter) noexcept {
  switch (filter) {
    case ResampleFilter::Nearest:
      return "nearest";
    case ResampleFilter::Lanczos:
      return "lanczos";
    case ResampleFilter::Bilinear:
      return "bilinear";
    case ResampleFilter::Bicubic:
      return "bicubic";
    case ResampleFilter::Box:
      return "box";
    case ResampleFilter::Hamming:
      return "hamming";
  }
  return "unknown";
}

ImageRgb8 resize(const ImageRgb8& source, int out_width, int out_height, ResampleFilter filter) {
  return resize_impl(source, out_width, out_height, filter, RowRunner{true});
}

namespace detail {
ImageRgb8 resize_single_threaded(const ImageRgb8& source, int out_width, int out_height,
                                 ResampleFilter filter) {
  return resize_impl(source, out_width, out_height, filter, RowRunner{false});
}
}  // namespace detail

}  // namespace vlmrt::image
