// The Idefics3 / SmolVLM / SmolVLM2 image processor, slow PIL path of transformers v5
// (MODELS.md §5.2 and errata 1, 3, 7, 12): longest-edge resize, resize to multiples of the tile
// edge, exact tile crops row-major plus a global image, rescale + normalise, padding.
#pragma once

#include <span>
#include <vector>

#include "models/pixel_batch.hpp"
#include "models/processor_config.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt::smolvlm {

struct Extent {
  int width = 0;
  int height = 0;
  bool operator==(const Extent&) const = default;
};

// Stage 1: the longest edge becomes `longest_edge` (up or down), the other edge keeps the aspect
// ratio truncated by int() and rounded up to even, then both are clamped to 4096 (MAX_IMAGE_SIZE).
Extent longest_edge_size(Extent image, int longest_edge);
// Stage 2 (resize_for_vision_encoder): both edges become multiples of `tile`, aspect-preserving.
Extent vision_encoder_size(Extent image, int tile);

// What an image becomes, computed from sizes alone (no pixels): used to size buffers up front
// and to count tokens without processing.
struct FramePlan {
  Extent resized;  // size after stage 1 (or the input size when do_resize is false)
  Extent encoder;  // size after stage 2 (or the tile square when do_image_splitting is false)
  int rows = 0;    // 0 when not split
  int cols = 0;
  int num_frames = 0;  // rows·cols + 1 when split, else 1
  Extent frame;        // every frame's size (tile × tile)
};

// The uint8 frames of one image, before rescale/normalise. The tiles are views into `encoder`
// (no copies); the global image owns its pixels. When no resize was needed at all, `encoder` and
// the frames share the input image's pixels, so keep the input alive while using them.
struct ImageFrames {
  ImageRgb8 encoder;              // the stage-2 image the tiles are cut from
  std::vector<ImageRgb8> frames;  // tiles row-major, then the global image; or the single frame
  int rows = 0;
  int cols = 0;
};

class ImageProcessor {
 public:
  // Throws InvalidArgument when the config lacks a tile edge (max_image_size) — i.e. it was not
  // parsed for an Idefics3-like family.
  explicit ImageProcessor(ImageProcessorConfig config);

  const ImageProcessorConfig& config() const noexcept { return config_; }

  FramePlan plan(Extent image) const;
  // The uint8 stage (exposed for parity tests against PIL).
  ImageFrames frames(const ImageRgb8& image) const;
  // One prompt's images → frames of all images in order; no mask (all pixels are real).
  PixelBatch process(std::span<const ImageRgb8> images) const;
  // Several prompts, padded to the largest frame count with zero frames and a pixel mask.
  PixelBatch process_batch(std::span<const std::vector<ImageRgb8>> prompts) const;

 private:
  ImageProcessorConfig config_;
};

}  // namespace vlmrt::smolvlm
