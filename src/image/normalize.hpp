// uint8 HWC → float32 CHW with the exact arithmetic of Hugging Face image processors:
// x = float32(float64(u8) * rescale_factor), then (x - mean[c]) / std[c] in float32.
#pragma once

#include <array>
#include <span>

#include "vlmrt/image.hpp"

namespace vlmrt::image {

struct Normalization {
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> std{0.5f, 0.5f, 0.5f};
  bool do_rescale = true;
  bool do_normalize = true;
};

// Writes 3·H·W floats (channel-major) into `out`; throws InvalidArgument when the size differs.
void rescale_normalize_to_chw(const ImageRgb8& image, const Normalization& norm,
                              std::span<float> out);

}  // namespace vlmrt::image
