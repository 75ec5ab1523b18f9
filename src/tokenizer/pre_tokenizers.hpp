// Pre-tokenizers (tokenizers/src/pre_tokenizers): split pieces into smaller pieces that the
// model tokenizes independently. Pieces holding an added token pass through untouched.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/normalizers.hpp"
#include "tokenizer/pieces.hpp"

namespace vlmrt::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Rewrites `pieces` (token pieces are kept as they are).
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

using PreTokenizerPtr = std::unique_ptr<PreTokenizer>;

enum class PrependScheme { kAlways, kFirst, kNever };

PreTokenizerPtr make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
PreTokenizerPtr make_split(Pattern pattern, SplitBehavior behavior, bool invert);
PreTokenizerPtr make_metaspace(std::string replacement, PrependScheme scheme, bool split);
PreTokenizerPtr make_whitespace();
PreTokenizerPtr make_whitespace_split();
PreTokenizerPtr make_digits(bool individual);
PreTokenizerPtr make_punctuation(SplitBehavior behavior);
PreTokenizerPtr make_bert_pre_tokenizer();
PreTokenizerPtr make_pre_tokenizer_sequence(std::vector<PreTokenizerPtr> steps);

}  // namespace vlmrt::tok
