// UTF-8 helpers and the Unicode predicates the tokenizer pipeline needs, matching the Rust
// `char` methods that Hugging Face `tokenizers` calls (is_whitespace, is_numeric, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vlmrt::tok::unicode {

// Decodes the code point at `pos` of valid UTF-8 and advances `pos` past it.
char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept;
// Byte length of the UTF-8 sequence that starts with `lead` (1 for stray bytes).
inline std::size_t sequence_length(unsigned char lead) noexcept {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
void append_utf8(std::string& out, char32_t cp);

bool is_valid_utf8(std::string_view text) noexcept;
// Replaces each maximal invalid subsequence with U+FFFD, as Rust's String::from_utf8_lossy and
// a WHATWG TextDecoder do.
std::string to_valid_utf8_lossy(std::string_view bytes);
// True when `text` ends with U+FFFD (an incomplete or invalid sequence after lossy decoding).
bool ends_with_replacement_char(std::string_view text) noexcept;

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c) noexcept;
// Rust char::is_numeric (general categories Nd, Nl, No).
bool is_numeric(char32_t c) noexcept;
// Rust char::is_ascii_punctuation || unicode general category P*.
bool is_punctuation(char32_t c) noexcept;
// Rust regex's \w: alphabetic, marks, decimal digits, connector punctuation, joiners.
bool is_word_char(char32_t c) noexcept;
// StripAccents' test: general category Mn.
bool is_combining_mark(char32_t c) noexcept;
// Control characters as BertNormalizer sees them (Cc, Cf, Co except \t \n \r).
bool is_control(char32_t c) noexcept;
bool is_chinese_char(char32_t c) noexcept;

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
std::string normalize(std::string_view text, NormalForm form);
// Rust str::to_lowercase applied char by char (full mapping, no final-sigma context).
std::string to_lowercase(std::string_view text);

}  // namespace vlmrt::tok::unicode
