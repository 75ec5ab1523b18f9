#include "image/resize.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "image/resample_coefficients.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::image {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> bytes_of(const ImageRgb8& image) {
  std::vector<std::uint8_t> out;
  for (int y = 0; y < image.height(); ++y)
    out.insert(out.end(), image.row(y), image.row(y) + static_cast<std::size_t>(image.width()) * 3);
  return out;
}

// ---- PIL parity corpus (tests/image/make_pil_resize_corpus.py) ----

// Runs every corpus case for `filter`; returns one line per failing case naming the first
// differing pixel, so a regression report says where to look.
void check_pil_parity(ResampleFilter filter) {
  const fs::path dir = testing::generated_data(
      "pil_resize_corpus", testing::source_dir() / "tests/image/make_pil_resize_corpus.py");
  const json::Json manifest = json::read_file(dir / "manifest.json");
  std::map<std::string, ImageRgb8> sources;
  for (const auto& source : manifest.at("sources")) {
    const int width = source.at("width").get<int>();
    const int height = source.at("height").get<int>();
    std::vector<std::uint8_t> pixels = read_bytes(dir / source.at("file").get<std::string>());
    ASSERT_EQ(pixels.size(), static_cast<std::size_t>(width) * height * 3) << source.dump();
    sources.emplace(source.at("name").get<std::string>(),
                    ImageRgb8(width, height, std::move(pixels)));
  }

  int checked = 0;
  std::ostringstream failures;
  for (const auto& entry : manifest.at("cases")) {
    if (entry.at("filter").get<int>() != static_cast<int>(filter)) continue;
    const std::string name = entry.at("source").get<std::string>();
    const ImageRgb8& source = sources.at(name);
    const int width = entry.at("width").get<int>();
    const int height = entry.at("height").get<int>();
    const std::vector<std::uint8_t> expected =
        read_bytes(dir / entry.at("file").get<std::string>());
    ASSERT_EQ(expected.size(), static_cast<std::size_t>(width) * height * 3) << entry.dump();

    const std::vector<std::uint8_t> actual = bytes_of(resize(source, width, height, filter));
    ++checked;
    if (actual == expected) continue;
    std::size_t first = 0;
    std::size_t differing = 0;
    for (std::size_t i = actual.size(); i-- > 0;)
      if (actual[i] != expected[i]) first = i, ++differing;
    const std::size_t pixel = first / 3;
    failures << name << " -> " << width << "x" << height << ": " << differing
             << " bytes differ; first at x=" << pixel % width << " y=" << pixel / width
             << " channel " << first % 3 << ": got " << int{actual[first]} << ", PIL "
             << int{expected[first]} << "\n";
  }
  EXPECT_GT(checked, 0) << "no corpus cases for " << resample_filter_name(filter);
  EXPECT_EQ(failures.str(), "") << resample_filter_name(filter) << " differs from Pillow "
                                << manifest.value("pillow", "?") << " in " << checked << " cases";
}

TEST(ResizePilParity, NearestMatchesPillowBitExactly) {
  check_pil_parity(ResampleFilter::Nearest);
}
TEST(ResizePilParity, LanczosMatchesPillowBitExactly) {
  check_pil_parity(ResampleFilter::Lanczos);
}
TEST(ResizePilParity, BilinearMatchesPillowBitExactly) {
  check_pil_parity(ResampleFilter::Bilinear);
}
TEST(ResizePilParity, BicubicMatchesPillowBitExactly) {
  check_pil_parity(ResampleFilter::Bicubic);
}
TEST(ResizePilParity, BoxMatchesPillowBitExactly) {
  check_pil_parity(ResampleFilter::Box);
}
TEST(ResizePilParity, HammingMatchesPillowBitExactly) {
  check_pil_parity(ResampleFilter::Hamming);
}

// ---- weights ----

constexpr ResampleFilter kConvolutionFilters[] = {ResampleFilter::Lanczos, ResampleFilter::Bilinear,
                                                  ResampleFilter::Bicubic, ResampleFilter::Box,
                                                  ResampleFilter::Hamming};
constexpr std::int32_t kOne = 1 << detail::kPrecisionBits;

std::int64_t fixed_sum(const detail::AxisCoefficients& axis, int i) {
  std::int64_t sum = 0;
  for (int t = 0; t < axis.count[static_cast<std::size_t>(i)]; ++t) sum += axis.fixed_row(i)[t];
  return sum;
}

TEST(ResampleCoefficients, SingleInputSampleGetsFullWeightForEveryOutput) {
  for (ResampleFilter filter : kConvolutionFilters) {
    const auto axis = detail::compute_axis_coefficients(1, 9, filter);
    for (int i = 0; i < 9; ++i) {
      EXPECT_EQ(axis.first[static_cast<std::size_t>(i)], 0) << resample_filter_name(filter);
      ASSERT_EQ(axis.count[static_cast<std::size_t>(i)], 1) << resample_filter_name(filter);
      EXPECT_EQ(axis.fixed_row(i)[0], kOne) << resample_filter_name(filter) << " output " << i;
    }
  }
}

TEST(ResampleCoefficients, SingleOutputAveragesTheWholeAxis) {
  for (ResampleFilter filter : kConvolutionFilters) {
    const auto axis = detail::compute_axis_coefficients(7, 1, filter);
    EXPECT_EQ(axis.first[0], 0);
    EXPECT_EQ(axis.count[0], 7) << resample_filter_name(filter);
    EXPECT_NEAR(static_cast<double>(fixed_sum(axis, 0)), kOne, 4) << resample_filter_name(filter);
  }
}

TEST(ResampleCoefficients, SameSizeIsTheIdentityInFixedPoint) {
  // Kernels vanish at non-zero integers (sin(kπ) is ~1e-16, far below 2^-22).
  for (ResampleFilter filter : kConvolutionFilters) {
    const auto axis = detail::compute_axis_coefficients(13, 13, filter);
    for (int i = 0; i < 13; ++i) {
      for (int t = 0; t < axis.count[static_cast<std::size_t>(i)]; ++t) {
        const int x = axis.first[static_cast<std::size_t>(i)] + t;
        EXPECT_EQ(axis.fixed_row(i)[t], x == i ? kOne : 0)
            << resample_filter_name(filter) << " output " << i << " input " << x;
      }
    }
  }
}

TEST(ResampleCoefficients, HugeReductionCoversEveryInputWithNormalisedWeights) {
  for (ResampleFilter filter : kConvolutionFilters) {
    const auto axis = detail::compute_axis_coefficients(3000, 1, filter);
    EXPECT_EQ(axis.first[0], 0);
    EXPECT_EQ(axis.count[0], 3000) << resample_filter_name(filter);
    // Each tap rounds by at most 1/2 unit.
    EXPECT_LE(std::abs(fixed_sum(axis, 0) - kOne), 1500) << resample_filter_name(filter);
  }
  // Box: 3000 equal weights of round(2^22 / 3000) = 1398.
  const auto box = detail::compute_axis_coefficients(3000, 1, ResampleFilter::Box);
  for (int t = 0; t < 3000; ++t) ASSERT_EQ(box.fixed_row(0)[t], 1398) << t;
}

TEST(ResampleCoefficients, BoundsFollowPillowsRoundedWindow) {
  // 10 -> 4 bilinear: scale 2.5, support 2.5; output 1 has center 3.75, so the window is
  // int(3.75 - 2.5 + 0.5) = 1 .. int(3.75 + 2.5 + 0.5) = 6 (exclusive).
  const auto axis = detail::compute_axis_coefficients(10, 4, ResampleFilter::Bilinear);
  EXPECT_EQ(axis.first[1], 1);
  EXPECT_EQ(axis.count[1], 5);
  // The last window is clipped at the input edge.
  EXPECT_EQ(axis.first[3] + axis.count[3], 10);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(static_cast<double>(fixed_sum(axis, i)), kOne, 3);
}

TEST(ResampleCoefficients, LanczosWindowIsHalfOpen) {
  EXPECT_EQ(detail::filter_kernel(ResampleFilter::Lanczos, 3.0), 0.0);
  EXPECT_NE(detail::filter_kernel(ResampleFilter::Lanczos, -3.0), 0.0);  // sin(-3π) residue
  EXPECT_EQ(detail::filter_kernel(ResampleFilter::Box, -0.5), 0.0);
  EXPECT_EQ(detail::filter_kernel(ResampleFilter::Box, 0.5), 1.0);
}

TEST(ResampleCoefficients, NearestAccumulatesTheStepLikePillow) {
  EXPECT_EQ(detail::nearest_source_indices(1, 5), (std::vector<int>{0, 0, 0, 0, 0}));
  EXPECT_EQ(detail::nearest_source_indices(3000, 1), (std::vector<int>{1500}));
  EXPECT_EQ(detail::nearest_source_indices(5, 2), (std::vector<int>{1, 3}));
  // 0.1 steps accumulate rounding error: summed, not multiplied, is what Pillow does.
  const auto indices = detail::nearest_source_indices(1, 10);
  for (int index : indices) EXPECT_EQ(index, 0);
}

// ---- behaviour ----

TEST(Resize, SameSizeReturnsAnOwningCopy) {
  ImageRgb8 source = testing::noise_image(5, 4, 1);
  const ImageRgb8 out = resize(source, 5, 4, ResampleFilter::Lanczos);
  EXPECT_TRUE(out.owns_pixels());
  EXPECT_NE(out.data(), source.data());
  EXPECT_EQ(bytes_of(out), bytes_of(source));
}

TEST(Resize, ReadsStridedViews) {
  const ImageRgb8 big = testing::noise_image(40, 30, 7);
  // A 25×20 window starting at (3, 2), rows 40·3 bytes apart.
  const ImageRgb8 window =
      ImageRgb8::view(const_cast<std::uint8_t*>(big.row(2)) + 9, 25, 20, big.row_stride());
  const ImageRgb8 copy = window.clone();
  for (ResampleFilter filter :
       {ResampleFilter::Nearest, ResampleFilter::Lanczos, ResampleFilter::Bicubic}) {
    EXPECT_EQ(bytes_of(resize(window, 17, 31, filter)), bytes_of(resize(copy, 17, 31, filter)));
    EXPECT_EQ(bytes_of(resize(window, 25, 9, filter)), bytes_of(resize(copy, 25, 9, filter)));
    EXPECT_EQ(bytes_of(resize(window, 11, 20, filter)), bytes_of(resize(copy, 11, 20, filter)));
  }
}

TEST(Resize, ThreadedAndSingleThreadedResultsAreIdentical) {
  const ImageRgb8 source = testing::noise_image(900, 700, 3);
  for (ResampleFilter filter :
       {ResampleFilter::Nearest, ResampleFilter::Lanczos, ResampleFilter::Bilinear}) {
    EXPECT_EQ(bytes_of(resize(source, 333, 1001, filter)),
              bytes_of(detail::resize_single_threaded(source, 333, 1001, filter)));
  }
}

TEST(Resize, RejectsEmptyOutputSizes) {
  const ImageRgb8 source = testing::noise_image(4, 4, 1);
  for (auto [w, h] : {std::pair{0, 4}, {4, 0}, {-1, 3}, {3, -7}}) {
    try {
      resize(source, w, h, ResampleFilter::Bilinear);
      ADD_FAILURE() << w << "x" << h << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    }
  }
}

TEST(Resize, RejectsEmptySourceAndUnknownFilterValue) {
  try {
    resize(ImageRgb8(0, 3), 2, 2, ResampleFilter::Bicubic);
    ADD_FAILURE() << "empty source accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
  try {
    resize(testing::noise_image(2, 2, 1), 3, 3, static_cast<ResampleFilter>(9));
    ADD_FAILURE() << "filter 9 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
}

TEST(Resize, RefusesAbsurdOutputSizesBeforeAllocating) {
  const ImageRgb8 source = testing::noise_image(2, 2, 1);
  // Too many pixels (4·10^8 > 2^28), and a side past Pillow's exact-float range.
  for (auto [w, h] : {std::pair{20'000, 20'000}, {2'000'000'000, 1}, {1, 2'000'000'000}}) {
    try {
      resize(source, w, h, ResampleFilter::Lanczos);
      ADD_FAILURE() << w << "x" << h << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::LimitExceeded);
    }
  }
}

TEST(Resize, MapsPillowResampleCodes) {
  EXPECT_EQ(resample_filter_from_pil(0), ResampleFilter::Nearest);
  EXPECT_EQ(resample_filter_from_pil(1), ResampleFilter::Lanczos);
  EXPECT_EQ(resample_filter_from_pil(2), ResampleFilter::Bilinear);
  EXPECT_EQ(resample_filter_from_pil(3), ResampleFilter::Bicubic);
  EXPECT_EQ(resample_filter_from_pil(4), ResampleFilter::Box);
  EXPECT_EQ(resample_filter_from_pil(5), ResampleFilter::Hamming);
  EXPECT_STREQ(resample_filter_name(ResampleFilter::Lanczos), "lanczos");
  for (int code : {-1, 6, 42}) {
    try {
      resample_filter_from_pil(code);
      ADD_FAILURE() << code << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
      EXPECT_NE(std::string(e.what()).find(std::to_string(code)), std::string::npos);
    }
  }
}

TEST(Resize, ClampsRingingToTheByteRange) {
  // A hard 0/255 step rings under LANCZOS/BICUBIC; the result must saturate, not wrap.
  std::vector<std::uint8_t> pixels;
  for (int x = 0; x < 16; ++x)
    for (int c = 0; c < 3; ++c) pixels.push_back(x < 8 ? 0 : 255);
  const ImageRgb8 step(16, 1, std::move(pixels));
  const auto out = bytes_of(resize(step, 45, 1, ResampleFilter::Lanczos));
  EXPECT_EQ(out.front(), 0);
  EXPECT_EQ(out.back(), 255);
}

}  // namespace
}  // namespace vlmrt::image
