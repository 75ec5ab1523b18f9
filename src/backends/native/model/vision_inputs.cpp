#include "backends/native/model/vision_inputs.hpp"

#include <algorithm>
#include <string>

#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, "vision encoder: " + message);
}

bool all_zero(std::span<const float> frame) {
  // == 0.0 as PyTorch compares: -0.0 counts as zero too.
  return std::all_of(frame.begin(), frame.end(), [](float v) { return v == 0.0f; });
}

// Valid patches of one frame (§3.2): any real pixel in the p×p block; trailing pixels that do not
// fill a patch are ignored, as by the stride-p conv.
void patch_mask_of(const std::uint8_t* pixel_mask, std::size_t side, std::size_t patch,
                   std::size_t grid, std::uint8_t* out) {
  for (std::size_t r = 0; r < grid; ++r) {
    for (std::size_t c = 0; c < grid; ++c) {
      std::uint8_t any = 0;
      for (std::size_t y = 0; y < patch && any == 0; ++y) {
        const std::uint8_t* row = pixel_mask + (r * patch + y) * side + c * patch;
        for (std::size_t x = 0; x < patch; ++x) any |= row[x] != 0 ? 1 : 0;
      }
      out[r * grid + c] = any;
    }
  }
}

// Hugging Face's bucketize rule with the #41190 fix, as floor(r·N / nb) (MODELS.md §3.2).
void bucketed_ids(const std::uint8_t* valid, std::size_t grid, int frame, std::int32_t* ids) {
  std::size_t nb_h = 0;
  std::size_t nb_w = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < grid; ++i) {
    nb_h += valid[i * grid] != 0 ? 1 : 0;
    nb_w += valid[i] != 0 ? 1 : 0;
  }
  for (std::size_t i = 0; i < grid * grid; ++i) count += valid[i] != 0 ? 1 : 0;
  if (count != nb_h * nb_w) {
    invalid("frame " + std::to_string(frame) + " has " + std::to_string(count) +
            " valid patches, not the " + std::to_string(nb_h) + "x" + std::to_string(nb_w) +
            " rectangle its first patch column and row describe (pixel_attention_mask must mark "
            "one rectangle of real pixels)");
  }
  std::size_t k = 0;
  for (std::size_t i = 0; i < grid * grid; ++i) {
    if (valid[i] == 0) {
      ids[i] = 0;
      continue;
    }
    const std::size_t r = k / nb_w;
    const std::size_t c = k % nb_w;
    ids[i] = static_cast<std::int32_t>((r * grid / nb_h) * grid + c * grid / nb_w);
    ++k;
  }
}

}  // namespace

void check_pixel_batch(const PixelBatch& pixels, const VisionConfig& vision) {
  const std::int64_t side = vision.image_size;
  if (pixels.num_frames <= 0) invalid("the pixel batch has no frames");
  if (pixels.height != side || pixels.width != side) {
    invalid("pixel frames are " + std::to_string(pixels.height) + "x" +
            std::to_string(pixels.width) + ", the vision tower expects " + std::to_string(side) +
            "x" + std::to_string(side) + " (vision_config.image_size)");
  }
  const std::size_t frames = static_cast<std::size_t>(pixels.num_frames);
  if (pixels.pixel_values.size() != frames * pixels.frame_size()) {
    invalid("pixel_values holds " + std::to_string(pixels.pixel_values.size()) +
            " floats, expected " + std::to_string(frames * pixels.frame_size()) + " for " +
            std::to_string(frames) + " frames of 3x" + std::to_string(side) + "x" +
            std::to_string(side));
  }
  const std::size_t plane = static_cast<std::size_t>(pixels.height) * pixels.width;
  if (pixels.has_mask() && pixels.pixel_attention_mask.size() != frames * plane) {
    invalid("pixel_attention_mask holds " + std::to_string(pixels.pixel_attention_mask.size()) +
            " values, expected " + std::to_string(frames * plane) + " (" + std::to_string(frames) +
            " frames of " + std::to_string(side) + "x" + std::to_string(side) + ")");
  }
}

void plan_vision_frames(const PixelBatch& pixels, const VisionConfig& vision, bool bucketed,
                        VisionFramePlan& plan) {
  const std::size_t grid = static_cast<std::size_t>(vision.patches_per_side());
  const std::size_t patch = static_cast<std::size_t>(vision.patch_size);
  const std::size_t side = static_cast<std::size_t>(pixels.height);
  plan.patches = grid * grid;
  plan.frames.clear();
  for (int f = 0; f < pixels.num_frames; ++f)
    if (!bucketed || !all_zero(pixels.frame(f))) plan.frames.push_back(f);
  if (plan.frames.empty()) plan.frames.push_back(0);  // HF keeps the first frame (§3.2)

  const std::size_t n = plan.frames.size();
  plan.position_ids.resize(n * plan.patches);
  plan.patch_valid.assign(n * plan.patches, 1);
  plan.masked.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::int32_t* ids = plan.position_ids.data() + i * plan.patches;
    std::uint8_t* valid = plan.patch_valid.data() + i * plan.patches;
    if (bucketed && pixels.has_mask()) {
      const std::uint8_t* mask = pixels.pixel_attention_mask.data() +
                                 static_cast<std::size_t>(plan.frames[i]) * side * side;
      patch_mask_of(mask, side, patch, grid, valid);
      plan.masked[i] = std::find(valid, valid + plan.patches, 0) != valid + plan.patches ? 1 : 0;
    }
    if (plan.masked[i] != 0) {
      bucketed_ids(valid, grid, plan.frames[i], ids);
    } else {
      // A full frame's bucketed ids are the identity (§3.2, errata 2), as PaliGemma's are.
      for (std::size_t j = 0; j < plan.patches; ++j) ids[j] = static_cast<std::int32_t>(j);
    }
  }
}

}  // namespace vlmrt::native
