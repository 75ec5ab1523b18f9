// Image<T, C> (views, strides, clone) and save_image / load_image round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "decode_corpus.hpp"
#include "test_support.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

ImageRgb8 numbered(int width, int height) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * 3);
  std::iota(pixels.begin(), pixels.end(), std::uint8_t{0});
  return ImageRgb8(width, height, std::move(pixels));
}

ErrorKind kind_of(auto&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no vlmrt::Error thrown";
  return ErrorKind::Internal;
}

TEST(DecodeImageClass, OwningImagesAreZeroedAndContiguous) {
  const ImageRgb8 image(5, 3);
  EXPECT_TRUE(image.owns_pixels());
  EXPECT_TRUE(image.is_contiguous());
  EXPECT_EQ(image.row_stride(), 15u);
  EXPECT_EQ(image.pixel_count(), 15u);
  EXPECT_TRUE(std::all_of(image.data(), image.data() + 45, [](std::uint8_t v) { return v == 0; }));
  EXPECT_TRUE(ImageRgb8().empty());
  EXPECT_TRUE(ImageRgb8(0, 7).empty());
}

TEST(DecodeImageClass, RejectsNegativeSizesAndWrongBufferSizes) {
  EXPECT_EQ(kind_of([] { ImageRgb8(-1, 2); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([] { ImageRgb8(2, 2, std::vector<std::uint8_t>(11)); }),
            ErrorKind::InvalidArgument);
  std::uint8_t buffer[16] = {};
  EXPECT_EQ(kind_of([&] { ImageRgb8::view(buffer, 2, 2, 5); }), ErrorKind::InvalidArgument);
}

TEST(DecodeImageClass, ViewsAddressPixelsThroughTheStride) {
  // A 2x3 window starting at (1, 1) of a 4x4 image.
  ImageRgb8 base = numbered(4, 4);
  ImageRgb8 view = ImageRgb8::view(base.row(1) + 3, 2, 3, base.row_stride());
  EXPECT_FALSE(view.owns_pixels());
  EXPECT_FALSE(view.is_contiguous());
  EXPECT_EQ(view.at(0, 0, 0), base.at(1, 1, 0));
  EXPECT_EQ(view.at(1, 2, 2), base.at(2, 3, 2));
  view.at(1, 1, 1) = 250;  // writes through to the base image
  EXPECT_EQ(base.at(2, 2, 1), 250);
  ImageRgb8 copy_of_view = view;  // copying a view copies the view, not the pixels
  EXPECT_EQ(copy_of_view.data(), view.data());
}

TEST(DecodeImageClass, CloneIsAContiguousDeepCopy) {
  ImageRgb8 base = numbered(4, 4);
  const ImageRgb8 view = ImageRgb8::view(base.row(1) + 3, 2, 3, base.row_stride());
  ImageRgb8 clone = view.clone();
  EXPECT_TRUE(clone.owns_pixels());
  EXPECT_TRUE(clone.is_contiguous());
  ASSERT_EQ(clone.width(), 2);
  ASSERT_EQ(clone.height(), 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(clone.at(x, y, c), view.at(x, y, c));
  clone.at(0, 0, 0) = 99;
  EXPECT_NE(base.at(1, 1, 0), 99);
  // Other element types and channel counts work the same way.
  Image<float, 1> gray(3, 2);
  gray.at(2, 1, 0) = 1.5f;
  EXPECT_EQ(gray.clone().at(2, 1, 0), 1.5f);
  EXPECT_EQ((Image<std::uint16_t, 4>::channels()), 4);
}

// --------------------------------------------------------------------------- save / load
TEST(DecodeSave, PngAndPpmRoundTripExactly) {
  const fs::path dir = testing::scratch_dir("decode_save");
  ImageRgb8 base = numbered(7, 5);
  const ImageRgb8 view = ImageRgb8::view(base.row(1) + 3, 5, 3, base.row_stride());
  for (const char* name : {"out.png", "out.ppm", "UPPER.PNG"}) {
    save_image(dir / name, view);
    const ImageRgb8 loaded = load_image(dir / name);
    ASSERT_EQ(loaded.width(), 5) << name;
    ASSERT_EQ(loaded.height(), 3) << name;
    for (int y = 0; y < 3; ++y)
      EXPECT_TRUE(std::equal(view.row(y), view.row(y) + 15, loaded.row(y))) << name << " row " << y;
  }
}

TEST(DecodeSave, PillowReadsTheSavedPngAsTheSameRgbPixels) {
  const fs::path dir = testing::scratch_dir("decode_save_pil");
  const ImageRgb8 image = numbered(9, 4);
  save_image(dir / "x.png", image);
  std::string output;
  const std::string script = "from PIL import Image; im = Image.open('" + (dir / "x.png").string() +
                             "'); assert im.mode == 'RGB', im.mode; open('" +
                             (dir / "x.rgb").string() + "', 'wb').write(im.tobytes())";
  ASSERT_EQ(
      testing::run_command(testing::python() + " -c " + testing::shell_quote(script), &output), 0)
      << output;
  const auto pil = decode_testing::read_bytes(dir / "x.rgb");
  ASSERT_EQ(pil.size(), image.pixel_count() * 3);
  EXPECT_TRUE(std::equal(pil.begin(), pil.end(), image.data()));
}

TEST(DecodeSave, RejectsUnknownExtensionsAndEmptyImages) {
  const fs::path dir = testing::scratch_dir("decode_save_bad");
  EXPECT_EQ(kind_of([&] { save_image(dir / "x.jpg", numbered(2, 2)); }),
            ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { save_image(dir / "noext", numbered(2, 2)); }),
            ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { save_image(dir / "x.png", ImageRgb8()); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { save_image(dir / "missing_dir" / "x.png", numbered(2, 2)); }),
            ErrorKind::Io);
}

TEST(DecodeSave, LoadImageReportsMissingFiles) {
  const fs::path missing = testing::scratch_dir("decode_load") / "nope.png";
  EXPECT_EQ(kind_of([&] { load_image(missing); }), ErrorKind::NotFound);
}

}  // namespace
}  // namespace vlmrt
