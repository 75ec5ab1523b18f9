#include "models/smolvlm/image_processor.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "image/normalize.hpp"
#include "image/resize.hpp"

namespace vlmrt::smolvlm {

namespace {

// transformers' MAX_IMAGE_SIZE: stage 1 never exceeds 4k (MODELS.md §5.2 step 1).
constexpr int kMaxImageSize = 4096;
// The stage-2 image is refused above this many pixels (only reachable with do_resize false):
// an 8192² image already makes 256 tiles of 512² (800 MB of float32).
constexpr std::int64_t kMaxEncoderPixels = std::int64_t{8192} * 8192;

// Python's math.ceil(n / m) * m for positive ints: the true quotient of two ints below 2^53 is
// either exact or not an integer, so integer ceiling division gives the same result.
int round_up(int value, int multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

std::string extent_text(Extent e) {
  return std::to_string(e.width) + "x" + std::to_string(e.height);
}

}  // namespace

Extent longest_edge_size(Extent image, int longest_edge) {
  int width = image.width;
  int height = image.height;
  // _resize_output_size_rescale_to_max_len: Python float division, int() truncation, then even.
  double aspect = static_cast<double>(width) / height;
  if (width >= height) {
    width = longest_edge;
    height = static_cast<int>(width / aspect);
    if (height % 2 != 0) ++height;
  } else {
    height = longest_edge;
    width = static_cast<int>(height * aspect);
    if (width % 2 != 0) ++width;
  }
  height = std::max(height, 1);
  width = std::max(width, 1);
  // _resize_output_size_scale_below_upper_bound with MAX_IMAGE_SIZE (no even rounding here).
  aspect = static_cast<double>(width) / height;
  if (width >= height && width > kMaxImageSize) {
    width = kMaxImageSize;
    height = static_cast<int>(width / aspect);
  } else if (height > width && height > kMaxImageSize) {
    height = kMaxImageSize;
    width = static_cast<int>(height * aspect);
  }
  return {std::max(width, 1), std::max(height, 1)};
}

Extent vision_encoder_size(Extent image, int tile) {
  const double aspect = static_cast<double>(image.width) / image.height;
  int width = image.width;
  int height = image.height;
  if (width >= height) {
    width = round_up(width, tile);
    height = round_up(static_cast<int>(width / aspect), tile);
  } else {
    height = round_up(height, tile);
    width = round_up(static_cast<int>(height * aspect), tile);
  }
  // int() can only fall to 0 through rounding of a 1-pixel edge; HF would then fail to resize to
  // a zero size. One tile is the nearest valid size.
  return {std::max(width, tile), std::max(height, tile)};
}

ImageProcessor::ImageProcessor(ImageProcessorConfig config) : config_(std::move(config)) {
  if (config_.max_image_size < 1)
    throw Error(ErrorKind::InvalidArgument,
                "smolvlm::ImageProcessor: the config has no max_image_size (parse it for an "
                "Idefics3/SmolVLM family)");
  if (config_.do_resize && !config_.size.is_longest_edge() && !config_.size.is_fixed())
    throw Error(ErrorKind::InvalidArgument, "smolvlm::ImageProcessor: the config has no size");
}

FramePlan ImageProcessor::plan(Extent image) const {
  if (image.width < 1 || image.height < 1)
    throw Error(ErrorKind::InvalidArgument,
                "smolvlm::ImageProcessor: empty image " + extent_text(image));
  const int tile = config_.max_image_size;
  FramePlan plan;
  plan.resized = image;
  if (config_.do_resize)
    plan.resized = config_.size.is_longest_edge()
                       ? longest_edge_size(image, config_.size.longest_edge)
                       : Extent{config_.size.width, config_.size.height};
  plan.frame = {tile, tile};
  if (!config_.do_image_splitting) {
    plan.encoder = {tile, tile};
    plan.num_frames = 1;
    return plan;
  }
  plan.encoder = vision_encoder_size(plan.resized, tile);
  if (static_cast<std::int64_t>(plan.encoder.width) * plan.encoder.height > kMaxEncoderPixels)
    throw Error(ErrorKind::LimitExceeded,
                "a " + extent_text(image) + " image would be resized to " +
                    extent_text(plan.encoder) + " for tiling, above the " +
                    std::to_string(kMaxEncoderPixels) +
                    "-pixel limit (enable do_resize in preprocessor_config.json)");
  if (plan.encoder.width > tile || plan.encoder.height > tile) {
    // Stage 2 yields multiples of the tile, so the crops are exact tile squares (errata 12).
    plan.rows = plan.encoder.height / tile;
    plan.cols = plan.encoder.width / tile;
    plan.num_frames = plan.rows * plan.cols + 1;
  } else {
    plan.num_frames = 1;
  }
  return plan;
}

ImageFrames ImageProcessor::frames(const ImageRgb8& image) const {
  const FramePlan p = plan({image.width(), image.height()});
  const int tile = config_.max_image_size;
  const auto filter = config_.resample;
  // PIL returns a plain copy for a same-size resize, so skipping it gives the same pixels.
  auto resize_to = [&](const ImageRgb8& source, Extent size) {
    if (source.width() == size.width && source.height() == size.height) return source;
    return image::resize(source, size.width, size.height, filter);
  };

  ImageFrames out;
  const ImageRgb8 resized = resize_to(image, p.resized);
  if (!config_.do_image_splitting) {
    out.frames.push_back(resize_to(resized, {tile, tile}));
    return out;
  }
  out.encoder = resize_to(resized, p.encoder);
  out.rows = p.rows;
  out.cols = p.cols;
  if (p.rows == 0) {
    out.frames.push_back(out.encoder);
    return out;
  }
  out.frames.reserve(p.num_frames);
  const std::size_t stride = out.encoder.row_stride();
  for (int r = 0; r < p.rows; ++r)
    for (int c = 0; c < p.cols; ++c)
      out.frames.push_back(ImageRgb8::view(out.encoder.row(r * tile) + std::size_t{3} * c * tile,
                                           tile, tile, stride));
  out.frames.push_back(image::resize(out.encoder, tile, tile, filter));
  return out;
}

PixelBatch ImageProcessor::process(std::span<const ImageRgb8> images) const {
  PixelBatch batch;
  const int tile = config_.max_image_size;
  batch.height = batch.width = tile;
  // Size the output once from the plans, then normalise each frame straight into its slot.
  for (const auto& image : images) {
    const FramePlan p = plan({image.width(), image.height()});
    ImageGrid grid;
    grid.rows = p.rows;
    grid.cols = p.cols;
    grid.first_frame = batch.num_frames;
    grid.num_frames = p.num_frames;
    batch.images.push_back(grid);
    batch.num_frames += p.num_frames;
  }
  batch.frames_per_sample = batch.num_frames;
  batch.pixel_values.resize(batch.frame_size() * batch.num_frames);
  const auto norm = config_.normalization();
  for (std::size_t i = 0; i < images.size(); ++i) {
    const ImageFrames f = frames(images[i]);
    const ImageGrid& grid = batch.images[i];
    if (static_cast<int>(f.frames.size()) != grid.num_frames)
      throw Error(ErrorKind::Internal,
                  "smolvlm::ImageProcessor: frame count differs from its plan");
    for (int k = 0; k < grid.num_frames; ++k)
      image::rescale_normalize_to_chw(f.frames[k], norm, batch.frame(grid.first_frame + k));
  }
  return batch;
}

PixelBatch ImageProcessor::process_batch(std::span<const std::vector<ImageRgb8>> prompts) const {
  std::vector<PixelBatch> samples;
  samples.reserve(prompts.size());
  for (const auto& images : prompts) samples.push_back(process(images));
  if (!config_.do_pad) {
    for (const auto& s : samples)
      if (s.num_frames != samples.front().num_frames)
        throw Error(ErrorKind::InvalidArgument,
                    "prompts have different frame counts and do_pad is false in "
                    "preprocessor_config.json, so they cannot form one batch");
  }
  return stack_samples(samples);
}

}  // namespace vlmrt::smolvlm
