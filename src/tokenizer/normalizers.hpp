// Normalizers (tokenizers/src/normalizers): they rewrite one piece of text in place. Offsets
// are not tracked: vlmrt only needs ids.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/pieces.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/unicode.hpp"

namespace vlmrt::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

using NormalizerPtr = std::unique_ptr<Normalizer>;

// A string or regex pattern as tokenizer.json writes it ({"String": ..} or {"Regex": ..}).
class Pattern {
 public:
  static Pattern literal(std::string text);
  static Pattern regex(std::string_view pattern, const std::string& context);
  // Full cover of `text` with matches flagged (tokenizers' Pattern::find_matches).
  void find_segments(std::string_view text, std::vector<Segment>& out) const;
  // Replaces every match with `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<Regex> regex_;
};

NormalizerPtr make_unicode_normalizer(unicode::NormalForm form);
NormalizerPtr make_lowercase();
NormalizerPtr make_replace(Pattern pattern, std::string content);
NormalizerPtr make_prepend(std::string prefix);
NormalizerPtr make_strip(bool left, bool right);
NormalizerPtr make_strip_accents();
NormalizerPtr make_byte_level_normalizer();
NormalizerPtr make_bert_normalizer(bool clean_text, bool handle_chinese_chars,
                                   std::optional<bool> strip_accents, bool lowercase);
NormalizerPtr make_normalizer_sequence(std::vector<NormalizerPtr> steps);

// The GPT-2 byte↔char table ByteLevel uses: every byte maps to a printable code point.
const std::string& byte_level_char(unsigned char byte);

}  // namespace vlmrt::tok
