// What a VlmModel holds: the folder's configs, the shared processor (prompt + pixels), the
// backend, and the one-thread-at-a-time guard. Chat and VlmModel both run requests through
// run_prompt(), the single place where a prepared prompt meets the backend and the generation
// loop, and where Stats are filled.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "generation/generate.hpp"
#include "models/model_folder.hpp"
#include "models/processor.hpp"
#include "runtime/backend.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt {

struct VlmModel::Impl {
  Impl(ModelFolder folder, Processor processor, std::unique_ptr<runtime::ModelBackend> backend,
       ModelOptions options)
      : folder(std::move(folder)),
        processor(std::move(processor)),
        backend(std::move(backend)),
        options(options) {}

  ModelFolder folder;
  Processor processor;
  std::unique_ptr<runtime::ModelBackend> backend;
  ModelOptions options;
  std::atomic<bool> busy{false};
  // The last one-shot call's sequence, kept so that repeated calls reuse its KV cache buffers.
  std::unique_ptr<runtime::Sequence> spare_sequence;

  std::size_t context_length() const;
  // options with the model's stop ids filled in when the caller left them empty.
  GenerationOptions complete(const GenerationOptions& options) const;
};

namespace runtime {

// Marks a model busy for one call; a second concurrent call throws instead of racing.
class BusyGuard {
 public:
  explicit BusyGuard(std::atomic<bool>& busy);
  ~BusyGuard() { busy_.store(false, std::memory_order_release); }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  std::atomic<bool>& busy_;
};

// Encodes `pixels` (when it has frames), sets the chunk [start, end) of `prompt` on `sequence`
// and generates. `started` is when the request began (for time to first token and total).
GenerationOutput run_prompt(VlmModel::Impl& model, Sequence& sequence, const PreparedPrompt& prompt,
                            std::size_t start, const PixelBatch& pixels,
                            const GenerationOptions& options, const StreamCallback& on_text,
                            std::chrono::steady_clock::time_point started);

}  // namespace runtime

}  // namespace vlmrt
