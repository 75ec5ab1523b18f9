// The Unicode predicates the tokenizer pipeline needs, matching the Rust
// `char` methods that Hugging Face `tokenizers` calls (is_whitespace, is_numeric, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vlmrt::tok::unicode {

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
