// The image processor a model folder asks for, whichever family: PaliGemma's SigLIP stretch or
// Idefics3 / SmolVLM's tiling (MODELS.md §5.1, §5.2). It needs only config.json and
// preprocessor_config.json (no tokenizer, no weights), so `vlmrt preprocess` uses it alone and
// the Processor (models/processor.hpp) builds on it.
#pragma once

#include <filesystem>
#include <span>
#include <variant>
#include <vector>

#include "models/family.hpp"
#include "models/model_config.hpp"
#include "models/paligemma/image_processor.hpp"
#include "models/pixel_batch.hpp"
#include "models/processor_config.hpp"
#include "models/smolvlm/image_processor.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {

class ModelImageProcessor {
 public:
  // Reads <dir>/preprocessor_config.json for `model.family` (NotFound naming the path when it is
  // absent). Image tokens per frame come from config.json (ModelConfig::image_seq_len, MODELS.md
  // §1); preprocessor_config.json's image_seq_length and processor_config.json's image_seq_len,
  // when present, must agree (Format naming the file and field otherwise).
  static ModelImageProcessor load(const std::filesystem::path& dir, const ModelConfig& model);

  ModelFamily family() const noexcept { return family_; }
  int image_seq_len() const noexcept { return image_seq_len_; }
  const ImageProcessorConfig& config() const noexcept;

  // Where each image lands in process()'s batch, from the image sizes alone (no pixels are
  // read): rows / cols (0 when not split), first_frame, num_frames.
  std::vector<ImageGrid> layout(std::span<const ImageRgb8> images) const;
  // The frames of all images in order; an empty batch (0 frames, 0×0) for no images.
  PixelBatch process(std::span<const ImageRgb8> images) const;

 private:
  using Family = std::variant<paligemma::ImageProcessor, smolvlm::ImageProcessor>;
  ModelImageProcessor(ModelFamily family, int image_seq_len, Family processor);

  ModelFamily family_;
  int image_seq_len_;
  Family processor_;
};

}  // namespace vlmrt
