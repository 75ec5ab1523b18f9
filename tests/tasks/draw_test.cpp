// draw_detections and its primitives: which pixels change, clipping at and beyond the image
// edges, labels, and the built-in font.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "image/bitmap_font.hpp"
#include "image/draw.hpp"
#include "vlmrt/detection.hpp"

namespace vlmrt {
namespace {

constexpr draw::Rgb kBackground{40, 40, 40};

ImageRgb8 filled(int width, int height, draw::Rgb colour = kBackground) {
  ImageRgb8 image(width, height);
  draw::fill_rect(image, 0, 0, width, height, colour);
  return image;
}

draw::Rgb pixel(const ImageRgb8& image, int x, int y) {
  return {image.at(x, y, 0), image.at(x, y, 1), image.at(x, y, 2)};
}

bool changed(const ImageRgb8& image, int x, int y) {
  return !(pixel(image, x, y) == kBackground);
}

bool same_pixels(const ImageRgb8& a, const ImageRgb8& b) {
  if (a.width() != b.width() || a.height() != b.height()) return false;
  for (int y = 0; y < a.height(); ++y)
    for (int x = 0; x < a.width(); ++x)
      if (!(pixel(a, x, y) == pixel(b, x, y))) return false;
  return true;
}

int changed_in_rows(const ImageRgb8& image, int y0, int y1) {
  int count = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = 0; x < image.width(); ++x) count += changed(image, x, y) ? 1 : 0;
  return count;
}

Detection detection(float x_min, float y_min, float x_max, float y_max, std::string label = "") {
  return {{x_min, y_min, x_max, y_max}, std::move(label), {}};
}

TEST(DrawDetections, ColoursTheBoxEdgeTwoPixelsWideAndNothingElseAroundIt) {
  ImageRgb8 image = filled(200, 150);
  draw_detections(image, {detection(50, 60, 150, 120)});
  const draw::Rgb colour = pixel(image, 50, 90);
  EXPECT_EQ(colour, draw::palette_colour(0));
  for (const auto& [x, y] : std::vector<std::pair<int, int>>{
           {50, 90}, {51, 90}, {148, 90}, {149, 90}, {100, 60}, {100, 61}, {100, 118}, {100, 119}})
    EXPECT_EQ(pixel(image, x, y), colour) << x << "," << y;
  // Just inside the 2 px edge, far inside, and just outside stay as they were.
  for (const auto& [x, y] : std::vector<std::pair<int, int>>{{52, 90},
                                                             {147, 90},
                                                             {100, 62},
                                                             {100, 117},
                                                             {100, 90},
                                                             {49, 90},
                                                             {150, 90},
                                                             {100, 59},
                                                             {100, 120},
                                                             {5, 5},
                                                             {195, 145}})
    EXPECT_FALSE(changed(image, x, y)) << x << "," << y;
}

TEST(DrawDetections, WritesTheLabelOnAFilledTagAboveTheBox) {
  ImageRgb8 image = filled(200, 150);
  draw_detections(image, {detection(50, 60, 150, 120, "cat")});
  const draw::Rgb colour = draw::palette_colour(0);
  // Tag: 3 glyphs of 6 px less the last blank column plus 1 px padding each side, 9 px tall.
  EXPECT_EQ(pixel(image, 50, 51), colour);
  EXPECT_EQ(pixel(image, 68, 59), colour);
  EXPECT_FALSE(changed(image, 69, 55));
  EXPECT_FALSE(changed(image, 50, 50));
  int text_pixels = 0;
  for (int y = 51; y < 60; ++y)
    for (int x = 50; x < 69; ++x)
      text_pixels += pixel(image, x, y) == draw::text_colour_on(colour) ? 1 : 0;
  EXPECT_GT(text_pixels, 10);
  // Nothing else above the box changes.
  EXPECT_EQ(changed_in_rows(image, 0, 51), 0);
}

TEST(DrawDetections, PutsTheLabelInsideTheBoxWhenThereIsNoRoomAbove) {
  ImageRgb8 image = filled(100, 100);
  draw_detections(image, {detection(10, 2, 90, 90, "dog")});
  EXPECT_EQ(pixel(image, 12, 6), draw::palette_colour(0));  // tag background inside the box
  EXPECT_FALSE(changed(image, 12, 0));
}

TEST(DrawDetections, GivesEachDistinctLabelItsOwnColour) {
  ImageRgb8 image = filled(300, 100);
  draw_detections(image, {detection(10, 20, 50, 60, "cat"), detection(110, 20, 150, 60, "dog"),
                          detection(210, 20, 250, 60, "cat")});
  EXPECT_EQ(pixel(image, 10, 40), draw::palette_colour(0));
  EXPECT_EQ(pixel(image, 110, 40), draw::palette_colour(1));
  EXPECT_EQ(pixel(image, 210, 40), draw::palette_colour(0));
  for (std::size_t i = 0; i < 20; ++i)
    for (std::size_t j = i + 1; j < 20; ++j)
      EXPECT_FALSE(draw::palette_colour(i) == draw::palette_colour(j)) << i << " " << j;
}

TEST(DrawDetections, DrawsOnlyTheVisiblePartOfABoxPartlyOutsideTheImage) {
  ImageRgb8 image = filled(200, 150);
  draw_detections(image, {detection(-50, -30, 100, 80, "cat")});
  EXPECT_TRUE(changed(image, 99, 40));  // right edge
  EXPECT_TRUE(changed(image, 98, 40));
  EXPECT_TRUE(changed(image, 50, 79));  // bottom edge
  EXPECT_FALSE(changed(image, 0, 40));  // the left and top edges lie outside the image
  EXPECT_FALSE(changed(image, 50, 0));
  EXPECT_TRUE(changed(image, 1, 1));  // the tag, moved inside the image
  EXPECT_FALSE(changed(image, 101, 40));
  EXPECT_FALSE(changed(image, 50, 81));
}

TEST(DrawDetections, IgnoresBoxesWhollyOutsideTheImageOrWithNaN) {
  ImageRgb8 image = filled(64, 48);
  const ImageRgb8 before = image.clone();
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  draw_detections(image, {detection(-100, -100, -10, -10, "left"), detection(70, 10, 90, 20, "r"),
                          detection(10, 60, 20, 2000, "below"), detection(1e30f, 1e30f, inf, inf),
                          detection(-inf, -inf, -1e30f, -1e30f, "x"), detection(nan, 0, 10, 10),
                          detection(0, 0, 10, nan, "nan")});
  EXPECT_TRUE(same_pixels(image, before));
}

TEST(DrawDetections, HandlesHugeAndInvertedBoxesWithoutLeavingTheImage) {
  ImageRgb8 image = filled(64, 48);
  const float inf = std::numeric_limits<float>::infinity();
  draw_detections(image, {detection(-inf, -inf, inf, inf, std::string(100000, 'W')),
                          detection(40, 40, 10, 10, "inverted")});
  EXPECT_FALSE(changed(image, 1, 47));  // the huge box's edges are all outside
  EXPECT_TRUE(changed(image, 10, 25));  // the inverted box is drawn as its normalised self
}

TEST(DrawDetections, NeverWritesOutsideAStridedView) {
  const int width = 20, height = 10, stride = 3 * width + 7;
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(stride) * height + 13, 0xAB);
  ImageRgb8 view = ImageRgb8::view(buffer.data(), width, height, stride);
  draw_detections(view, {detection(-5, -5, 25, 15, "a very long label that runs off"),
                         detection(0, 0, 20, 10, "x"), detection(19.5f, 9.5f, 19.5f, 9.5f, "p")});
  for (int y = 0; y < height; ++y)
    for (std::size_t i = 3 * width; i < static_cast<std::size_t>(stride); ++i)
      EXPECT_EQ(buffer[static_cast<std::size_t>(y) * stride + i], 0xAB) << y << " " << i;
  for (std::size_t i = static_cast<std::size_t>(stride) * height; i < buffer.size(); ++i)
    EXPECT_EQ(buffer[i], 0xAB);
  EXPECT_NE(buffer[0], 0xAB);  // the label tag covers the top-left corner
}

TEST(DrawDetections, AcceptsEmptyAndOnePixelImages) {
  ImageRgb8 empty;
  draw_detections(empty, {detection(0, 0, 10, 10, "cat")});
  ImageRgb8 no_rows(10, 0);
  draw_detections(no_rows, {detection(0, 0, 10, 10, "cat")});
  ImageRgb8 one = filled(1, 1);
  draw_detections(one, {detection(0, 0, 0.5f, 0.5f, "cat")});
  EXPECT_TRUE(changed(one, 0, 0));
}

TEST(DrawDetections, AZeroSizeBoxMarksThePixelItSitsOn) {
  ImageRgb8 image = filled(20, 20);
  draw_detections(image, {detection(7.25f, 9.5f, 7.25f, 9.5f)});
  EXPECT_TRUE(changed(image, 7, 9));
  EXPECT_EQ(changed_in_rows(image, 0, 20), 1);
}

TEST(DrawDetections, ThickensLinesAndTextOnLargeImages) {
  ImageRgb8 image = filled(1000, 1000);
  draw_detections(image, {detection(100, 200, 500, 600, "car")});
  EXPECT_EQ(draw::line_thickness(1000, 1000), 4);
  EXPECT_TRUE(changed(image, 103, 400));
  EXPECT_FALSE(changed(image, 104, 400));
  // Scale 2: the tag is 2 * 7 + 2 * 2 = 18 px tall.
  EXPECT_TRUE(changed(image, 101, 182));
  EXPECT_FALSE(changed(image, 101, 181));
}

TEST(DrawDetections, IsDeterministic) {
  const std::vector<Detection> detections = parse_detections(
      "<loc0100><loc0100><loc0500><loc0600> cat ; "
      "<loc0300><loc0200><loc0900><loc1000> traffic light",
      320, 240);
  ImageRgb8 a = filled(320, 240);
  ImageRgb8 b = filled(320, 240);
  draw_detections(a, detections);
  draw_detections(b, detections);
  EXPECT_TRUE(same_pixels(a, b));
  EXPECT_FALSE(same_pixels(a, filled(320, 240)));
}

TEST(DrawText, DrawsUnknownCharactersAsABox) {
  EXPECT_EQ(draw::text_width("\xC3\xA9", 1), 5);  // one UTF-8 character, one glyph
  EXPECT_EQ(draw::text_width("ab", 1), 11);
  EXPECT_EQ(draw::text_width("", 3), 0);
  ImageRgb8 image = filled(10, 10);
  draw::draw_text(image, 1, 1, "\x01", 1, {255, 255, 255});
  for (int x = 1; x <= 5; ++x) EXPECT_TRUE(changed(image, x, 1) && changed(image, x, 7)) << x;
  for (int y = 1; y <= 7; ++y) EXPECT_TRUE(changed(image, 1, y) && changed(image, 5, y)) << y;
  EXPECT_FALSE(changed(image, 3, 4));
}

TEST(BitmapFont, EveryPrintableCharacterButSpaceHasInkAndDistinctGlyphs) {
  for (int c = 33; c <= 126; ++c) {
    ASSERT_TRUE(bitmap_font::has_glyph(static_cast<unsigned char>(c)));
    int ink = 0;
    for (const auto row : bitmap_font::glyph(static_cast<unsigned char>(c))) ink += row != 0;
    EXPECT_GT(ink, 0) << static_cast<char>(c);
    for (int d = c + 1; d <= 126; ++d)
      EXPECT_NE(bitmap_font::glyph(static_cast<unsigned char>(c)),
                bitmap_font::glyph(static_cast<unsigned char>(d)))
          << static_cast<char>(c) << " " << static_cast<char>(d);
  }
  EXPECT_FALSE(bitmap_font::has_glyph('\n'));
  EXPECT_FALSE(bitmap_font::has_glyph(0xC3));
}

}  // namespace
}  // namespace vlmrt
