// tokenizer_config.json facts a model folder records (special token strings, add_bos/add_eos)
// and where its chat template comes from. The tokenizer itself (tokenizer.json) lives in
// src/tokenizer/.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/json.hpp"

namespace vlmrt {

// Where the chat template was found, in the order they are looked for (transformers v5 prefers
// the standalone files over the copy inside tokenizer_config.json).
enum class ChatTemplateSource {
  None,             // no template: PaliGemma has none (MODELS.md §5.1)
  JinjaFile,        // chat_template.jinja
  JsonFile,         // chat_template.json {"chat_template": "..."}
  TokenizerConfig,  // tokenizer_config.json "chat_template"
};

std::string_view chat_template_source_name(
    ChatTemplateSource source) noexcept;  // file name or "none"

struct TokenizerConfig {
  // Token strings; a token may be written as "..." or as an AddedToken object {"content": "..."}.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  std::optional<std::string> tokenizer_class;
  bool has_tokenizer_config = false;  // tokenizer_config.json was present

  std::string chat_template;  // empty when source == None
  ChatTemplateSource chat_template_source = ChatTemplateSource::None;

  // Parses tokenizer_config.json content (chat_template included: a string, or a list of
  // {"name", "template"} objects of which "default" — else the first — is taken).
  static TokenizerConfig from_json(const json::Json& object, const std::string& where);
  // Reads <dir>/tokenizer_config.json when present, then the chat template files; nothing there
  // is an error only when a present file is malformed.
  static TokenizerConfig load(const std::filesystem::path& model_dir);
};

}  // namespace vlmrt
