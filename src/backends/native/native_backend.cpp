#include "backends/native/native_backend.hpp"

#include <algorithm>
#include <string>

#include "backends/native/cpu/cpu_features.hpp"
#include "backends/native/model/model_weights.hpp"
#include "backends/native/model/native_sequence.hpp"
#include "backends/native/model/text_decoder.hpp"
#include "backends/native/model/vision_encoder.hpp"
#include "core/thread_pool.hpp"
#include "models/network.hpp"

namespace vlmrt::native {

namespace {

constexpr int kFramesPerChunk = 4;

class NativeBackend final : public runtime::ModelBackend {
 public:
  NativeBackend(const ModelFolder& folder, const NativeBackendOptions& options)
      : pool_(options.threads),
        weights_(ModelWeights::open(folder.dir, folder.config)),
        spec_(describe_network(folder.config)),
        vision_(weights_, folder.config, spec_, pool_),
        decoder_(std::make_shared<const TextDecoder>(weights_, folder.config, spec_)) {}

  std::string name() const override {
    return "native-cpu (" + std::string(cpu_isa_name(active_cpu_isa())) + ", " +
           std::to_string(pool_.size()) + (pool_.size() == 1 ? " thread)" : " threads)");
  }
  bool supports_batch() const override { return false; }

  // Frames go through the tower a few at a time: the activations of a chunk (the MLP's alone is
  // ~12 MB per SigLIP-B tile) stay small while each GEMM still has thousands of rows. A padded
  // multi-prompt batch (with a mask) runs whole, since its padding frames are dropped inside.
  runtime::ImageFeatures encode_images(const PixelBatch& pixels) override {
    if (pixels.has_mask() || pixels.num_frames <= kFramesPerChunk) return vision_.encode(pixels);
    runtime::ImageFeatures all;
    for (int first = 0; first < pixels.num_frames; first += kFramesPerChunk) {
      PixelBatch chunk;
      chunk.height = pixels.height;
      chunk.width = pixels.width;
      chunk.num_frames = std::min(kFramesPerChunk, pixels.num_frames - first);
      chunk.frames_per_sample = chunk.num_frames;
      const auto begin =
          pixels.pixel_values.begin() + static_cast<std::ptrdiff_t>(pixels.frame_size() * first);
      chunk.pixel_values.assign(
          begin, begin + static_cast<std::ptrdiff_t>(pixels.frame_size() * chunk.num_frames));
      runtime::ImageFeatures part = vision_.encode(chunk);
      all.values.insert(all.values.end(), part.values.begin(), part.values.end());
      all.rows += part.rows;
      all.width = part.width;
      all.frames += part.frames;
    }
    return all;
  }

  std::unique_ptr<runtime::Sequence> new_sequence(std::size_t capacity) override {
    return std::make_unique<NativeSequence>(decoder_, capacity, pool_);
  }

 private:
  ThreadPool pool_;
  ModelWeights weights_;  // the mapping every view below points into
  NetworkSpec spec_;
  VisionEncoder vision_;
  std::shared_ptr<const TextDecoder> decoder_;
};

}  // namespace

std::unique_ptr<runtime::ModelBackend> open_native_backend(const ModelFolder& folder,
                                                           const NativeBackendOptions& options) {
  return std::make_unique<NativeBackend>(folder, options);
}

}  // namespace vlmrt::native
