#include "models/generation_config.hpp"

#include <cmath>
#include <limits>

namespace vlmrt {

namespace {

std::string field_label(const std::string& where, std::string_view key) {
  return where + ": field '" + std::string(key) + "'";
}

[[noreturn]] void out_of_range(const std::string& where, std::string_view key,
                               const std::string& expected, double found) {
  std::string shown = std::to_string(found);
  throw Error(ErrorKind::Format,
              field_label(where, key) + " must be " + expected + ", found " + shown);
}

std::optional<std::int64_t> non_negative_id(const json::Json& object, std::string_view key,
                                            const std::string& where) {
  const auto value = json::get_optional<std::int64_t>(object, key, where);
  if (value && *value < 0)
    out_of_range(where, key, "a non-negative token id", static_cast<double>(*value));
  return value;
}

}  // namespace

GenerationConfig GenerationConfig::from_json(const json::Json& object, const std::string& where) {
  if (!object.is_object()) json::detail::throw_not_object(where);
  GenerationConfig g;
  g.bos_token_id = non_negative_id(object, "bos_token_id", where);
  g.pad_token_id = non_negative_id(object, "pad_token_id", where);
  if (const auto it = object.find("eos_token_id"); it != object.end() && !it->is_null()) {
    if (it->is_array()) {
      for (const auto& element : *it) {
        if (!element.is_number_integer() || element.get<std::int64_t>() < 0)
          json::detail::throw_wrong_type(where, "eos_token_id", "a token id or a list of token ids",
                                         *it);
        g.eos_token_ids.push_back(element.get<std::int64_t>());
      }
    } else {
      g.eos_token_ids.push_back(*non_negative_id(object, "eos_token_id", where));
    }
  }
  g.max_length = json::get_optional<std::int64_t>(object, "max_length", where);
  if (g.max_length && *g.max_length <= 0)
    out_of_range(where, "max_length", "a positive integer", static_cast<double>(*g.max_length));
  g.max_new_tokens = json::get_optional<std::int64_t>(object, "max_new_tokens", where);
  if (g.max_new_tokens && *g.max_new_tokens <= 0)
    out_of_range(where, "max_new_tokens", "a positive integer",
                 static_cast<double>(*g.max_new_tokens));
  g.do_sample = json::get_optional<bool>(object, "do_sample", where);
  g.temperature = json::get_optional<double>(object, "temperature", where);
  if (g.temperature && !(*g.temperature >= 0.0 && std::isfinite(*g.temperature)))
    out_of_range(where, "temperature", "a finite number >= 0", *g.temperature);
  g.top_k = json::get_optional<std::int64_t>(object, "top_k", where);
  if (g.top_k && *g.top_k < 0)
    out_of_range(where, "top_k", "an integer >= 0", static_cast<double>(*g.top_k));
  g.top_p = json::get_optional<double>(object, "top_p", where);
  if (g.top_p && !(*g.top_p > 0.0 && *g.top_p <= 1.0))
    out_of_range(where, "top_p", "in (0, 1]", *g.top_p);
  g.repetition_penalty = json::get_optional<double>(object, "repetition_penalty", where);
  if (g.repetition_penalty &&
      !(*g.repetition_penalty > 0.0 && std::isfinite(*g.repetition_penalty)))
    out_of_range(where, "repetition_penalty", "a positive finite number", *g.repetition_penalty);
  return g;
}

GenerationConfig GenerationConfig::load(const std::filesystem::path& file) {
  return from_json(json::read_file(file), file.string());
}

}  // namespace vlmrt
