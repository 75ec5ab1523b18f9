#include "models/pixel_batch.hpp"

#include <algorithm>
#include <cstring>

#include "vlmrt/errors.hpp"

namespace vlmrt {

std::vector<std::uint8_t> PixelBatch::attention_mask_or_ones() const {
  if (has_mask()) return pixel_attention_mask;
  return std::vector<std::uint8_t>(static_cast<std::size_t>(num_frames) * height * width, 1);
}

PixelBatch stack_samples(std::span<const PixelBatch> samples) {
  if (samples.empty())
    throw Error(ErrorKind::InvalidArgument, "stack_samples: no samples to stack");
  PixelBatch out;
  for (const auto& s : samples) {
    if (s.num_samples != 1)
      throw Error(ErrorKind::InvalidArgument, "stack_samples: each input must hold one sample");
    out.frames_per_sample = std::max(out.frames_per_sample, s.num_frames);
    out.height = std::max(out.height, s.height);
    out.width = std::max(out.width, s.width);
  }
  out.num_samples = static_cast<int>(samples.size());
  out.num_frames = out.num_samples * out.frames_per_sample;
  const std::size_t plane = static_cast<std::size_t>(out.height) * out.width;
  out.pixel_values.assign(out.frame_size() * out.num_frames, 0.0f);

  bool padded = false;
  std::vector<std::uint8_t> mask(plane * out.num_frames, 0);
  for (int s = 0; s < out.num_samples; ++s) {
    const PixelBatch& in = samples[s];
    const int base = s * out.frames_per_sample;
    padded = padded || in.num_frames != out.frames_per_sample || in.height != out.height ||
             in.width != out.width || in.has_mask();
    for (int f = 0; f < in.num_frames; ++f) {
      const float* src = in.pixel_values.data() + in.frame_size() * f;
      float* dst = out.pixel_values.data() + out.frame_size() * (base + f);
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < in.height; ++y)
          std::memcpy(dst + (static_cast<std::size_t>(c) * out.height + y) * out.width,
                      src + (static_cast<std::size_t>(c) * in.height + y) * in.width,
                      sizeof(float) * in.width);
      std::uint8_t* mask_frame = mask.data() + plane * (base + f);
      const std::uint8_t* in_mask =
          in.has_mask()
              ? in.pixel_attention_mask.data() + static_cast<std::size_t>(f) * in.height * in.width
              : nullptr;
      for (int y = 0; y < in.height; ++y) {
        std::uint8_t* row = mask_frame + static_cast<std::size_t>(y) * out.width;
        if (in_mask)
          std::memcpy(row, in_mask + static_cast<std::size_t>(y) * in.width, in.width);
        else
          std::memset(row, 1, in.width);
      }
    }
    for (ImageGrid grid : in.images) {
      grid.first_frame += base;
      grid.sample = s;
      out.images.push_back(grid);
    }
  }
  if (padded) out.pixel_attention_mask = std::move(mask);
  return out;
}

}  // namespace vlmrt
