#include "models/paligemma/image_processor.hpp"

#include <string>

#include "image/normalize.hpp"
#include "image/resize.hpp"

namespace vlmrt::paligemma {

ImageProcessor::ImageProcessor(ImageProcessorConfig config) : config_(std::move(config)) {
  if (config_.do_resize && !config_.size.is_fixed())
    throw Error(ErrorKind::InvalidArgument,
                "paligemma::ImageProcessor: do_resize needs a {\"height\", \"width\"} size");
}

ImageRgb8 ImageProcessor::frame(const ImageRgb8& image) const {
  if (image.empty())
    throw Error(ErrorKind::InvalidArgument, "paligemma::ImageProcessor: empty image");
  if (!config_.do_resize) return image;
  // Pillow copies on a same-size resize, so returning the input gives the same pixels.
  if (image.width() == config_.size.width && image.height() == config_.size.height) return image;
  return image::resize(image, config_.size.width, config_.size.height, config_.resample);
}

PixelBatch ImageProcessor::process(std::span<const ImageRgb8> images) const {
  PixelBatch batch;
  if (images.empty()) return batch;
  if (config_.do_resize) {
    batch.width = config_.size.width;
    batch.height = config_.size.height;
  } else {
    batch.width = images.front().width();
    batch.height = images.front().height();
    for (const auto& image : images)
      if (image.width() != batch.width || image.height() != batch.height)
        throw Error(ErrorKind::InvalidArgument,
                    "images of different sizes cannot be batched with do_resize false "
                    "(preprocessor_config.json)");
  }
  batch.num_frames = static_cast<int>(images.size());
  batch.frames_per_sample = batch.num_frames;
  batch.pixel_values.resize(batch.frame_size() * batch.num_frames);
  const auto norm = config_.normalization();
  for (int i = 0; i < batch.num_frames; ++i) {
    ImageGrid grid;
    grid.first_frame = i;
    grid.num_frames = 1;
    batch.images.push_back(grid);
    image::rescale_normalize_to_chw(frame(images[i]), norm, batch.frame(i));
  }
  return batch;
}

}  // namespace vlmrt::paligemma
