#include "backends/native/native_backend.hpp"

#include <string>

#include "backends/native/cpu/cpu_features.hpp"
#include "backends/native/model/model_weights.hpp"
#include "backends/native/model/native_sequence.hpp"
#include "backends/native/model/text_decoder.hpp"
#include "backends/native/model/vision_encoder.hpp"
#include "core/thread_pool.hpp"
#include "models/network.hpp"
#include "runtime/chunked_encoding.hpp"

namespace vlmrt::native {

namespace {

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

  runtime::ImageFeatures encode_images(const PixelBatch& pixels) override {
    return runtime::encode_in_chunks(
        pixels, runtime::kFramesPerChunk,
        [&](const PixelBatch& chunk) { return vision_.encode(chunk); });
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
