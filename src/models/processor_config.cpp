#include "models/processor_config.hpp"

#include <cmath>

namespace vlmrt {

namespace {

// Sizes beyond this are refused before anything is allocated from them; Idefics3 itself clamps
// stage 1 to 4096 (MAX_IMAGE_SIZE, MODELS.md §5.2) and SigLIP inputs are a few hundred pixels.
constexpr int kMaxConfiguredEdge = 8192;
// A tile edge below this would turn one image into thousands of frames.
constexpr int kMinTileEdge = 14;

std::string field(const std::string& where, std::string_view key) {
  return where + ": field '" + std::string(key) + "'";
}

int checked_edge(const json::Json& object, std::string_view key, const std::string& where,
                 const std::string& label) {
  const int value = json::get<int>(object, key, where);
  if (value < 1 || value > kMaxConfiguredEdge)
    throw Error(ErrorKind::Format, field(where, label) + " must be between 1 and " +
                                       std::to_string(kMaxConfiguredEdge) + ", found " +
                                       std::to_string(value));
  return value;
}

ProcessorSize parse_size(const json::Json& object, const std::string& where) {
  const auto it = object.find("size");
  if (!it->is_object())
    throw Error(
        ErrorKind::Format,
        field(where, "size") + " must be an object with 'longest_edge' or 'height' and 'width'");
  const std::string size_where = json::child_where(where, "size");
  ProcessorSize size;
  if (it->contains("longest_edge")) {
    size.longest_edge = checked_edge(*it, "longest_edge", size_where, "size.longest_edge");
  } else if (it->contains("height") && it->contains("width")) {
    size.height = checked_edge(*it, "height", size_where, "size.height");
    size.width = checked_edge(*it, "width", size_where, "size.width");
  } else {
    throw Error(ErrorKind::Format,
                field(where, "size") +
                    " must have 'longest_edge' or both 'height' and 'width' (shortest_edge and "
                    "max_height/max_width forms are not used by PaliGemma or Idefics3)");
  }
  return size;
}

std::array<float, 3> parse_channels(const json::Json& object, std::string_view key,
                                    const std::string& where, bool nonzero) {
  const auto& value = object.at(key);
  std::array<float, 3> channels{};
  if (value.is_number()) {
    channels.fill(static_cast<float>(value.get<double>()));
  } else if (value.is_array() && value.size() == 3) {
    for (std::size_t c = 0; c < 3; ++c) {
      if (!value[c].is_number())
        throw Error(ErrorKind::Format, field(where, key) + " must hold 3 numbers, item " +
                                           std::to_string(c) + " is not a number");
      channels[c] = static_cast<float>(value[c].get<double>());
    }
  } else {
    throw Error(
        ErrorKind::Format,
        field(where, key) + " must be a number or an array of 3 numbers (one per RGB channel)");
  }
  for (float v : channels) {
    if (!std::isfinite(v) || (nonzero && v == 0.0f))
      throw Error(ErrorKind::Format, field(where, key) + (nonzero ? " must be finite and non-zero"
                                                                  : " must be finite"));
  }
  return channels;
}

}  // namespace

image::Normalization ImageProcessorConfig::normalization() const {
  image::Normalization norm;
  norm.rescale_factor = rescale_factor;
  norm.mean = image_mean;
  norm.std = image_std;
  norm.do_rescale = do_rescale;
  norm.do_normalize = do_normalize;
  return norm;
}

ImageProcessorConfig default_image_processor_config(ModelFamily family) {
  ImageProcessorConfig config;
  if (is_paligemma(family)) {
    // SiglipImageProcessor defaults (MODELS.md §5.1); do_convert_rgb is None there.
    config.size.height = config.size.width = 224;
    config.resample_code = 3;
    config.resample = image::ResampleFilter::Bicubic;
    config.do_convert_rgb = false;
    return config;
  }
  // Idefics3ImageProcessor defaults 4·364 / 364; SmolVLMImageProcessor 4·512 / 512.
  const int tile = family == ModelFamily::SmolVlm ? 512 : 364;
  config.size.longest_edge = 4 * tile;
  config.max_image_size = tile;
  config.resample_code = 1;
  config.resample = image::ResampleFilter::Lanczos;
  config.do_image_splitting = true;
  config.do_pad = true;
  return config;
}

ImageProcessorConfig parse_image_processor_config(const json::Json& object, ModelFamily family,
                                                  const std::string& where) {
  if (!object.is_object())
    throw Error(ErrorKind::Format, where + ": expected a JSON object at the top level");
  ImageProcessorConfig config = default_image_processor_config(family);
  auto flag = [&](std::string_view key, bool& out) {
    out = json::get_or<bool>(object, key, out, where);
  };
  auto present = [&](std::string_view key) {
    const auto it = object.find(key);
    return it != object.end() && !it->is_null();
  };

  flag("do_resize", config.do_resize);
  flag("do_rescale", config.do_rescale);
  flag("do_normalize", config.do_normalize);
  flag("do_convert_rgb", config.do_convert_rgb);
  if (present("size")) config.size = parse_size(object, where);
  if (present("resample")) {
    config.resample_code = json::get<int>(object, "resample", where);
    try {
      config.resample = image::resample_filter_from_pil(config.resample_code);
    } catch (const Error& e) {
      throw Error(ErrorKind::Unsupported, field(where, "resample") + ": " + e.what());
    }
  }
  if (present("rescale_factor")) {
    config.rescale_factor = json::get<double>(object, "rescale_factor", where);
    if (!std::isfinite(config.rescale_factor) || config.rescale_factor <= 0.0)
      throw Error(ErrorKind::Format, field(where, "rescale_factor") + " must be a positive number");
  }
  if (present("image_mean")) config.image_mean = parse_channels(object, "image_mean", where, false);
  if (present("image_std")) config.image_std = parse_channels(object, "image_std", where, true);

  if (is_paligemma(family)) {
    if (!config.size.is_fixed())
      throw Error(ErrorKind::Format, field(where, "size") +
                                         " must be {\"height\", \"width\"} for PaliGemma (SigLIP "
                                         "stretches every image to that size)");
    if (present("image_seq_length")) {
      const int tokens = json::get<int>(object, "image_seq_length", where);
      if (tokens < 1 || tokens > 65536)
        throw Error(ErrorKind::Format,
                    field(where, "image_seq_length") + " must be between 1 and 65536");
      config.image_seq_length = tokens;
    }
    return config;
  }

  flag("do_image_splitting", config.do_image_splitting);
  flag("do_pad", config.do_pad);
  if (present("max_image_size")) {
    const auto& max_size = object.at("max_image_size");
    if (!max_size.is_object())
      throw Error(ErrorKind::Format,
                  field(where, "max_image_size") + " must be an object {\"longest_edge\": N}");
    config.max_image_size =
        checked_edge(max_size, "longest_edge", json::child_where(where, "max_image_size"),
                     "max_image_size.longest_edge");
  }
  if (config.max_image_size < kMinTileEdge)
    throw Error(ErrorKind::Format, field(where, "max_image_size.longest_edge") +
                                       " must be at least " + std::to_string(kMinTileEdge) +
                                       ", found " + std::to_string(config.max_image_size));
  return config;
}

ImageProcessorConfig load_image_processor_config(const std::filesystem::path& model_dir,
                                                 ModelFamily family) {
  const auto path = model_dir / "preprocessor_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(ErrorKind::NotFound,
                path.string() +
                    ": file not found (the image processor settings of a Hugging Face "
                    "model folder; vlmrt needs it to preprocess images)");
  return parse_image_processor_config(json::read_file(path, 1u << 20), family, path.string());
}

}  // namespace vlmrt
