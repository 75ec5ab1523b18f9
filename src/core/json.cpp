#include "core/json.hpp"

#include <fstream>
#include <sstream>

namespace vlmrt::json {

namespace {
std::string_view type_name_of(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "value";
  }
}
}  // namespace

Json parse(std::string_view text, const std::string& source_name) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Format, source_name + ": invalid JSON at byte " +
                                       std::to_string(e.byte) + " (" + e.what() + ")");
  }
}

Json read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(ErrorKind::NotFound, path.string() + ": file not found");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::Io, path.string() + ": cannot read size: " + ec.message());
  if (size > max_bytes)
    throw Error(ErrorKind::LimitExceeded,
                path.string() + ": " + std::to_string(size) + " bytes is larger than the " +
                    std::to_string(max_bytes) + "-byte limit for JSON files");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot open for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Io, path.string() + ": read failed");
  return parse(buffer.str(), path.string());
}

std::string child_where(const std::string& where, std::string_view key) {
  const auto colon = where.find(": ");
  if (colon == std::string::npos) return where + ": " + std::string(key);
  return where + "." + std::string(key);
}

namespace detail {

namespace {
std::string field_label(const std::string& where, std::string_view key) {
  // "config.json: text_config" + "hidden_size" → file "config.json", field
  // "text_config.hidden_size"
  const auto colon = where.find(": ");
  if (colon == std::string::npos) return where + ": field '" + std::string(key) + "'";
  return where.substr(0, colon) + ": field '" + where.substr(colon + 2) + "." + std::string(key) +
         "'";
}
}  // namespace

void throw_missing(const std::string& where, std::string_view key) {
  throw Error(ErrorKind::Format, field_label(where, key) + " is missing");
}

void throw_wrong_type(const std::string& where, std::string_view key, std::string_view expected,
                      const Json& found) {
  std::string shown = found.dump();
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  throw Error(ErrorKind::Format, field_label(where, key) + " must be " + std::string(expected) +
                                     ", found " + std::string(type_name_of(found)) + " " + shown);
}

void throw_not_object(const std::string& where) {
  throw Error(ErrorKind::Format, where + " must be a JSON object");
}

}  // namespace detail
}  // namespace vlmrt::json
