#include "backends/onnx/onnx_backend.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "backends/onnx/decoder_graphs.hpp"
#include "backends/onnx/model_files.hpp"
#include "backends/onnx/onnx_sequence.hpp"
#include "backends/onnx/providers.hpp"
#include "backends/onnx/vision_runner.hpp"
#include "runtime/chunked_encoding.hpp"

namespace vlmrt::onnx {

namespace {

std::shared_ptr<Ort::Env> make_env() {
  try {
    // Errors only: every failure reaches the caller once, as a vlmrt::Error.
    return std::make_shared<Ort::Env>(ORT_LOGGING_LEVEL_ERROR, "vlmrt");
  } catch (const Ort::Exception& e) {
    throw Error(ErrorKind::Backend,
                std::string("cannot create the ONNX Runtime environment: ") + e.what());
  }
}

class OnnxBackend final : public runtime::ModelBackend {
 public:
  // `fallback_from`: the provider ("CUDA", "TensorRT") that was unavailable, so this runs on
  // the CPU instead; "" when none.
  OnnxBackend(const ModelFolder& folder, const OnnxBackendOptions& options,
              std::string fallback_from)
      : env_(make_env()),
        files_(locate_onnx_files(folder.dir, options.dtypes)),
        factory_(*env_, options),
        fallback_from_(std::move(fallback_from)) {
    vision_.emplace(factory_.open(files_.at(Graph::Vision).path), folder.config);
    std::unique_ptr<GraphSession> embed = factory_.open(files_.at(Graph::Embed).path);
    std::unique_ptr<GraphSession> decoder = factory_.open(files_.at(Graph::Decoder).path);
    graphs_ = std::make_shared<DecoderGraphs>(env_, std::move(embed), std::move(decoder),
                                              folder.config, factory_.cache_memory());
  }

  std::string name() const override {
    std::string text = factory_.describe();
    text.pop_back();  // the closing parenthesis
    text += "; vision " + files_.at(Graph::Vision).variant + ", embed " +
            files_.at(Graph::Embed).variant + ", decoder " + files_.at(Graph::Decoder).variant;
    if (!fallback_from_.empty()) text += "; CPU fallback: " + fallback_from_ + " unavailable";
    return text + ")";
  }
  bool supports_batch() const override { return false; }

  // Float graphs run a few frames at a time (the same values per frame, a fraction of the
  // memory). Dynamically quantized graphs take every frame at once, as transformers.js runs them:
  // their activation scales come from the whole batch, so chunks would change the features.
  runtime::ImageFeatures encode_images(const PixelBatch& pixels) override {
    const std::string& variant = files_.at(Graph::Vision).variant;
    const bool float_graph = variant == "fp32" || variant == "fp16";
    return with_ort_errors("ONNX vision encoder", [&] {
      return runtime::encode_in_chunks(
          pixels, float_graph ? runtime::kFramesPerChunk : pixels.num_frames,
          [&](const PixelBatch& chunk) { return vision_->encode(chunk); });
    });
  }

  std::unique_ptr<runtime::Sequence> new_sequence(std::size_t capacity) override {
    return std::make_unique<OnnxSequence>(graphs_, capacity);
  }

 private:
  std::shared_ptr<Ort::Env> env_;  // first: outlives every session below
  OnnxModelFiles files_;
  SessionFactory factory_;
  std::string fallback_from_;
  std::optional<VisionRunner> vision_;
  std::shared_ptr<DecoderGraphs> graphs_;
};

}  // namespace

std::unique_ptr<runtime::ModelBackend> open_onnx_backend(const ModelFolder& folder,
                                                         const OnnxBackendOptions& options) {
  try {
    return with_ort_errors("opening the ONNX model",
                           [&] { return std::make_unique<OnnxBackend>(folder, options, ""); });
  } catch (const ProviderUnavailable& e) {
    if (!options.allow_cpu_fallback) throw Error(e.kind(), e.what());
    const std::string provider = options.provider == Provider::Cuda ? "CUDA" : "TensorRT";
    std::fprintf(stderr, "vlmrt: warning: %s; falling back to the CPU execution provider\n",
                 e.what());
    OnnxBackendOptions cpu = options;
    cpu.provider = Provider::Cpu;
    return with_ort_errors("opening the ONNX model",
                           [&] { return std::make_unique<OnnxBackend>(folder, cpu, provider); });
  }
}

}  // namespace vlmrt::onnx
