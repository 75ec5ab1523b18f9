#include "core/utf8.hpp"

namespace vlmrt::utf8 {

namespace {

// Length of the valid sequence at `pos`, or 0 with `maximal_invalid` set to the length of the
// maximal invalid subpart there (Unicode "substitution of maximal subparts").
std::size_t valid_sequence_at(std::string_view text, std::size_t pos,
                              std::size_t& maximal_invalid) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char lead = s[pos];
  maximal_invalid = 1;
  if (lead < 0x80) return 1;
  std::size_t continuation = 0;
  unsigned char low = 0x80;  // allowed range of the second byte (excludes overlongs/surrogates)
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  for (std::size_t i = 1; i <= continuation; ++i) {
    if (pos + i >= text.size()) {
      maximal_invalid = i;
      return 0;
    }
    const unsigned char byte = s[pos + i];
    if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) {
      maximal_invalid = i;
      return 0;
    }
  }
  return continuation + 1;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

}  // namespace

char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char lead = s[pos];
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  const std::size_t length = sequence_length(lead);
  if (pos + length > text.size()) {
    ++pos;
    return 0xFFFD;
  }
  char32_t cp = 0;
  if (length == 2) {
    cp = (lead & 0x1Fu) << 6 | (s[pos + 1] & 0x3Fu);
  } else if (length == 3) {
    cp = (lead & 0x0Fu) << 12 | (s[pos + 1] & 0x3Fu) << 6 | (s[pos + 2] & 0x3Fu);
  } else {
    cp = (lead & 0x07u) << 18 | (s[pos + 1] & 0x3Fu) << 12 | (s[pos + 2] & 0x3Fu) << 6 |
         (s[pos + 3] & 0x3Fu);
  }
  pos += length;
  return cp;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t find_invalid(std::string_view text) noexcept {
  std::size_t pos = 0;
  std::size_t unused = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const std::size_t length = valid_sequence_at(text, pos, unused);
    if (length == 0) return pos;
    pos += length;
  }
  return text.size();
}

std::string to_valid_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  std::size_t invalid = 0;
  while (pos < bytes.size()) {
    const std::size_t length = valid_sequence_at(bytes, pos, invalid);
    if (length == 0) {
      out += kReplacement;
      pos += invalid;
    } else {
      out.append(bytes.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

bool ends_with_replacement_char(std::string_view text) noexcept {
  return text.ends_with(kReplacement);
}

std::u32string decode(std::string_view text) {
  const std::string valid = is_valid(text) ? std::string() : to_valid_lossy(text);
  const std::string_view source = valid.empty() ? text : std::string_view(valid);
  std::u32string out;
  out.reserve(source.size());
  for (std::size_t pos = 0; pos < source.size();) out.push_back(next_code_point(source, pos));
  return out;
}

std::string encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char32_t cp : text) append(out, cp);
  return out;
}

}  // namespace vlmrt::utf8
