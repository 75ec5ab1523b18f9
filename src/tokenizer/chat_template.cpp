#include "tokenizer/chat_template.hpp"

#include "models/family.hpp"
#include "models/tokenizer_config.hpp"

namespace vlmrt {
namespace {

// MODELS.md §5.3: the SmolVLM chat format; the `<video>` branch is SmolVLM2's (errata 13: a
// message starting with a video gets ": " like text).
constexpr std::string_view kSmolVlmTemplate =
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ "
    "'<video>' }}"
    "{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

std::string_view part_type(ContentPart::Type type) {
  switch (type) {
    case ContentPart::Type::Text:
      return "text";
    case ContentPart::Type::Image:
      return "image";
    case ContentPart::Type::Video:
      return "video";
  }
  return "text";
}

}  // namespace

jinja::Json messages_to_json(std::span<const ChatMessage> messages) {
  jinja::Json list = jinja::Json::array();
  for (const ChatMessage& message : messages) {
    jinja::Json m = jinja::Json::object();
    m["role"] = message.role;
    if (const auto* text = std::get_if<std::string>(&message.content)) {
      m["content"] = *text;
    } else {
      jinja::Json parts = jinja::Json::array();
      for (const ContentPart& part : std::get<std::vector<ContentPart>>(message.content)) {
        jinja::Json p = {{"type", part_type(part.type)}};
        if (part.type == ContentPart::Type::Text) p["text"] = part.text;
        parts.push_back(std::move(p));
      }
      m["content"] = std::move(parts);
    }
    list.push_back(std::move(m));
  }
  return list;
}

ChatTemplate::ChatTemplate(std::string source, std::string name)
    : source_(std::move(source)), template_(source_, std::move(name)) {}

ChatTemplate ChatTemplate::builtin_smolvlm() {
  return ChatTemplate(std::string(kSmolVlmTemplate), "built-in SmolVLM chat template");
}

ChatTemplate ChatTemplate::for_model(const std::filesystem::path& model_dir) {
  const TokenizerConfig config = TokenizerConfig::load(model_dir);
  if (config.chat_template_source == ChatTemplateSource::None) {
    if (!is_idefics3_like(detect_family(model_dir)))
      throw Error(ErrorKind::NotFound,
                  model_dir.string() +
                      ": no chat template (chat_template.jinja, chat_template.json "
                      "or tokenizer_config.json 'chat_template')");
    ChatTemplate builtin = builtin_smolvlm();
    builtin.set_variable("bos_token",
                         config.bos_token ? jinja::Json(*config.bos_token) : jinja::Json(nullptr));
    return builtin;
  }
  const auto file = model_dir / chat_template_source_name(config.chat_template_source);
  ChatTemplate result(config.chat_template, file.string());
  const std::pair<const char*, const std::optional<std::string>*> specials[] = {
      {"bos_token", &config.bos_token},
      {"eos_token", &config.eos_token},
      {"pad_token", &config.pad_token},
      {"unk_token", &config.unk_token}};
  for (const auto& [name, value] : specials)
    if (*value) result.set_variable(name, **value);
  return result;
}

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                 const jinja::Json& extra) const {
  return render_json(messages_to_json(messages), add_generation_prompt, extra);
}

std::string ChatTemplate::render_json(const jinja::Json& messages, bool add_generation_prompt,
                                      const jinja::Json& extra) const {
  if (!messages.is_array())
    throw Error(ErrorKind::InvalidArgument, name() + ": messages must be a list");
  if (!extra.is_object())
    throw Error(ErrorKind::InvalidArgument, name() + ": extra variables must be an object");
  // transformers passes tools/documents as None when absent, then the special tokens map.
  jinja::Json context = {{"messages", messages},
                         {"tools", nullptr},
                         {"documents", nullptr},
                         {"add_generation_prompt", add_generation_prompt}};
  for (auto it = variables_.begin(); it != variables_.end(); ++it) context[it.key()] = it.value();
  for (auto it = extra.begin(); it != extra.end(); ++it) context[it.key()] = it.value();
  return template_.render(context);
}

}  // namespace vlmrt
