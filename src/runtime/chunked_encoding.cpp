#include "runtime/chunked_encoding.hpp"

#include <algorithm>
#include <cstddef>

namespace vlmrt::runtime {

ImageFeatures encode_in_chunks(const PixelBatch& pixels, int frames_per_chunk,
                               const std::function<ImageFeatures(const PixelBatch&)>& encode) {
  if (pixels.has_mask() || frames_per_chunk <= 0 || pixels.num_frames <= frames_per_chunk)
    return encode(pixels);
  ImageFeatures all;
  for (int first = 0; first < pixels.num_frames; first += frames_per_chunk) {
    PixelBatch chunk;
    chunk.height = pixels.height;
    chunk.width = pixels.width;
    chunk.num_frames = std::min(frames_per_chunk, pixels.num_frames - first);
    chunk.frames_per_sample = chunk.num_frames;
    const auto begin =
        pixels.pixel_values.begin() + static_cast<std::ptrdiff_t>(pixels.frame_size() * first);
    chunk.pixel_values.assign(
        begin, begin + static_cast<std::ptrdiff_t>(pixels.frame_size() * chunk.num_frames));
    ImageFeatures part = encode(chunk);
    all.values.insert(all.values.end(), part.values.begin(), part.values.end());
    all.rows += part.rows;
    all.width = part.width;
    all.frames += part.frames;
  }
  return all;
}

}  // namespace vlmrt::runtime
