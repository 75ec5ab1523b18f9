// Chat messages → the model's prompt text, through the model folder's Jinja chat template
// rendered exactly as transformers' apply_chat_template does (context: messages, tools=None,
// documents=None, add_generation_prompt, the special token strings, then caller extras).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tokenizer/jinja/template.hpp"

namespace vlmrt {

struct ContentPart {
  enum class Type { Text, Image, Video };
  Type type = Type::Text;
  std::string text;  // Text only

  static ContentPart make_text(std::string text) { return {Type::Text, std::move(text)}; }
  static ContentPart image() { return {Type::Image, {}}; }
  static ContentPart video() { return {Type::Video, {}}; }
};

// HF's message dict: {"role": ..., "content": "text"} or {"role": ..., "content": [{"type":
// "image"}, {"type": "text", "text": ...}, ...]}. Templates differ in which form they accept
// (SmolVLM's reads content[0]['type'], so give it parts).
struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::variant<std::string, std::vector<ContentPart>> content;
};

// The messages as the JSON list a template sees.
jinja::Json messages_to_json(std::span<const ChatMessage> messages);

class ChatTemplate {
 public:
  // Parses `source`; `name` labels errors (usually the file it came from). Throws Format.
  ChatTemplate(std::string source, std::string name);

  // SmolVLM / SmolVLM2's format (MODELS.md §5.3, with the SmolVLM2 `<video>` branch), used for
  // Idefics3-like folders that ship no template.
  static ChatTemplate builtin_smolvlm();

  // The folder's template (chat_template.jinja, chat_template.json, else tokenizer_config.json's
  // chat_template) with its special tokens (bos_token, eos_token, pad_token, unk_token) as
  // template variables; the built-in SmolVLM template for an Idefics3/SmolVLM folder without one.
  // NotFound for other families without a template (PaliGemma has none: MODELS.md §5.1).
  static ChatTemplate for_model(const std::filesystem::path& model_dir);

  // Renders; `extra` (a JSON object) adds or overrides variables (tools, enable_thinking, ...).
  // raise_exception() in the template throws InvalidArgument with its message.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                     const jinja::Json& extra = jinja::Json::object()) const;
  // Same with the messages already as JSON (for tool calls and other fields ChatMessage lacks).
  std::string render_json(const jinja::Json& messages, bool add_generation_prompt,
                          const jinja::Json& extra = jinja::Json::object()) const;

  void set_variable(const std::string& name, jinja::Json value) {
    variables_[name] = std::move(value);
  }
  const std::string& source() const noexcept { return source_; }
  const std::string& name() const noexcept { return template_.name(); }

 private:
  std::string source_;
  jinja::Template template_;
  jinja::Json variables_ = jinja::Json::object();  // special tokens and other defaults
};

}  // namespace vlmrt
