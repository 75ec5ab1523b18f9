// A tiny built-in 5x7 bitmap font for printable ASCII, used to write detection labels onto
// images without depending on a font file or a text-rendering library.
#pragma once

#include <array>
#include <cstdint>

namespace vlmrt::bitmap_font {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
// Horizontal distance between the left edges of consecutive glyphs (one blank column between).
inline constexpr int kAdvance = kGlyphWidth + 1;

// One glyph: kGlyphHeight rows, top first; in each row bit 4 is the leftmost column and bit 0
// the rightmost.
using Glyph = std::array<std::uint8_t, kGlyphHeight>;

// True for the characters the font draws (printable ASCII, ' ' to '~').
bool has_glyph(unsigned char c) noexcept;

// The glyph of `c`; any character without one gets a hollow box, so that unknown characters
// stay visible (and countable) instead of vanishing.
const Glyph& glyph(unsigned char c) noexcept;

}  // namespace vlmrt::bitmap_font
