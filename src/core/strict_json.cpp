#include "core/strict_json.hpp"

#include <unordered_set>
#include <vector>

#include "vlmrt/errors.hpp"

namespace vlmrt::json {

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;  // allowed range of the second byte (excludes overlongs/surrogates)
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return i;
    }
    if (size - i < length) return i;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k)
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return i;
    i += length;
  }
  return size;
}

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
  const std::size_t bad = find_invalid_utf8(text);
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
