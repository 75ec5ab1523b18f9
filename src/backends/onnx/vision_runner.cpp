#include "backends/onnx/vision_runner.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/onnx/tensor_util.hpp"
#include "models/family.hpp"

namespace vlmrt::onnx {

namespace {

constexpr auto kFloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr auto kHalf = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;

}  // namespace

VisionRunner::VisionRunner(std::unique_ptr<GraphSession> graph, const ModelConfig& config)
    : graph_(std::move(graph)),
      hidden_(config.text.hidden_size),
      cpu_(Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault)) {
  const GraphSession& g = *graph_;
  // Idefics3 graphs carry the [batch, num_images] dims and a pixel mask (ONNX-LAYOUT.md).
  per_sample_ = is_idefics3_like(config.family);
  const std::size_t rank = per_sample_ ? 5 : 4;
  pixels_ = &g.require_input("pixel_values", rank, {kFloat, kHalf});
  const std::size_t channel_axis = rank - 3;
  g.require_dim(*pixels_, channel_axis, config.vision.num_channels,
                "config.json vision_config.num_channels");
  if (per_sample_) {
    mask_ = g.find_input("pixel_attention_mask");
    if (mask_)
      g.require_input("pixel_attention_mask", 4,
                      {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64});
  }
  for (const PortInfo& input : g.inputs())
    if (input.name != "pixel_values" && input.name != "pixel_attention_mask")
      throw Error(ErrorKind::Format, g.label() + ": unexpected input '" + input.name + "' " +
                                         port_text(input) + " (a " + config.model_type +
                                         " vision_encoder takes pixel_values" +
                                         (per_sample_ ? " and pixel_attention_mask)" : ")"));
  features_ = &g.require_output("image_features", 3, {kFloat, kHalf});
  g.require_dim(*features_, 2, hidden_, "config.json text_config.hidden_size");
  g.require_dim(*features_, 1, config.image_seq_len, "the image tokens per frame (config.json)");
}

runtime::ImageFeatures VisionRunner::encode(const PixelBatch& pixels) {
  runtime::ImageFeatures features;
  features.width = static_cast<std::size_t>(hidden_);
  if (pixels.num_frames <= 0) return features;
  const std::size_t rank = pixels_->rank();
  if (pixels_->fixed(rank - 2) && pixels_->dims[rank - 2] != pixels.height)
    throw Error(ErrorKind::InvalidArgument,
                graph_->label() + " takes " + std::to_string(pixels_->dims[rank - 2]) +
                    "-pixel-high frames, the processor gave " + std::to_string(pixels.height));
  if (pixels_->fixed(rank - 1) && pixels_->dims[rank - 1] != pixels.width)
    throw Error(ErrorKind::InvalidArgument,
                graph_->label() + " takes " + std::to_string(pixels_->dims[rank - 1]) +
                    "-pixel-wide frames, the processor gave " + std::to_string(pixels.width));
  const std::size_t expected_values = pixels.frame_size() * pixels.num_frames;
  if (pixels.pixel_values.size() != expected_values)
    throw Error(ErrorKind::InvalidArgument,
                "pixel batch holds " + std::to_string(pixels.pixel_values.size()) +
                    " values, its shape says " + std::to_string(expected_values));

  const std::int64_t frames = pixels.num_frames;
  std::int64_t samples = 1;
  std::int64_t per_sample = frames;
  if (pixels.num_samples > 1 && pixels.frames_per_sample > 0 &&
      pixels.num_samples * pixels.frames_per_sample == pixels.num_frames) {
    samples = pixels.num_samples;
    per_sample = pixels.frames_per_sample;
  }
  std::vector<std::int64_t> shape;
  if (per_sample_) {
    shape = {samples, per_sample, 3, pixels.height, pixels.width};
  } else {
    shape = {frames, 3, pixels.height, pixels.width};
  }
  HostTensor pixel_tensor(pixels.pixel_values, pixels_->type, shape, cpu_);

  Ort::IoBinding binding(graph_->session());
  binding.BindInput(pixels_->name.c_str(), pixel_tensor.value());
  HostTensor mask_tensor;
  if (mask_) {
    const std::vector<std::uint8_t> mask = pixels.attention_mask_or_ones();
    const std::vector<std::int64_t> mask_shape = {samples, per_sample, pixels.height, pixels.width};
    mask_tensor = HostTensor::from_mask(mask, mask_->type, mask_shape, cpu_);
    binding.BindInput(mask_->name.c_str(), mask_tensor.value());
  }
  binding.BindOutput(features_->name.c_str(), cpu_);
  graph_->run(binding, "encoding " + std::to_string(frames) + " frames");
  std::vector<Ort::Value> outputs = binding.GetOutputValues();
  const Ort::Value& out = outputs.at(0);
  const std::vector<std::int64_t> out_shape = out.GetTensorTypeAndShapeInfo().GetShape();
  if (out_shape.size() != 3 || out_shape[2] != hidden_ || out_shape[0] < 0 || out_shape[1] < 0 ||
      out_shape[0] > frames)
    throw Error(ErrorKind::Backend, graph_->label() + ": image_features came out as " +
                                        shape_string(out_shape) + " for " + std::to_string(frames) +
                                        " frames");
  features.frames = static_cast<int>(out_shape[0]);
  features.rows = static_cast<std::size_t>(out_shape[0] * out_shape[1]);
  features.values = to_float_vector(out, features.rows * features.width);
  return features;
}

}  // namespace vlmrt::onnx
