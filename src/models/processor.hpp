// The processor every backend shares: a request (images + user text) or a chat conversation →
// the model's prompt text, token ids and pixel frames, exactly as transformers' processors build
// them (MODELS.md §5). PaliGemma: the task-prefix format (§5.1, errata 4); Idefics3 / SmolVLM /
// SmolVLM2: the folder's chat template, then every <image> expanded to its tile blocks (§5.3).
// The expanded text is always tokenized whole (errata 6); no ids are assembled by hand.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/family.hpp"
#include "models/model_folder.hpp"
#include "models/model_image_processor.hpp"
#include "models/pixel_batch.hpp"
#include "tokenizer/chat_template.hpp"
#include "tokenizer/tokenizer.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {

// One message of a conversation. Its images (passed to prepare_chat separately, in conversation
// order) are placed before its text, as the single-request prompt does.
//
// For KV-cache reuse across turns, give an assistant turn the answer as decoded WITHOUT the
// leading space the model emits after "Assistant:": the SmolVLM template writes "Assistant: "
// itself, so the answer's own space would make ":  A" where the cached turn had ": A".
struct ChatTurn {
  std::string role;  // "system" | "user" | "assistant"
  std::string text;
  int num_images = 0;  // images of this turn (user turns only)
};

struct PreparedPrompt {
  // The prompt before image expansion: the rendered chat template (SmolVLM) or the user's text
  // (PaliGemma).
  std::string template_text;
  std::string text;  // the expanded prompt (what `vlmrt prompt` prints)
  std::vector<tok::TokenId> ids;
  // Tokens that attend bidirectionally at prefill: PaliGemma's whole prompt (token_type_ids all
  // 0, errata 5); 0 for SmolVLM (causal).
  std::size_t bidirectional_prefix = 0;
  // Per image, in order: its tile grid and frames (always filled, also by plan()).
  std::vector<ImageGrid> images;
  // Frames of every image in order; empty (0 frames) when there are no images or from plan().
  PixelBatch pixels;
  // Per image: index in `ids` of its first image-token id. A cached prefix that ends past this
  // index but before the image's last image token would cut the image's features.
  std::vector<std::size_t> image_token_starts;
};

class Processor {
 public:
  // Needs config.json, preprocessor_config.json and tokenizer.json, plus the chat template for
  // the Idefics3 family (ChatTemplate::for_model: the folder's, else the built-in SmolVLM one).
  // Throws NotFound / Format naming the file; Format when tokenizer.json does not map "<image>"
  // to config.json's image_token_id.
  static Processor load(const ModelFolder& folder);

  ModelFamily family() const noexcept { return images_.family(); }
  int image_seq_len() const noexcept { return images_.image_seq_len(); }
  tok::TokenId image_token_id() const noexcept { return image_token_id_; }
  // The chat template's name (the file it came from); empty for PaliGemma, which has none.
  std::string chat_template_name() const;
  const tok::Tokenizer& tokenizer() const noexcept { return tokenizer_; }
  const ModelImageProcessor& image_processor() const noexcept { return images_; }

  // One user message: images, then text. PaliGemma: paligemma::build_prompt of the task text
  // (e.g. "caption en"); a non-empty `system` is InvalidArgument (no chat format). SmolVLM: the
  // chat template with the generation prompt, `system` as a first system message when non-empty.
  // Empty text with no images is InvalidArgument.
  PreparedPrompt prepare(std::span<const ImageRgb8> images, std::string_view text,
                         std::string_view system = {}) const;
  // A whole conversation rendered with the chat template and the generation prompt, every image
  // expanded. SmolVLM family only (PaliGemma: Unsupported). InvalidArgument for no turns, an
  // unknown role, images outside user turns, a turn with neither text nor images, a last turn
  // that is not the user's, or turn image counts that do not add up to images.size().
  PreparedPrompt prepare_chat(std::span<const ChatTurn> turns,
                              std::span<const ImageRgb8> images) const;

  // prepare() / prepare_chat() without computing pixels (`pixels` stays empty): text, ids and
  // image layout from the image sizes alone. For counting tokens, `vlmrt prompt`, and for
  // callers that process only the images past a reused cache prefix.
  PreparedPrompt plan(std::span<const ImageRgb8> images, std::string_view text,
                      std::string_view system = {}) const;
  PreparedPrompt plan_chat(std::span<const ChatTurn> turns,
                           std::span<const ImageRgb8> images) const;

 private:
  Processor(ModelImageProcessor images, tok::Tokenizer tokenizer, std::optional<ChatTemplate> chat,
            std::string bos_token, tok::TokenId image_token_id);

  std::string request_text(std::size_t num_images, std::string_view text,
                           std::string_view system) const;
  std::string chat_text(std::span<const ChatTurn> turns, std::size_t num_images) const;
  PreparedPrompt finish(std::string template_text, std::span<const ImageRgb8> images,
                        bool with_pixels) const;

  ModelImageProcessor images_;
  tok::Tokenizer tokenizer_;
  std::optional<ChatTemplate> chat_;  // Idefics3 family only
  std::string bos_token_;             // PaliGemma: written into the text (MODELS.md §5.1)
  tok::TokenId image_token_id_ = 0;
};

}  // namespace vlmrt
