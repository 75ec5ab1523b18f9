// Multi-turn chat over one KV cache: each turn renders the whole conversation,
// keeps the longest prefix the cache already holds (never cutting an image's
// block of tokens) and runs the rest.
#include <algorithm>

#include "runtime/model_impl.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {

struct Chat::State {
  std::shared_ptr<VlmModel::Impl> model;
  std::vector<ChatTurn> turns;
  std::vector<ImageRgb8> images;  // every image of the conversation, in order
  std::unique_ptr<runtime::Sequence> sequence;
  std::vector<std::int32_t> cached_ids;  // the ids whose K/V the cache holds, in order
  std::size_t reused = 0;
  std::size_t user_turns = 0;
};

namespace {

// Longest common prefix of what the cache holds and the new prompt, pulled back so that it does
// not end inside an image block (its rows would need features we no longer have) and leaves at
// least one id to run (prefill needs a position to produce logits from).
std::size_t reusable_prefix(const std::vector<std::int32_t>& cached, const PreparedPrompt& prompt,
                            const std::vector<std::size_t>& block_lengths) {
  std::size_t common = 0;
  while (common < cached.size() && common < prompt.ids.size() &&
         cached[common] == prompt.ids[common])
    ++common;
  if (common == prompt.ids.size() && common > 0) --common;
  for (std::size_t i = 0; i < prompt.image_token_starts.size(); ++i) {
    const std::size_t begin = prompt.image_token_starts[i];
    if (common > begin && common < begin + block_lengths[i]) common = begin;
  }
  return common;
}

// An answer as the conversation records it: without the leading space the model emits after
// "Assistant:", which the template writes itself (processor.hpp, ChatTurn). With the space, the
// re-rendered turn would differ from the cached ids right after the prompt.
std::string as_history(std::string_view answer) {
  if (answer.starts_with(' ')) answer.remove_prefix(1);
  return std::string(answer);
}

}  // namespace

Chat::Chat(std::unique_ptr<State> state) : state_(std::move(state)) {}
Chat::Chat(Chat&&) noexcept = default;
Chat& Chat::operator=(Chat&&) noexcept = default;
Chat::~Chat() = default;

Chat VlmModel::start_chat(std::string_view system) {
  if (is_paligemma(impl_->folder.config.family))
    throw Error(ErrorKind::Unsupported,
                "chat: PaliGemma has no chat format (one task prefix per request); use "
                "generate() or infer()");
  auto state = std::make_unique<Chat::State>();
  state->model = impl_;
  if (!system.empty()) state->turns.push_back({"system", std::string(system), 0});
  return Chat(std::move(state));
}

void Chat::add(std::string_view role, std::span<const ImageRgb8> images, std::string_view text) {
  if (role != "user" && role != "assistant")
    throw Error(ErrorKind::InvalidArgument,
                "chat turn role '" + std::string(role) + "': expected user or assistant");
  if (role == "assistant" && !images.empty())
    throw Error(ErrorKind::InvalidArgument, "chat: an assistant turn cannot hold images");
  state_->turns.push_back({std::string(role),
                           role == "assistant" ? as_history(text) : std::string(text),
                           static_cast<int>(images.size())});
  state_->images.insert(state_->images.end(), images.begin(), images.end());
}

std::size_t Chat::reused_positions() const {
  return state_->reused;
}
std::size_t Chat::turns() const {
  return state_->user_turns;
}

GenerationOutput Chat::send(std::span<const ImageRgb8> images, std::string_view text,
                            const GenerationOptions& options, const StreamCallback& on_text) {
  State& state = *state_;
  VlmModel::Impl& model = *state.model;
  runtime::BusyGuard guard(model.busy);
  const auto started = std::chrono::steady_clock::now();

  std::vector<ChatTurn> turns = state.turns;
  turns.push_back({"user", std::string(text), static_cast<int>(images.size())});
  std::vector<ImageRgb8> all_images = state.images;
  all_images.insert(all_images.end(), images.begin(), images.end());
  // Plan first (ids and layout from image sizes only): the images inside the reused prefix are
  // neither resized nor encoded again.
  const PreparedPrompt prompt = model.processor.plan_chat(turns, all_images);

  if (!state.sequence) state.sequence = model.backend->new_sequence(model.context_length());
  std::vector<std::size_t> block_lengths;
  for (const auto& grid : prompt.images)
    block_lengths.push_back(
        static_cast<std::size_t>(grid.image_tokens(model.processor.image_seq_len())));
  const std::size_t start = reusable_prefix(state.cached_ids, prompt, block_lengths);
  state.sequence->truncate(start);

  std::size_t first_new_image = 0;
  while (first_new_image < prompt.image_token_starts.size() &&
         prompt.image_token_starts[first_new_image] < start)
    ++first_new_image;
  const PixelBatch pixels =
      model.processor.image_processor().process(std::span(all_images).subspan(first_new_image));

  GenerationOutput output =
      runtime::run_prompt(model, *state.sequence, prompt, start, pixels, options, on_text, started);

  // The cache now holds the prompt and every generated token but the last
  // (never fed back).
  state.cached_ids = prompt.ids;
  state.cached_ids.insert(state.cached_ids.end(), output.tokens.begin(), output.tokens.end());
  state.cached_ids.resize(state.sequence->cached_length());
  turns.push_back({"assistant", as_history(output.text), 0});
  state.turns = std::move(turns);
  state.images = std::move(all_images);
  state.reused = start;
  ++state.user_turns;
  return output;
}

}  // namespace vlmrt
