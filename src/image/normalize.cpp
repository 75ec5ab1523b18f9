// Rescale + normalise with Hugging Face's arithmetic (MODELS.md §5.1 steps 3-4): the rescale
// multiplies in float64 and rounds once to float32; the normalisation subtracts and divides
// in float32 (numpy float32 array ops). A division is not replaced by a reciprocal multiply,
// which would change low bits.
#include "image/normalize.hpp"

#include <array>
#include <cstdint>
#include <string>

#include "vlmrt/errors.hpp"

namespace vlmrt::image {

void rescale_normalize_to_chw(const ImageRgb8& image, const Normalization& norm,
                              std::span<float> out) {
  const std::size_t plane = image.pixel_count();
  if (out.size() != 3 * plane)
    throw Error(ErrorKind::InvalidArgument,
                "rescale_normalize_to_chw: output holds " + std::to_string(out.size()) +
                    " floats, expected 3*" + std::to_string(image.height()) + "*" +
                    std::to_string(image.width()) + " = " + std::to_string(3 * plane));

  // The result depends only on the byte value and the channel, so a 3×256 table computed
  // with the exact expression gives identical values at table-lookup speed.
  std::array<std::array<float, 256>, 3> table{};
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      float x = norm.do_rescale ? static_cast<float>(static_cast<double>(v) * norm.rescale_factor)
                                : static_cast<float>(v);
      if (norm.do_normalize)
        x = (x - norm.mean[static_cast<std::size_t>(c)]) / norm.std[static_cast<std::size_t>(c)];
      table[static_cast<std::size_t>(c)][static_cast<std::size_t>(v)] = x;
    }
  }

  const int width = image.width();
  float* r_plane = out.data();
  float* g_plane = r_plane + plane;
  float* b_plane = g_plane + plane;
  for (int y = 0; y < image.height(); ++y) {
    const std::uint8_t* in = image.row(y);
    const std::size_t base = static_cast<std::size_t>(y) * static_cast<std::size_t>(width);
    for (int x = 0; x < width; ++x) {
      r_plane[base + x] = table[0][in[3 * x + 0]];
      g_plane[base + x] = table[1][in[3 * x + 1]];
      b_plane[base + x] = table[2][in[3 * x + 2]];
    }
  }
}

}  // namespace vlmrt::image
