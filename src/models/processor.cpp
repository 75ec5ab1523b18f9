#include "models/processor.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "models/paligemma/prompt.hpp"
#include "models/smolvlm/prompt.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {
namespace {

// Both families name the image placeholder "<image>" (MODELS.md §5.1, §5.3).
constexpr std::string_view kImageToken = "<image>";

bool is_known_role(std::string_view role) {
  return role == "system" || role == "user" || role == "assistant";
}

std::string turn_label(std::size_t index, const ChatTurn& turn) {
  return "chat turn " + std::to_string(index + 1) + " (" + turn.role + ")";
}

// Checks the turns before rendering; the template itself would accept most of these mistakes
// and silently produce a prompt the model was never trained on.
void check_turns(std::span<const ChatTurn> turns, std::size_t num_images) {
  if (turns.empty()) throw Error(ErrorKind::InvalidArgument, "chat: no turns given");
  std::size_t declared = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const ChatTurn& turn = turns[i];
    if (!is_known_role(turn.role))
      throw Error(ErrorKind::InvalidArgument,
                  turn_label(i, turn) + ": role must be \"system\", \"user\" or \"assistant\"");
    if (turn.num_images < 0)
      throw Error(ErrorKind::InvalidArgument, turn_label(i, turn) + ": num_images is " +
                                                  std::to_string(turn.num_images) +
                                                  ", expected 0 or more");
    if (turn.num_images > 0 && turn.role != "user")
      throw Error(ErrorKind::InvalidArgument, turn_label(i, turn) + ": has " +
                                                  std::to_string(turn.num_images) +
                                                  " image(s); images belong in user turns");
    if (turn.num_images == 0 && turn.text.empty())
      throw Error(ErrorKind::InvalidArgument, turn_label(i, turn) + ": has no text and no image");
    declared += static_cast<std::size_t>(turn.num_images);
  }
  if (declared != num_images)
    throw Error(ErrorKind::InvalidArgument, "chat: the turns declare " + std::to_string(declared) +
                                                " image(s) but " + std::to_string(num_images) +
                                                " image(s) were given");
  if (turns.back().role != "user")
    throw Error(ErrorKind::InvalidArgument,
                "chat: the last turn is " + turns.back().role +
                    "'s; the generation prompt must follow a user turn");
}

// Per image, the index of its first image-token id. Every image contributes image_tokens()
// image-token ids in prompt order (MODELS.md §4), so the k-th image starts at the occurrence
// that follows all earlier images' ids.
std::vector<std::size_t> find_image_token_starts(std::span<const tok::TokenId> ids,
                                                 std::span<const ImageGrid> images,
                                                 tok::TokenId image_token_id, int image_seq_len) {
  std::size_t expected = 0;
  for (const auto& grid : images)
    expected += static_cast<std::size_t>(grid.image_tokens(image_seq_len));
  std::vector<std::size_t> starts;
  starts.reserve(images.size());
  std::size_t seen = 0;
  std::size_t next_start = 0;  // occurrence number at which the next image begins
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != image_token_id) continue;
    if (starts.size() < images.size() && seen == next_start) {
      starts.push_back(i);
      next_start += static_cast<std::size_t>(images[starts.size() - 1].image_tokens(image_seq_len));
    }
    ++seen;
  }
  if (seen != expected)
    throw Error(ErrorKind::Format, "tokenizer.json: the prompt holds " + std::to_string(seen) +
                                       " image-token id(s) (" + std::to_string(image_token_id) +
                                       ") but its " + std::to_string(images.size()) +
                                       " image(s) need " + std::to_string(expected));
  return starts;
}

}  // namespace

Processor::Processor(ModelImageProcessor images, tok::Tokenizer tokenizer,
                     std::optional<ChatTemplate> chat, std::string bos_token,
                     tok::TokenId image_token_id)
    : images_(std::move(images)),
      tokenizer_(std::move(tokenizer)),
      chat_(std::move(chat)),
      bos_token_(std::move(bos_token)),
      image_token_id_(image_token_id) {}

Processor Processor::load(const ModelFolder& folder) {
  auto images = ModelImageProcessor::load(folder.dir, folder.config);
  const auto tokenizer_path = folder.dir / "tokenizer.json";
  auto tokenizer = tok::Tokenizer::from_file(tokenizer_path);
  // The model merges image features where input_ids == image_token_id (MODELS.md §4), so the
  // tokenizer must produce exactly that id for the "<image>" the prompt is written with.
  const auto image_id = tokenizer.token_to_id(kImageToken);
  if (!image_id || *image_id != folder.config.image_token_id)
    throw Error(ErrorKind::Format,
                tokenizer_path.string() + ": \"<image>\" is " +
                    (image_id ? "id " + std::to_string(*image_id) : std::string("not a token")) +
                    ", but config.json's image_token_id is " +
                    std::to_string(folder.config.image_token_id));
  std::optional<ChatTemplate> chat;
  if (is_idefics3_like(folder.config.family)) chat = ChatTemplate::for_model(folder.dir);
  // PaliGemmaProcessor writes tokenizer.bos_token into the text (MODELS.md §5.1).
  std::string bos = folder.tokenizer.bos_token.value_or(std::string(paligemma::kBosToken));
  return Processor(std::move(images), std::move(tokenizer), std::move(chat), std::move(bos),
                   *image_id);
}

std::string Processor::chat_template_name() const {
  return chat_ ? chat_->name() : std::string();
}

std::string Processor::request_text(std::size_t num_images, std::string_view text,
                                    std::string_view system) const {
  if (text.empty() && num_images == 0)
    throw Error(ErrorKind::InvalidArgument, "prompt: empty text and no images");
  if (!chat_) {
    if (!system.empty())
      throw Error(ErrorKind::InvalidArgument,
                  "system message: PaliGemma has no chat template (MODELS.md §5.1); put the task "
                  "in the prompt instead");
    return std::string(text);
  }
  std::vector<ChatMessage> messages;
  if (!system.empty())
    messages.push_back({"system", std::vector{ContentPart::make_text(std::string(system))}});
  std::vector<ContentPart> parts(num_images, ContentPart::image());
  parts.push_back(ContentPart::make_text(std::string(text)));
  messages.push_back({"user", std::move(parts)});
  return chat_->render(messages, /*add_generation_prompt=*/true);
}

std::string Processor::chat_text(std::span<const ChatTurn> turns, std::size_t num_images) const {
  if (!chat_)
    throw Error(ErrorKind::Unsupported,
                "PaliGemma has no chat format (MODELS.md §5.1): send one request with a task "
                "prefix such as \"caption en\"");
  check_turns(turns, num_images);
  std::vector<ChatMessage> messages;
  messages.reserve(turns.size());
  for (const ChatTurn& turn : turns) {
    std::vector<ContentPart> parts(static_cast<std::size_t>(turn.num_images), ContentPart::image());
    // A text part even when empty, as the single-request prompt and the reference
    // (scripts/reference/processing.py) write it: an empty text renders as nothing.
    parts.push_back(ContentPart::make_text(turn.text));
    messages.push_back({turn.role, std::move(parts)});
  }
  return chat_->render(messages, /*add_generation_prompt=*/true);
}

PreparedPrompt Processor::finish(std::string template_text, std::span<const ImageRgb8> images,
                                 bool with_pixels) const {
  PreparedPrompt out;
  out.images = images_.layout(images);
  const int seq_len = images_.image_seq_len();
  if (!chat_) {
    // Saturated so that build_prompt's own image-count limit reports an absurd count.
    const int count =
        static_cast<int>(std::min<std::size_t>(images.size(), std::numeric_limits<int>::max()));
    out.text = paligemma::build_prompt(template_text, count, seq_len, bos_token_);
  } else {
    std::vector<smolvlm::ImageLayout> layouts;
    layouts.reserve(out.images.size());
    for (const auto& grid : out.images) layouts.push_back({grid.rows, grid.cols});
    out.text = smolvlm::expand_prompt(template_text, layouts, {}, seq_len);
  }
  out.template_text = std::move(template_text);
  // The template or build_prompt already wrote every special token; PaliGemma tokenizes with
  // add_bos = add_eos = False (MODELS.md §5.1), SmolVLM's <|im_start|> comes from the template.
  out.ids = tokenizer_.encode(out.text, /*add_special_tokens=*/false);
  out.image_token_starts = find_image_token_starts(out.ids, out.images, image_token_id_, seq_len);
  // Without a suffix the whole PaliGemma prompt is prefix (token_type_ids all 0, errata 5).
  out.bidirectional_prefix = chat_ ? 0 : out.ids.size();
  if (with_pixels) out.pixels = images_.process(images);
  return out;
}

PreparedPrompt Processor::prepare(std::span<const ImageRgb8> images, std::string_view text,
                                  std::string_view system) const {
  return finish(request_text(images.size(), text, system), images, /*with_pixels=*/true);
}

PreparedPrompt Processor::plan(std::span<const ImageRgb8> images, std::string_view text,
                               std::string_view system) const {
  return finish(request_text(images.size(), text, system), images, /*with_pixels=*/false);
}

PreparedPrompt Processor::prepare_chat(std::span<const ChatTurn> turns,
                                       std::span<const ImageRgb8> images) const {
  return finish(chat_text(turns, images.size()), images, /*with_pixels=*/true);
}

PreparedPrompt Processor::plan_chat(std::span<const ChatTurn> turns,
                                    std::span<const ImageRgb8> images) const {
  return finish(chat_text(turns, images.size()), images, /*with_pixels=*/false);
}

}  // namespace vlmrt
