// The PaliGemma / PaliGemma2 image processor (SiglipImageProcessor, MODELS.md §5.1): stretch to
// the configured size with the configured Pillow filter, rescale, normalise, CHW. One frame per
// image; no splitting, no padding.
#pragma once

#include <span>

#include "models/pixel_batch.hpp"
#include "models/processor_config.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt::paligemma {

class ImageProcessor {
 public:
  // Throws InvalidArgument when do_resize is set without a fixed {"height","width"} size.
  explicit ImageProcessor(ImageProcessorConfig config);

  const ImageProcessorConfig& config() const noexcept { return config_; }

  // The uint8 stage: the resized image (shares the input's pixels when do_resize is false).
  ImageRgb8 frame(const ImageRgb8& image) const;
  // One frame per image, in order; rows = cols = 0 for every image. All images must reach the
  // same size (always true when do_resize is set).
  PixelBatch process(std::span<const ImageRgb8> images) const;

 private:
  ImageProcessorConfig config_;
};

}  // namespace vlmrt::paligemma
