// What the vision tower runs on, worked out from a PixelBatch before any math: which frames are
// real, which patches of each are valid and which position ids they read (MODELS.md §3.1, §3.2).
// Kept apart from the tower so the rules are tested on their own and the tower only computes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "models/model_config.hpp"
#include "models/pixel_batch.hpp"

namespace vlmrt::native {

struct VisionFramePlan {
  std::vector<int> frames;  // indices into the PixelBatch of the frames the tower runs
  std::size_t patches = 0;  // per frame: patches_per_side²
  // [frames.size() · patches]: the patch's position-embedding row.
  std::vector<std::int32_t> position_ids;
  // [frames.size() · patches]: 1 = valid patch. Meaningful only for frames whose `masked` flag
  // is set; other frames see every patch.
  std::vector<std::uint8_t> patch_valid;
  std::vector<std::uint8_t> masked;  // per frame: some patch is invalid (attention masks keys)

  std::size_t size() const noexcept { return frames.size(); }
  std::span<const std::int32_t> positions_of(std::size_t i) const {
    return {position_ids.data() + i * patches, patches};
  }
  // The key mask for attention, or null when every patch of frame i is valid.
  const std::uint8_t* key_valid_of(std::size_t i) const {
    return masked[i] != 0 ? patch_valid.data() + i * patches : nullptr;
  }
};

// Checks `pixels` against the tower: frames of 3 × image_size × image_size, pixel_values and
// (when present) pixel_attention_mask of the sizes the header promises, at least one frame.
// Throws vlmrt::Error(InvalidArgument) naming the expected size.
void check_pixel_batch(const PixelBatch& pixels, const VisionConfig& vision);

// Fills `plan` (reusing its capacity) for a checked batch.
//   bucketed = false (PaliGemma, §3.1): every frame runs, positions 0..N²−1, no patch mask (a
//     pixel_attention_mask is ignored: PaliGemma's model has no such input).
//   bucketed = true (Idefics3, §3.2): all-zero frames are batch padding and are dropped (a real
//     frame never is, normalisation maps 0 to −1), keeping frame 0 when every frame is zero; a
//     patch is valid when any pixel of its p×p block is; the valid region gets the bucketed ids
//     floor(r·N/nb_h)·N + floor(c·N/nb_w) row-major, invalid patches id 0.
// Throws InvalidArgument when a frame's valid patches are not the nb_h × nb_w rectangle its
// first column and row describe (Hugging Face cannot place such position ids either).
void plan_vision_frames(const PixelBatch& pixels, const VisionConfig& vision, bool bucketed,
                        VisionFramePlan& plan);

}  // namespace vlmrt::native
