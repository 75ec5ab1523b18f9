// Box/label drawing for task outputs, and vlmrt::draw_detections built on it.
#include "image/draw.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "image/bitmap_font.hpp"
#include "vlmrt/detection.hpp"

namespace vlmrt::draw {
namespace {

// A 20-colour palette of mutually distinct colours (Sasha Trubetskoy's list), so that up to 20
// labels in one picture never share a colour.
constexpr std::array<Rgb, 20> kPalette = {{
    {230, 25, 75},   {60, 180, 75},   {255, 225, 25},  {0, 130, 200},   {245, 130, 48},
    {145, 30, 180},  {70, 240, 240},  {240, 50, 230},  {210, 245, 60},  {250, 190, 212},
    {0, 128, 128},   {220, 190, 255}, {170, 110, 40},  {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},     {128, 128, 128},
}};

// Characters past this many are never visible on any image we can hold; counting stops there
// so widths cannot overflow.
constexpr std::int64_t kMaxCharacters = 1 << 20;

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

void put(ImageRgb8& image, std::int64_t x, std::int64_t y, Rgb colour) {
  if (x < 0 || y < 0 || x >= image.width() || y >= image.height()) return;
  const int xi = static_cast<int>(x);
  const int yi = static_cast<int>(y);
  image.at(xi, yi, 0) = colour.r;
  image.at(xi, yi, 1) = colour.g;
  image.at(xi, yi, 2) = colour.b;
}

void fill_clipped(ImageRgb8& image, std::int64_t x0, std::int64_t y0, std::int64_t x1,
                  std::int64_t y1, Rgb colour) {
  const int cx0 = static_cast<int>(std::clamp<std::int64_t>(x0, 0, image.width()));
  const int cx1 = static_cast<int>(std::clamp<std::int64_t>(x1, 0, image.width()));
  const int cy0 = static_cast<int>(std::clamp<std::int64_t>(y0, 0, image.height()));
  const int cy1 = static_cast<int>(std::clamp<std::int64_t>(y1, 0, image.height()));
  for (int y = cy0; y < cy1; ++y)
    for (int x = cx0; x < cx1; ++x) put(image, x, y, colour);
}

}  // namespace

void fill_rect(ImageRgb8& image, int x0, int y0, int x1, int y1, Rgb colour) {
  fill_clipped(image, x0, y0, x1, y1, colour);
}

void stroke_rect(ImageRgb8& image, int x0, int y0, int x1, int y1, int thickness, Rgb colour) {
  if (x1 <= x0 || y1 <= y0 || thickness <= 0) return;
  const std::int64_t t = thickness;
  const std::int64_t left = x0, top = y0, right = x1, bottom = y1;
  fill_clipped(image, left, top, right, std::min(bottom, top + t), colour);     // top
  fill_clipped(image, left, std::max(top, bottom - t), right, bottom, colour);  // bottom
  fill_clipped(image, left, top, std::min(right, left + t), bottom, colour);    // left
  fill_clipped(image, std::max(left, right - t), top, right, bottom, colour);   // right
}

std::int64_t text_width(std::string_view text, int scale) {
  std::int64_t characters = 0;
  for (const char c : text)
    if (!is_utf8_continuation(c) && characters < kMaxCharacters) ++characters;
  if (characters == 0) return 0;
  // No blank column after the last glyph.
  return (characters * bitmap_font::kAdvance - 1) * std::max(scale, 1);
}

int text_height(int scale) {
  return bitmap_font::kGlyphHeight * std::max(scale, 1);
}

void draw_text(ImageRgb8& image, int x, int y, std::string_view text, int scale, Rgb colour) {
  scale = std::max(scale, 1);
  std::int64_t pen = x;
  for (const char c : text) {
    if (is_utf8_continuation(c)) continue;
    if (pen >= image.width()) break;  // everything further right is clipped anyway
    const auto& rows = bitmap_font::glyph(static_cast<unsigned char>(c));
    if (pen + bitmap_font::kGlyphWidth * scale > 0) {
      for (int row = 0; row < bitmap_font::kGlyphHeight; ++row)
        for (int column = 0; column < bitmap_font::kGlyphWidth; ++column)
          if (rows[row] & (1u << (bitmap_font::kGlyphWidth - 1 - column)))
            fill_clipped(image, pen + std::int64_t{column} * scale,
                         std::int64_t{y} + std::int64_t{row} * scale,
                         pen + std::int64_t{column + 1} * scale,
                         std::int64_t{y} + std::int64_t{row + 1} * scale, colour);
    }
    pen += std::int64_t{bitmap_font::kAdvance} * scale;
  }
}

Rgb palette_colour(std::size_t index) {
  return kPalette[index % kPalette.size()];
}

Rgb text_colour_on(Rgb background) {
  // ITU-R BT.601 luma: light backgrounds get black text, dark ones white.
  const int luma = (299 * background.r + 587 * background.g + 114 * background.b) / 1000;
  return luma >= 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

int line_thickness(int width, int height) {
  return std::max(2, std::min(width, height) / 250);
}

int font_scale(int width, int height) {
  return std::max(1, std::min(width, height) / 500);
}

}  // namespace vlmrt::draw

namespace vlmrt {
namespace {

// A box's pixel rectangle [x0, x1) x [y0, y1): the pixels the box touches. Coordinates are
// clamped a little beyond the image first, so that edges outside it stay outside it (and are not
// drawn) while any float, however large, converts to int safely.
struct PixelRect {
  int x0, y0, x1, y1;
};

PixelRect to_pixel_rect(const Box& box, int width, int height, int margin) {
  const auto edges = [margin](float a, float b, int size) {
    const float lo = std::clamp(std::min(a, b), -static_cast<float>(margin),
                                static_cast<float>(size) + static_cast<float>(margin));
    const float hi = std::clamp(std::max(a, b), -static_cast<float>(margin),
                                static_cast<float>(size) + static_cast<float>(margin));
    const int first = static_cast<int>(std::floor(lo));
    // A zero-size box still marks the one pixel it sits on.
    const int last = std::max(first + 1, static_cast<int>(std::ceil(hi)));
    return std::pair<int, int>{first, last};
  };
  const auto [x0, x1] = edges(box.x_min, box.x_max, width);
  const auto [y0, y1] = edges(box.y_min, box.y_max, height);
  return {x0, y0, x1, y1};
}

}  // namespace

void draw_detections(ImageRgb8& image, const std::vector<Detection>& detections) {
  if (image.empty()) return;
  const int width = image.width();
  const int height = image.height();
  const int thickness = draw::line_thickness(width, height);
  const int scale = draw::font_scale(width, height);
  const int padding = scale;

  std::vector<std::string> labels;  // distinct labels in order of first appearance
  struct Visible {
    PixelRect rect;
    draw::Rgb colour;
    const std::string* label;
  };
  std::vector<Visible> visible;
  for (const auto& detection : detections) {
    const Box& box = detection.box;
    if (std::isnan(box.x_min) || std::isnan(box.y_min) || std::isnan(box.x_max) ||
        std::isnan(box.y_max))
      continue;
    auto found = std::find(labels.begin(), labels.end(), detection.label);
    if (found == labels.end()) found = labels.insert(labels.end(), detection.label);
    const draw::Rgb colour = draw::palette_colour(static_cast<std::size_t>(found - labels.begin()));
    const PixelRect rect = to_pixel_rect(box, width, height, thickness + 1);
    if (rect.x1 <= 0 || rect.y1 <= 0 || rect.x0 >= width || rect.y0 >= height) continue;
    visible.push_back({rect, colour, &detection.label});
  }

  // Boxes first, then labels, so no box is drawn over another box's label.
  for (const auto& v : visible)
    draw::stroke_rect(image, v.rect.x0, v.rect.y0, v.rect.x1, v.rect.y1, thickness, v.colour);
  for (const auto& v : visible) {
    if (v.label->empty()) continue;
    const std::int64_t tag_width = draw::text_width(*v.label, scale) + 2 * padding;
    const int tag_height = draw::text_height(scale) + 2 * padding;
    // Keep the tag on the image: slide it left when it would run off the right edge, and put
    // it just inside the box's top edge when there is no room above the box.
    const std::int64_t tag_x =
        std::max<std::int64_t>(0, std::min<std::int64_t>(v.rect.x0, width - tag_width));
    const int tag_y = v.rect.y0 - tag_height >= 0 ? v.rect.y0 - tag_height : std::max(v.rect.y0, 0);
    const int x = static_cast<int>(tag_x);
    const int x_end = static_cast<int>(std::min<std::int64_t>(tag_x + tag_width, width));
    draw::fill_rect(image, x, tag_y, x_end, tag_y + tag_height, v.colour);
    draw::draw_text(image, x + padding, tag_y + padding, *v.label, scale,
                    draw::text_colour_on(v.colour));
  }
}

}  // namespace vlmrt
