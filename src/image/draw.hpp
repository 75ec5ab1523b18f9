// Drawing primitives for task outputs (boxes and their labels). Every primitive clips to the
// image, so callers may pass any coordinates, including ones far outside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vlmrt/image.hpp"

namespace vlmrt::draw {

struct Rgb {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// Fills the half-open rectangle [x0, x1) x [y0, y1).
void fill_rect(ImageRgb8& image, int x0, int y0, int x1, int y1, Rgb colour);

// The outline of [x0, x1) x [y0, y1), `thickness` pixels wide on the inside of the rectangle
// (so the drawn pixels never leave the box they outline).
void stroke_rect(ImageRgb8& image, int x0, int y0, int x1, int y1, int thickness, Rgb colour);

// Size in pixels of `text` drawn with the bitmap font at integer `scale` (one UTF-8 sequence
// counts as one character: it is drawn as one unknown-character box).
std::int64_t text_width(std::string_view text, int scale);
int text_height(int scale);

// Writes `text` with its top-left corner at (x, y); only the glyphs' set pixels are painted.
void draw_text(ImageRgb8& image, int x, int y, std::string_view text, int scale, Rgb colour);

// The index-th colour of a palette of clearly distinct colours (it repeats after 20).
Rgb palette_colour(std::size_t index);

// Black or white, whichever reads better on `background`.
Rgb text_colour_on(Rgb background);

// Outline width and font scale for an image of this size: 2 px and scale 1 up to about 500 px
// on the short side, growing with the image so boxes stay visible on large photos.
int line_thickness(int width, int height);
int font_scale(int width, int height);

}  // namespace vlmrt::draw
