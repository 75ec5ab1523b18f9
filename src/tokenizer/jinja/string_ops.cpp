#include "tokenizer/jinja/string_ops.hpp"

#include "core/utf8.hpp"

#include <utf8proc.h>

#include <algorithm>

#include "tokenizer/jinja/value.hpp"

namespace vlmrt::jinja {
namespace {

char32_t upper(char32_t c) {
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
char32_t lower(char32_t c) {
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}
char32_t title(char32_t c) {
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}

bool is_cased_letter(char32_t c) {
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL ||
         category == UTF8PROC_CATEGORY_LT;
}
bool is_letter(char32_t c) {
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_LO;
}

template <typename F>
std::string map_chars(std::string_view s, F f) {
  std::u32string text = utf8::decode(s);
  for (auto& c : text) c = f(c);
  return utf8::encode(text);
}

}  // namespace

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  const std::u32string text = utf8::decode(s);
  const std::u32string set = chars ? utf8::decode(*chars) : std::u32string();
  auto strip = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : py_isspace(c);
  };
  std::size_t begin = 0, end = text.size();
  if (left)
    while (begin < end && strip(text[begin])) ++begin;
  if (right)
    while (end > begin && strip(text[end - 1])) --end;
  return utf8::encode(std::u32string_view(text).substr(begin, end - begin));
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                  bool from_right) {
  std::vector<std::string> out;
  if (sep) {
    if (!from_right) {
      std::size_t pos = 0;
      while (maxsplit < 0 || static_cast<std::int64_t>(out.size()) < maxsplit) {
        const auto at = s.find(*sep, pos);
        if (at == std::string_view::npos) break;
        out.emplace_back(s.substr(pos, at - pos));
        pos = at + sep->size();
      }
      out.emplace_back(s.substr(pos));
      return out;
    }
    std::size_t end = s.size();
    std::int64_t splits = 0;
    while (maxsplit < 0 || splits < maxsplit) {
      if (end < sep->size()) break;
      const auto at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
      ++splits;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  // Whitespace split: runs of whitespace separate, empty strings never appear.
  const std::u32string text = utf8::decode(s);
  std::vector<std::pair<std::size_t, std::size_t>> words;
  for (std::size_t i = 0; i < text.size();) {
    if (py_isspace(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !py_isspace(text[j])) ++j;
    words.emplace_back(i, j);
    i = j;
  }
  if (maxsplit >= 0 && static_cast<std::int64_t>(words.size()) > maxsplit + 1) {
    // The remainder keeps its inner whitespace (trailing whitespace stripped on its far side).
    const auto keep = static_cast<std::size_t>(maxsplit);
    if (!from_right) {
      for (std::size_t k = 0; k < keep; ++k)
        out.push_back(utf8::encode(
            std::u32string_view(text).substr(words[k].first, words[k].second - words[k].first)));
      out.push_back(utf8::encode(std::u32string_view(text).substr(
          words[keep].first, words.back().second - words[keep].first)));
    } else {
      const std::size_t first_kept = words.size() - keep;
      out.push_back(utf8::encode(std::u32string_view(text).substr(
          words[0].first, words[first_kept - 1].second - words[0].first)));
      for (std::size_t k = first_kept; k < words.size(); ++k)
        out.push_back(utf8::encode(
            std::u32string_view(text).substr(words[k].first, words[k].second - words[k].first)));
    }
    return out;
  }
  for (const auto& [a, b] : words)
    out.push_back(utf8::encode(std::u32string_view(text).substr(a, b - a)));
  return out;
}

// Python's upper() uses the full (one-to-many) mappings of SpecialCasing.txt; these are the ones
// likely in chat text (ß and the Latin ligatures). Others map one-to-one through utf8proc.
std::string py_upper(std::string_view s) {
  std::u32string out;
  for (char32_t c : utf8::decode(s)) {
    switch (c) {
      case 0xdf:
        out += U"SS";
        break;
      case 0xfb00:
        out += U"FF";
        break;
      case 0xfb01:
        out += U"FI";
        break;
      case 0xfb02:
        out += U"FL";
        break;
      case 0xfb03:
        out += U"FFI";
        break;
      case 0xfb04:
        out += U"FFL";
        break;
      case 0xfb05:
      case 0xfb06:
        out += U"ST";
        break;
      default:
        out += upper(c);
    }
  }
  return utf8::encode(out);
}
std::string py_lower(std::string_view s) {
  return map_chars(s, lower);
}
std::string py_swapcase(std::string_view s) {
  return map_chars(s, [](char32_t c) { return upper(c) != c ? upper(c) : lower(c); });
}

std::string py_title(std::string_view s) {
  std::u32string text = utf8::decode(s);
  bool previous_cased = false;
  for (auto& c : text) {
    const bool cased = is_cased_letter(c);
    c = previous_cased ? lower(c) : title(c);
    previous_cased = cased;
  }
  return utf8::encode(text);
}

std::string py_capitalize(std::string_view s) {
  std::u32string text = utf8::decode(s);
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = i == 0 ? title(text[i]) : lower(text[i]);
  return utf8::encode(text);
}

std::string jinja_title(std::string_view s) {
  std::u32string text = utf8::decode(s);
  bool word_start = true;
  for (auto& c : text) {
    const bool separator =
        py_isspace(c) || c == U'-' || c == U'(' || c == U'{' || c == U'[' || c == U'<';
    if (separator) {
      word_start = true;
      continue;
    }
    c = word_start ? upper(c) : lower(c);
    word_start = false;
  }
  return utf8::encode(text);
}

std::string py_replace(std::string_view s, std::string_view from, std::string_view to,
                       std::int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between every code point (and at both ends)
    const std::u32string text = utf8::decode(s);
    std::int64_t done = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < text.size()) out += utf8::encode(std::u32string(1, text[i]));
    }
    return out;
  }
  std::size_t pos = 0;
  std::int64_t done = 0;
  while (count < 0 || done < count) {
    const auto at = s.find(from, pos);
    if (at == std::string_view::npos) break;
    out += s.substr(pos, at - pos);
    out += to;
    pos = at + from.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

std::int64_t py_count(std::string_view s, std::string_view needle) {
  if (needle.empty()) return static_cast<std::int64_t>(utf8::decode(s).size()) + 1;
  std::int64_t n = 0;
  for (auto at = s.find(needle); at != std::string_view::npos;
       at = s.find(needle, at + needle.size()))
    ++n;
  return n;
}

bool py_is(std::string_view s, std::string_view predicate) {
  const std::u32string text = utf8::decode(s);
  if (text.empty()) return false;
  if (predicate == "isdigit")
    return std::all_of(text.begin(), text.end(), [](char32_t c) {
      return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
    });
  if (predicate == "isspace") return std::all_of(text.begin(), text.end(), py_isspace);
  if (predicate == "isalpha") return std::all_of(text.begin(), text.end(), is_letter);
  bool any_cased = false;
  for (char32_t c : text) {
    if (!is_cased_letter(c)) continue;
    any_cased = true;
    if (predicate == "isupper" && lower(c) == c && upper(c) != c) return false;
    if (predicate == "islower" && upper(c) == c && lower(c) != c) return false;
  }
  return any_cased;
}

}  // namespace vlmrt::jinja
