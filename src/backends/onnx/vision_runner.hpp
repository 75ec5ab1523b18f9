// The vision_encoder graph (ONNX-LAYOUT.md "Graphs"): pixel frames in, the connector's rows out,
// ready to replace the prompt's image tokens. SmolVLM/Idefics3 graphs take
// pixel_values [batch, num_images, 3, S, S] plus a bool pixel_attention_mask; PaliGemma graphs
// take [batch, 3, S, S]. Which one is read from the graph's metadata, then checked against the
// family in config.json.
#pragma once

#include <memory>

#include "backends/onnx/graph_session.hpp"
#include "models/model_config.hpp"
#include "models/pixel_batch.hpp"
#include "runtime/backend.hpp"

namespace vlmrt::onnx {

class VisionRunner {
 public:
  // Format when the graph's inputs / outputs do not have the layout of `config`'s family, or
  // their fixed sizes disagree with it (image size, channels, text hidden size).
  VisionRunner(std::unique_ptr<GraphSession> graph, const ModelConfig& config);

  // Every frame of `pixels` (SmolVLM graphs drop all-zero padding frames themselves).
  // InvalidArgument when the frames' size is not the one the graph takes; Backend when ONNX
  // Runtime fails or returns an unexpected shape.
  runtime::ImageFeatures encode(const PixelBatch& pixels);

 private:
  std::unique_ptr<GraphSession> graph_;
  const PortInfo* pixels_ = nullptr;
  const PortInfo* mask_ = nullptr;  // SmolVLM graphs only
  const PortInfo* features_ = nullptr;
  bool per_sample_ = false;  // pixel_values has the [batch, num_images] leading dims
  std::int64_t hidden_ = 0;
  Ort::MemoryInfo cpu_;
};

}  // namespace vlmrt::onnx
