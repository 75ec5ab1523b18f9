// preprocessor_config.json parsed into one typed struct shared by the PaliGemma (SigLIP) and
// Idefics3/SmolVLM image processors (MODELS.md §1.2, §5.1, §5.2).
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "image/normalize.hpp"
#include "image/resize.hpp"
#include "models/family.hpp"

namespace vlmrt {

// `size` is either a fixed {"height","width"} (SigLIP stretches to it) or {"longest_edge"}
// (Idefics3 stage 1 rescales the longest edge to it). Exactly one form is set.
struct ProcessorSize {
  int height = 0;  // > 0 with width for the fixed form
  int width = 0;
  int longest_edge = 0;  // > 0 for the longest-edge form

  bool is_fixed() const noexcept { return height > 0 && width > 0; }
  bool is_longest_edge() const noexcept { return longest_edge > 0; }
};

struct ImageProcessorConfig {
  bool do_resize = true;
  ProcessorSize size;
  int resample_code = 3;  // Pillow resample code as stored in the file
  image::ResampleFilter resample = image::ResampleFilter::Bicubic;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  // Python floats in the file; HF casts them to the image dtype (float32) before use.
  std::array<float, 3> image_mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> image_std{0.5f, 0.5f, 0.5f};
  // vlmrt decodes every image to 8-bit RGB before resizing (v5 behaviour, MODELS.md errata 3),
  // so this flag only records what the file says.
  bool do_convert_rgb = true;
  // Idefics3 only.
  bool do_image_splitting = false;
  int max_image_size = 0;  // max_image_size.longest_edge: the tile edge M
  bool do_pad = false;
  // PaliGemma's preprocessor_config.json carries image_seq_length (tokens per image) when present.
  std::optional<int> image_seq_length;

  image::Normalization normalization() const;
};

// The image processor class defaults for a family, used for every field the file leaves out:
// SigLIP 224×224 BICUBIC; Idefics3 longest_edge 4·364 / tile 364; SmolVLM 2048 / 512; all
// LANCZOS for Idefics3-like, rescale 1/255, mean = std = 0.5.
ImageProcessorConfig default_image_processor_config(ModelFamily family);

// Parses a preprocessor_config.json object; `where` (usually the file path) prefixes errors,
// which name the field and what was expected. Throws Format / Unsupported.
ImageProcessorConfig parse_image_processor_config(const json::Json& object, ModelFamily family,
                                                  const std::string& where);

// Reads `model_dir`/preprocessor_config.json; a missing file is NotFound naming the path.
ImageProcessorConfig load_image_processor_config(const std::filesystem::path& model_dir,
                                                 ModelFamily family);

}  // namespace vlmrt
