#include "models/tokenizer_config.hpp"

#include <fstream>
#include <sstream>

namespace vlmrt {

namespace {

constexpr std::uintmax_t kMaxTemplateBytes = 4u << 20;  // real templates are a few kB

// "..." or {"content": "...", ...}; null or absent → nullopt.
std::optional<std::string> token_string(const json::Json& object, std::string_view key,
                                        const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return json::get<std::string>(*it, "content", json::child_where(where, key));
  json::detail::throw_wrong_type(where, key, "a string or an object with \"content\"", *it);
}

std::optional<std::string> template_from(const json::Json& object, const std::string& where) {
  const auto it = object.find("chat_template");
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array() && !it->empty()) {
    const json::Json* chosen = nullptr;
    for (const auto& entry : *it) {
      if (!entry.is_object()) break;
      if (json::get_or<std::string>(entry, "name", "", json::child_where(where, "chat_template")) ==
          "default") {
        chosen = &entry;
        break;
      }
    }
    if (chosen == nullptr && it->front().is_object()) chosen = &it->front();
    if (chosen != nullptr)
      return json::get<std::string>(*chosen, "template", json::child_where(where, "chat_template"));
  }
  json::detail::throw_wrong_type(where, "chat_template",
                                 "a string or a list of {\"name\", \"template\"} objects", *it);
}

std::string read_text(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::Io, path.string() + ": cannot read size: " + ec.message());
  if (size > kMaxTemplateBytes)
    throw Error(ErrorKind::LimitExceeded,
                path.string() + ": " + std::to_string(size) + " bytes is larger than the " +
                    std::to_string(kMaxTemplateBytes) + "-byte limit for chat templates");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot open for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Io, path.string() + ": read failed");
  return buffer.str();
}

}  // namespace

std::string_view chat_template_source_name(ChatTemplateSource source) noexcept {
  switch (source) {
    case ChatTemplateSource::None:
      return "none";
    case ChatTemplateSource::JinjaFile:
      return "chat_template.jinja";
    case ChatTemplateSource::JsonFile:
      return "chat_template.json";
    case ChatTemplateSource::TokenizerConfig:
      return "tokenizer_config.json";
  }
  return "?";
}

TokenizerConfig TokenizerConfig::from_json(const json::Json& object, const std::string& where) {
  if (!object.is_object()) json::detail::throw_not_object(where);
  TokenizerConfig t;
  t.has_tokenizer_config = true;
  t.bos_token = token_string(object, "bos_token", where);
  t.eos_token = token_string(object, "eos_token", where);
  t.pad_token = token_string(object, "pad_token", where);
  t.unk_token = token_string(object, "unk_token", where);
  t.add_bos_token = json::get_optional<bool>(object, "add_bos_token", where);
  t.add_eos_token = json::get_optional<bool>(object, "add_eos_token", where);
  t.tokenizer_class = json::get_optional<std::string>(object, "tokenizer_class", where);
  if (auto chat = template_from(object, where)) {
    t.chat_template = std::move(*chat);
    t.chat_template_source = ChatTemplateSource::TokenizerConfig;
  }
  return t;
}

TokenizerConfig TokenizerConfig::load(const std::filesystem::path& model_dir) {
  std::error_code ec;
  TokenizerConfig t;
  const auto config_path = model_dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path, ec))
    t = from_json(json::read_file(config_path), config_path.string());

  const auto jinja_path = model_dir / "chat_template.jinja";
  const auto json_path = model_dir / "chat_template.json";
  if (std::filesystem::exists(jinja_path, ec)) {
    t.chat_template = read_text(jinja_path);
    t.chat_template_source = ChatTemplateSource::JinjaFile;
  } else if (std::filesystem::exists(json_path, ec)) {
    const auto object = json::read_file(json_path);
    if (!object.is_object()) json::detail::throw_not_object(json_path.string());
    auto chat = template_from(object, json_path.string());
    if (!chat) json::detail::throw_missing(json_path.string(), "chat_template");
    t.chat_template = std::move(*chat);
    t.chat_template_source = ChatTemplateSource::JsonFile;
  }
  return t;
}

}  // namespace vlmrt
