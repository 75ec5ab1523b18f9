// UTF-8 encoding, decoding and validation shared by the file parsers, the tokenizer and the
// template engine. Validation follows the Unicode standard (no overlongs, surrogates or code
// points above U+10FFFF); lossy decoding replaces each maximal invalid subpart with U+FFFD, as
// Rust's String::from_utf8_lossy and a WHATWG TextDecoder do.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vlmrt::utf8 {

// Byte length of the sequence that starts with `lead` (1 for ASCII and stray bytes).
inline std::size_t sequence_length(unsigned char lead) noexcept {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes the code point at `pos` of valid UTF-8 and advances `pos` past it (a sequence cut off
// by the end of `text` gives U+FFFD and advances one byte).
char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept;
void append(std::string& out, char32_t code_point);

// Offset of the first byte that does not start a valid sequence; text.size() when all is valid.
std::size_t find_invalid(std::string_view text) noexcept;
inline bool is_valid(std::string_view text) noexcept {
  return find_invalid(text) == text.size();
}

std::string to_valid_lossy(std::string_view bytes);
bool ends_with_replacement_char(std::string_view text) noexcept;

// Whole-string conversions; decode() is lossy like to_valid_lossy().
std::u32string decode(std::string_view text);
std::string encode(std::u32string_view text);

}  // namespace vlmrt::utf8
