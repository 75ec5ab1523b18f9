// Pillow parity for decode_image: every file of the corpus written by make_decode_corpus.py must
// decode to exactly the bytes of ImageOps.exif_transpose(Image.open(f)).convert("RGB").
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decode_corpus.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

using decode_testing::corpus_dir;
using decode_testing::read_bytes;

nlohmann::json corpus_images(const std::string& format) {
  std::ifstream in(corpus_dir() / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  nlohmann::json selected = nlohmann::json::array();
  for (const auto& image : manifest.at("images"))
    if (image.at("format") == format) selected.push_back(image);
  return selected;
}

// Decodes every corpus image of `format` and compares with Pillow byte for byte.
void expect_pil_parity(const std::string& format, std::size_t minimum_count) {
  const auto images = corpus_images(format);
  ASSERT_GE(images.size(), minimum_count) << "corpus lost " << format << " images";
  for (const auto& entry : images) {
    const std::string name = entry.at("name");
    SCOPED_TRACE(name);
    ImageRgb8 image;
    try {
      image = load_image(corpus_dir() / entry.at("file").get<std::string>());
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
      continue;
    }
    const auto reference = read_bytes(corpus_dir() / entry.at("ref").get<std::string>());
    ASSERT_EQ(image.width(), entry.at("width").get<int>()) << name;
    ASSERT_EQ(image.height(), entry.at("height").get<int>()) << name;
    ASSERT_TRUE(image.is_contiguous());
    ASSERT_EQ(reference.size(), image.pixel_count() * 3) << name;
    std::size_t differing = 0;
    int max_difference = 0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
      const int d = std::abs(int{image.data()[i]} - int{reference[i]});
      differing += d != 0;
      max_difference = std::max(max_difference, d);
    }
    EXPECT_EQ(differing, 0u) << name << ": " << differing << " of " << reference.size()
                             << " bytes differ from Pillow, max difference " << max_difference;
  }
}

TEST(DecodePilParity, JpegMatchesPillowExactly) {
  expect_pil_parity("jpg", 20);
}
TEST(DecodePilParity, PngMatchesPillowExactly) {
  expect_pil_parity("png", 25);
}
TEST(DecodePilParity, BmpMatchesPillowExactly) {
  expect_pil_parity("bmp", 15);
}
TEST(DecodePilParity, PnmMatchesPillowExactly) {
  expect_pil_parity("pnm", 10);
}

TEST(DecodePilParity, ExifOrientationIsIgnoredWhenDisabled) {
  DecodeOptions options;
  options.apply_exif_orientation = false;
  const auto upright = load_image(corpus_dir() / "files/jpeg_exif_orientation_1.jpg", options);
  for (int orientation = 2; orientation <= 8; ++orientation) {
    const auto path =
        corpus_dir() / ("files/jpeg_exif_orientation_" + std::to_string(orientation) + ".jpg");
    const auto raw = load_image(path, options);
    ASSERT_EQ(raw.width(), upright.width());
    ASSERT_EQ(raw.height(), upright.height());
    EXPECT_TRUE(std::equal(raw.data(), raw.data() + raw.pixel_count() * 3, upright.data()))
        << orientation;
    // With orientation applied, 5..8 swap width and height.
    const auto turned = load_image(path);
    EXPECT_EQ(turned.width(), orientation >= 5 ? raw.height() : raw.width()) << orientation;
  }
}

TEST(DecodePilParity, DecodeImageSniffsBytesNotNames) {
  const auto bytes = read_bytes(corpus_dir() / "files/png_rgb8.png");
  const auto from_memory = decode_image(bytes, {}, "misnamed.jpg");
  const auto from_file = load_image(corpus_dir() / "files/png_rgb8.png");
  ASSERT_EQ(from_memory.pixel_count(), from_file.pixel_count());
  EXPECT_TRUE(std::equal(from_memory.data(), from_memory.data() + from_memory.pixel_count() * 3,
                         from_file.data()));
}

}  // namespace
}  // namespace vlmrt
