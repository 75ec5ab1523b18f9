#include "image/normalize.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "core/json.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::image {
namespace {

namespace fs = std::filesystem;

std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Normalize, MatchesNumpyFloat64RescaleThenFloat32NormaliseExactly) {
  const fs::path dir = testing::generated_data(
      "normalize_reference", testing::source_dir() / "tests/image/make_normalize_reference.py");
  const json::Json manifest = json::read_file(dir / "manifest.json");
  const int width = manifest.at("width").get<int>();
  const int height = manifest.at("height").get<int>();
  const std::vector<char> raw = read_bytes(dir / "image.rgb");
  ASSERT_EQ(raw.size(), static_cast<std::size_t>(width) * height * 3);
  const ImageRgb8 image(width, height, std::vector<std::uint8_t>(raw.begin(), raw.end()));
  const std::size_t plane = static_cast<std::size_t>(width) * height;

  for (const auto& config : manifest.at("configs")) {
    const std::string name = config.at("name").get<std::string>();
    Normalization norm;
    norm.rescale_factor = config.at("rescale_factor").get<double>();
    for (std::size_t c = 0; c < 3; ++c) {
      norm.mean[c] = static_cast<float>(config.at("mean").at(c).get<double>());
      norm.std[c] = static_cast<float>(config.at("std").at(c).get<double>());
    }
    norm.do_rescale = config.at("do_rescale").get<bool>();
    norm.do_normalize = config.at("do_normalize").get<bool>();

    const std::vector<char> bytes = read_bytes(dir / config.at("file").get<std::string>());
    ASSERT_EQ(bytes.size(), 3 * plane * sizeof(float)) << name;
    std::vector<float> expected(3 * plane);
    std::memcpy(expected.data(), bytes.data(), bytes.size());

    std::vector<float> actual(3 * plane);
    rescale_normalize_to_chw(image, norm, actual);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      // Bitwise comparison: equal floats only, no tolerance.
      if (std::memcmp(&actual[i], &expected[i], sizeof(float)) != 0 && mismatches++ < 5) {
        ADD_FAILURE() << name << ": channel " << i / plane << " pixel " << i % plane << ": got "
                      << actual[i] << ", numpy " << expected[i];
      }
    }
    EXPECT_EQ(mismatches, 0u) << name;
  }
}

TEST(Normalize, DefaultsMapBytesToMinusOneToOneInChannelMajorOrder) {
  // Pixel (x=1, y=0) is (255, 0, 51); CHW index of channel c, pixel p is c·2 + p.
  const ImageRgb8 image(2, 1, std::vector<std::uint8_t>{0, 255, 0, 255, 0, 51});
  std::vector<float> out(6);
  rescale_normalize_to_chw(image, Normalization{}, out);
  EXPECT_EQ(out[0], -1.0f);  // R of pixel 0
  EXPECT_EQ(out[1], 1.0f);   // R of pixel 1
  EXPECT_EQ(out[2], 1.0f);   // G of pixel 0
  EXPECT_EQ(out[3], -1.0f);  // G of pixel 1
  EXPECT_EQ(out[4], -1.0f);  // B of pixel 0
  EXPECT_EQ(out[5], (static_cast<float>(51.0 / 255.0) - 0.5f) / 0.5f);
}

TEST(Normalize, ReadsStridedViews) {
  std::vector<std::uint8_t> pixels(4 * 3 * 3);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 7);
  const ImageRgb8 full(4, 3, pixels);
  const ImageRgb8 window =
      ImageRgb8::view(const_cast<std::uint8_t*>(full.row(1)) + 3, 2, 2, full.row_stride());
  std::vector<float> from_view(12), from_copy(12);
  rescale_normalize_to_chw(window, Normalization{}, from_view);
  rescale_normalize_to_chw(window.clone(), Normalization{}, from_copy);
  EXPECT_EQ(from_view, from_copy);
}

TEST(Normalize, RejectsAWronglySizedOutput) {
  const ImageRgb8 image(3, 2);
  for (std::size_t size : {std::size_t{0}, std::size_t{17}, std::size_t{19}}) {
    std::vector<float> out(size);
    try {
      rescale_normalize_to_chw(image, Normalization{}, out);
      ADD_FAILURE() << size << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("18"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace vlmrt::image
