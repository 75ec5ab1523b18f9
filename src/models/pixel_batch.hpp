// What an image processor hands to a vision tower: normalised float32 frames plus the layout of
// each image in them. Backend-independent; it knows nothing of tokens.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace vlmrt {

// Where one input image landed in a PixelBatch.
struct ImageGrid {
  int rows = 0;         // tile rows; 0 when the image was not split (MODELS.md §5.2 step 3)
  int cols = 0;         // tile columns; 0 when not split
  int first_frame = 0;  // index of its first frame in PixelBatch
  int num_frames = 0;   // rows·cols tiles + 1 global image, or 1 when not split
  int sample = 0;       // which prompt of a padded batch it belongs to

  // `<image>` tokens this image expands to: one block of image_seq_len per frame (MODELS.md
  // §5.1, §5.3).
  int image_tokens(int image_seq_len) const noexcept { return num_frames * image_seq_len; }
};

// pixel_values is float32 [num_frames, 3, height, width], C order, exactly what the model reads
// (HF's [batch, frames, 3, H, W] flattened over batch·frames). Frames of one image are
// consecutive: its tiles row-major, then its global image (MODELS.md §4).
//
// pixel_attention_mask is uint8 [num_frames, height, width] (1 = real pixel) and is left EMPTY
// when every pixel is real — always the case for one prompt, since all Idefics3 frames are
// max_image_size squared. It is filled only when a multi-prompt batch needed padding frames
// (all-zero pixels, mask 0) or padded pixels; the vision tower then drops padding frames and
// masks padded patches (MODELS.md §3.2).
struct PixelBatch {
  std::vector<float> pixel_values;
  std::vector<std::uint8_t> pixel_attention_mask;
  int num_frames = 0;
  int height = 0;
  int width = 0;
  int num_samples = 1;        // prompts; sample s owns frames [s·frames_per_sample, …)
  int frames_per_sample = 0;  // frames of each sample after padding (num_frames / num_samples)
  std::vector<ImageGrid> images;

  std::size_t frame_size() const noexcept { return std::size_t{3} * height * width; }
  std::array<std::int64_t, 4> shape() const noexcept { return {num_frames, 3, height, width}; }
  bool has_mask() const noexcept { return !pixel_attention_mask.empty(); }
  std::span<const float> frame(int index) const {
    return {pixel_values.data() + frame_size() * index, frame_size()};
  }
  std::span<float> frame(int index) {
    return {pixel_values.data() + frame_size() * index, frame_size()};
  }
  // The mask materialised (all ones when has_mask() is false), for callers that always want one.
  std::vector<std::uint8_t> attention_mask_or_ones() const;
};

// Stacks per-prompt batches into one, padding every sample to the largest frame count and every
// frame to the largest height and width with zeros (top-left aligned, as HF's pad). The result has
// a mask only when something was padded. Throws InvalidArgument for an empty list.
PixelBatch stack_samples(std::span<const PixelBatch> samples);

}  // namespace vlmrt
