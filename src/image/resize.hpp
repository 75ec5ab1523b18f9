// Resampling that reproduces Pillow's Image.resize bit for bit on 8-bit images (MODELS.md §5.2).
#pragma once

#include <cstdint>

#include "vlmrt/image.hpp"

namespace vlmrt::image {

// Values are Pillow's resample codes, which preprocessor_config.json stores as `resample`.
enum class ResampleFilter {
  Nearest = 0,
  Lanczos = 1,
  Bilinear = 2,
  Bicubic = 3,
  Box = 4,
  Hamming = 5
};

// Maps a Pillow resample code; throws Unsupported naming the code otherwise.
ResampleFilter resample_filter_from_pil(int code);
const char* resample_filter_name(ResampleFilter filter) noexcept;

// Pillow-exact resize of an RGB image to out_width × out_height (both ≥ 1). Returns an
// owning contiguous image; a same-size resize returns a copy as Pillow does.
ImageRgb8 resize(const ImageRgb8& source, int out_width, int out_height, ResampleFilter filter);

}  // namespace vlmrt::image
