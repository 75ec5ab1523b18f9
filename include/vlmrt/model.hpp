// vlmrt — one API over every backend: open a Hugging Face model folder on a backend, then ask it
// about images.
//
//   auto model = vlmrt::VlmModel::open("models/SmolVLM-256M-Instruct", vlmrt::backend::Native{});
//   std::string caption = model.infer(vlmrt::load_image("cat.jpg"), "Describe the image.", 64);
//
// Richer calls: generate() (several images or none, GenerationOptions, streaming, token ids and
// Stats), and Chat (multi-turn, reusing the KV cache of earlier turns). The per-family classes
// Paligemma and SmolVlm open only their family and add its conveniences.
//
// Threads: one VlmModel (and its Chats) is used by one thread at a time; a second thread calling
// into it while a call runs gets vlmrt::Error(InvalidArgument) instead of corrupted state. Many
// models may run in parallel. Models are move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vlmrt/generation.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {

// TensorRT execution provider settings (ONNX Runtime backend).
struct TensorRtConfig {
  int device_id = 0;
  bool fp16 = true;
  bool int8 = false;
  std::size_t max_workspace_size = std::size_t{1} << 30;  // bytes
  std::string engine_cache_path = "./trt_cache";          // created if missing, reused
};

namespace backend {
enum class Device { Cpu, Cuda };
// vlmrt's own engine. Cuda is not built yet: asking for it is an Unsupported error.
struct Native {
  Device device = Device::Cpu;
  int device_id = 0;
};
struct OnnxCpu {};
struct OnnxCuda {
  int device_id = 0;
};
struct OnnxTensorRt {
  TensorRtConfig config;
};
}  // namespace backend

using BackendType =
    std::variant<backend::Native, backend::OnnxCpu, backend::OnnxCuda, backend::OnnxTensorRt>;

// "native", "native-cuda", "onnx-cpu", "onnx-cuda", "onnx-tensorrt" (the CLI's --backend values).
std::string backend_type_name(const BackendType& backend);
// The inverse; InvalidArgument listing the accepted names for anything else.
BackendType parse_backend_type(std::string_view name);

// How a model is opened, whatever the backend.
struct ModelOptions {
  std::size_t threads = 0;  // CPU threads; 0 = every core (native) / ONNX Runtime's default
  // KV cache positions per sequence; 0 = the model's max_position_embeddings.
  std::size_t context_length = 0;

  // ONNX Runtime only. Which variant of each graph to load: keys "vision", "embed", "decoder"
  // (or a graph's file name), values fp32, fp16, q8 (= _quantized), int8, uint8, q4, q4f16, bnb4.
  // Unset graphs load fp32. Example: {{"decoder", "q4"}}.
  std::map<std::string, std::string> onnx_variants;
  int graph_optimization_level = 99;  // ORT's 0 (off), 1 (basic), 2 (extended), 99 (all)
  // When the CUDA / TensorRT provider or the GPU is missing: false = an error that names what is
  // missing; true = run on the CPU provider instead, logged to stderr and shown by
  // backend_name().
  bool allow_cpu_fallback = false;
};

// The numbers a user sees, from one place (DESIGN.md): every result carries them, the CLI and
// the benchmark print them.
struct Stats {
  double image_encode_ms = 0;  // vision tower + connector, all images of the call
  int tiles = 0;               // vision frames encoded (SmolVLM: tiles + global image per image)
  std::size_t prefill_tokens = 0;
  double prefill_tokens_per_s = 0;
  std::size_t decode_tokens = 0;  // decoder steps after the first token
  double decode_tokens_per_s = 0;
  double time_to_first_token_ms = 0;  // from the call (image decode excluded) to the first token
  double total_ms = 0;
  double peak_rss_mb = 0;  // the process's peak resident set so far (VmHWM)
};

struct GenerationOutput {
  std::string text;
  std::vector<std::int32_t> tokens;  // generated ids (a final EOS id included)
  FinishReason finish_reason = FinishReason::MaxNewTokens;
  std::uint64_t seed = 0;  // the sampler's seed (to reproduce a sampled answer)
  Stats stats;
};

// The interface every backend-bound model offers (the seed proposal's shape).
class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  // One image, one prompt, greedy (or the model's generation_config), at most `max_new_tokens`.
  virtual std::string infer(const ImageRgb8& image, std::string_view prompt,
                            std::size_t max_new_tokens) = 0;
  // What really runs, e.g. "native-cpu (avx2, 2 threads)".
  virtual std::string backend_name() const = 0;
  virtual bool supports_batch() const = 0;
};

class Chat;

class VlmModel : public InferenceBackend {
 public:
  // Reads config.json to find the family, then opens the backend. Errors: NotFound (folder,
  // config.json, weights, tokenizer.json), Format (a malformed file, a tensor missing or of the
  // wrong shape), Unsupported (unknown model_type, a backend not built into this library).
  static VlmModel open(const std::filesystem::path& model_dir,
                       const BackendType& backend = backend::Native{},
                       const ModelOptions& options = {});

  VlmModel(VlmModel&&) noexcept;
  VlmModel& operator=(VlmModel&&) noexcept;
  ~VlmModel() override;

  std::string infer(const ImageRgb8& image, std::string_view prompt,
                    std::size_t max_new_tokens) override;
  std::string backend_name() const override;
  bool supports_batch() const override;

  // Any number of images (0 = a text-only prompt), placed before the text. PaliGemma: `prompt`
  // is the task text ("caption en", "detect cat"); SmolVLM: the user message (chat template
  // applied), with an optional system message.
  GenerationOutput generate(std::span<const ImageRgb8> images, std::string_view prompt,
                            const GenerationOptions& options, const StreamCallback& on_text = {},
                            std::string_view system = {});

  // A multi-turn conversation (SmolVLM family; PaliGemma has no chat format: Unsupported).
  Chat start_chat(std::string_view system = {});

  // GenerationOptions{} overlaid with generation_config.json (stop ids, max_new_tokens, sampling).
  GenerationOptions default_options() const;
  // "paligemma", "paligemma2", "idefics3" (SmolVLM) or "smolvlm" (SmolVLM2).
  std::string family() const;
  // The family's request for a caption: "caption en" (PaliGemma) or "Describe the image."
  std::string caption_prompt() const;
  const std::filesystem::path& model_dir() const;

  struct Impl;

 private:
  explicit VlmModel(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
  friend class Chat;
};

// A conversation whose earlier turns stay in the KV cache: each send() renders the whole
// conversation with the chat template and runs only the part the cache does not already hold.
// Keeps its model alive.
class Chat {
 public:
  Chat(Chat&&) noexcept;
  Chat& operator=(Chat&&) noexcept;
  ~Chat();

  // Adds a user turn (images before the text) and generates the assistant's answer, which is
  // appended to the conversation.
  GenerationOutput send(std::span<const ImageRgb8> images, std::string_view text,
                        const GenerationOptions& options, const StreamCallback& on_text = {});
  // Appends a turn without generating ("user" with its images, or "assistant"), e.g. to restore a
  // saved conversation; the next send() runs it.
  void add(std::string_view role, std::span<const ImageRgb8> images, std::string_view text);
  // Positions reused from the cache by the last send() (0 for the first turn).
  std::size_t reused_positions() const;
  std::size_t turns() const;  // user turns sent

  struct State;

 private:
  explicit Chat(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  friend class VlmModel;
};

// PaliGemma / PaliGemma2 on any backend. `infer` takes a task prefix: "caption en",
// "answer en what is this?", "detect cat", "ocr".
class Paligemma : public InferenceBackend {
 public:
  // InvalidArgument when the folder holds another family.
  static Paligemma open(const std::filesystem::path& model_dir,
                        const BackendType& backend = backend::Native{},
                        const ModelOptions& options = {});
  std::string infer(const ImageRgb8& image, std::string_view task,
                    std::size_t max_new_tokens) override;
  std::string backend_name() const override { return model_.backend_name(); }
  bool supports_batch() const override { return model_.supports_batch(); }
  VlmModel& model() noexcept { return model_; }

 private:
  explicit Paligemma(VlmModel model) : model_(std::move(model)) {}
  VlmModel model_;
};

// SmolVLM (Idefics3) / SmolVLM2 on any backend, with chat.
class SmolVlm : public InferenceBackend {
 public:
  static SmolVlm open(const std::filesystem::path& model_dir,
                      const BackendType& backend = backend::Native{},
                      const ModelOptions& options = {});
  std::string infer(const ImageRgb8& image, std::string_view prompt,
                    std::size_t max_new_tokens) override;
  std::string backend_name() const override { return model_.backend_name(); }
  bool supports_batch() const override { return model_.supports_batch(); }
  Chat chat(std::string_view system = {}) { return model_.start_chat(system); }
  VlmModel& model() noexcept { return model_; }

 private:
  explicit SmolVlm(VlmModel model) : model_(std::move(model)) {}
  VlmModel model_;
};

}  // namespace vlmrt
