#include "core/strict_json.hpp"

#include <unordered_set>
#include <vector>

#include "core/utf8.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::json {

namespace {

struct Level {
  bool is_object = false;
  std::unordered_set<std::string> keys;
  std::string last_key;
};

std::string key_path(const std::vector<Level>& levels) {
  std::string path;
  for (const auto& level : levels) {
    if (!level.is_object) continue;
    if (!path.empty()) path += '.';
    path += level.last_key;
  }
  if (path.size() > 200) path = path.substr(0, 197) + "...";
  return path;
}

}  // namespace

Json parse_strict(std::string_view text, const std::string& source, std::string_view what,
                  std::size_t max_depth) {
  const std::size_t bad = utf8::find_invalid(text);
  if (bad != text.size())
    throw Error(ErrorKind::Format, source + ": " + std::string(what) +
                                       " is not valid UTF-8 (bad byte at offset " +
                                       std::to_string(bad) + ")");
  std::vector<Level> levels;
  const Json::parser_callback_t check = [&](int /*depth*/, Json::parse_event_t event,
                                            Json& parsed) -> bool {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (levels.size() >= max_depth)
          throw Error(ErrorKind::Format, source + ": " + std::string(what) + " nests deeper than " +
                                             std::to_string(max_depth) + " levels");
        levels.push_back(Level{event == Json::parse_event_t::object_start, {}, {}});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!levels.empty()) levels.pop_back();
        break;
      case Json::parse_event_t::key: {
        if (levels.empty()) break;  // keys only occur inside objects; defensive
        Level& level = levels.back();
        level.last_key = parsed.get<std::string>();
        if (!level.keys.insert(level.last_key).second)
          throw Error(ErrorKind::Format, source + ": " + std::string(what) + " has the key '" +
                                             key_path(levels) + "' twice");
        break;
      }
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), check);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorKind::Format, source + ": " + std::string(what) +
                                       " is not valid JSON (at byte " + std::to_string(e.byte) +
                                       ": " + e.what() + ")");
  } catch (const nlohmann::json::exception& e) {
    // e.g. out_of_range 406: a number too large for a double ("1e999").
    throw Error(ErrorKind::Format,
                source + ": " + std::string(what) + " is not valid JSON (" + e.what() + ")");
  }
}

}  // namespace vlmrt::json
