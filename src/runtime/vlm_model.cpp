#include <algorithm>
#include <string>

#include "core/process_memory.hpp"
#include "generation/options.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/model_impl.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

std::size_t VlmModel::Impl::context_length() const {
  const auto model_length = static_cast<std::size_t>(folder.config.text.max_position_embeddings);
  return options.context_length == 0 ? model_length
                                     : std::min(options.context_length, model_length);
}

GenerationOptions VlmModel::Impl::complete(const GenerationOptions& options) const {
  GenerationOptions completed = options;
  if (completed.eos_token_ids.empty())
    for (const auto id : folder.stop_token_ids())
      completed.eos_token_ids.push_back(static_cast<std::int32_t>(id));
  return completed;
}

namespace runtime {

BusyGuard::BusyGuard(std::atomic<bool>& busy) : busy_(busy) {
  if (busy_.exchange(true, std::memory_order_acquire))
    throw Error(ErrorKind::InvalidArgument,
                "this VlmModel is already running a call on another thread; "
                "use one model per "
                "thread (open the folder again for a second thread)");
}

GenerationOutput run_prompt(VlmModel::Impl& model, Sequence& sequence, const PreparedPrompt& prompt,
                            std::size_t start, const PixelBatch& pixels,
                            const GenerationOptions& options, const StreamCallback& on_text,
                            Clock::time_point started) {
  const GenerationOptions completed = model.complete(options);
  gen::validate(completed);

  PromptChunk chunk;
  chunk.ids.assign(prompt.ids.begin() + static_cast<std::ptrdiff_t>(start), prompt.ids.end());
  chunk.bidirectional_prefix = start == 0 ? prompt.bidirectional_prefix : 0;
  if (chunk.ids.size() > sequence.context_remaining())
    throw Error(ErrorKind::LimitExceeded,
                "the prompt needs " + std::to_string(chunk.ids.size()) +
                    " positions but the context has " +
                    std::to_string(sequence.context_remaining()) + " free (context length " +
                    std::to_string(model.context_length()) +
                    "): use fewer or smaller images, a shorter prompt or a larger context length "
                    "(ModelOptions::context_length, --context-length)");
  Stats stats;
  if (pixels.num_frames > 0) {
    const auto encode_start = Clock::now();
    chunk.images = model.backend->encode_images(pixels);
    stats.image_encode_ms = ms_between(encode_start, Clock::now());
    stats.tiles = chunk.images.frames;
  }
  sequence.set_prompt(std::move(chunk));
  const auto loop_start = Clock::now();
  gen::GenerationResult result =
      gen::generate(sequence, model.processor.tokenizer(), completed, on_text);
  const auto finished = Clock::now();

  const auto& timings = result.timings;
  stats.prefill_tokens = timings.prefill_tokens;
  stats.prefill_tokens_per_s = timings.prefill_tokens_per_s();
  stats.decode_tokens = timings.decode_tokens;
  stats.decode_tokens_per_s = timings.decode_tokens_per_s();
  stats.time_to_first_token_ms =
      ms_between(started, loop_start) +
      std::chrono::duration<double, std::milli>(timings.time_to_first_token).count();
  stats.total_ms = ms_between(started, finished);
  stats.peak_rss_mb = peak_rss_mb();

  GenerationOutput output;
  output.text = std::move(result.text);
  output.tokens = std::move(result.tokens);
  output.finish_reason = result.finish_reason;
  output.seed = result.seed;
  output.stats = stats;
  return output;
}

}  // namespace runtime

VlmModel::VlmModel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
VlmModel::VlmModel(VlmModel&&) noexcept = default;
VlmModel& VlmModel::operator=(VlmModel&&) noexcept = default;
VlmModel::~VlmModel() = default;

VlmModel VlmModel::open(const std::filesystem::path& model_dir, const BackendType& backend,
                        const ModelOptions& options) {
  ModelFolder folder = ModelFolder::inspect(model_dir);
  Processor processor = Processor::load(folder);
  auto opened = runtime::open_backend(folder, backend, options);
  auto impl =
      std::make_shared<Impl>(std::move(folder), std::move(processor), std::move(opened), options);
  return VlmModel(std::move(impl));
}

std::string VlmModel::infer(const ImageRgb8& image, std::string_view prompt,
                            std::size_t max_new_tokens) {
  GenerationOptions options = default_options();
  options.max_new_tokens = max_new_tokens;
  return generate(std::span(&image, 1), prompt, options).text;
}

std::string VlmModel::backend_name() const {
  return impl_->backend->name();
}
bool VlmModel::supports_batch() const {
  return impl_->backend->supports_batch();
}
std::string VlmModel::family() const {
  return std::string(family_id(impl_->folder.config.family));
}

std::string VlmModel::caption_prompt() const {
  return is_paligemma(impl_->folder.config.family) ? "caption en" : "Describe the image.";
}
const std::filesystem::path& VlmModel::model_dir() const {
  return impl_->folder.dir;
}

GenerationOptions VlmModel::default_options() const {
  GenerationOptions options = impl_->folder.generation
                                  ? gen::options_from_generation_config(*impl_->folder.generation)
                                  : GenerationOptions{};
  return impl_->complete(options);
}

GenerationOutput VlmModel::generate(std::span<const ImageRgb8> images, std::string_view prompt,
                                    const GenerationOptions& options, const StreamCallback& on_text,
                                    std::string_view system) {
  runtime::BusyGuard guard(impl_->busy);
  const auto started = Clock::now();
  const PreparedPrompt prepared = impl_->processor.prepare(images, prompt, system);
  // A one-shot call needs room for the prompt and the answer only; the buffers
  // of the last call are reused when they are big enough.
  const std::size_t needed =
      std::min(impl_->context_length(), prepared.ids.size() + options.max_new_tokens);
  auto& sequence = impl_->spare_sequence;
  if (!sequence || sequence->context_length() < needed)
    sequence = impl_->backend->new_sequence(needed);
  else
    sequence->truncate(0);
  return runtime::run_prompt(*impl_, *sequence, prepared, 0, prepared.pixels, options, on_text,
                             started);
}

}  // namespace vlmrt
