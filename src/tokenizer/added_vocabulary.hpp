// Added tokens (tokenizers/src/tokenizer/added_vocabulary.rs): split out of the text before the
// model sees it. Non-normalized tokens are matched on the raw text first; the remaining pieces
// are normalized and then searched for normalized tokens. Matching is leftmost-longest, then
// single_word / lstrip / rstrip are applied to each match.
#pragma once

#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokenizer/model.hpp"
#include "tokenizer/normalizers.hpp"
#include "tokenizer/pieces.hpp"
#include "tokenizer/tokenizer.hpp"

namespace vlmrt::tok {

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `tokens` carry their final ids. Normalized tokens are matched by their normalized form.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // Splits `text` into pieces: added tokens (Piece::token set) and normalized text.
  void extract_and_normalize(std::string_view text, const Normalizer* normalizer,
                             std::vector<Piece>& out) const;

  const std::vector<AddedToken>& tokens() const noexcept { return tokens_; }
  const AddedToken* find_by_id(TokenId id) const;
  std::optional<TokenId> find_by_content(std::string_view content) const;
  bool is_special_content(std::string_view content) const;

 private:
  // Byte trie with leftmost-longest scanning; each terminal maps to an index in tokens_.
  class Trie {
   public:
    void insert(std::string_view pattern, int token_index);
    // Longest pattern starting at `pos`: its length and token index, or {0, -1}.
    std::pair<std::size_t, int> longest_at(std::string_view text, std::size_t pos) const;
    bool empty() const noexcept { return terminal_.size() <= 1; }

   private:
    std::vector<int> terminal_{-1};  // node → token index or -1
    std::unordered_map<std::uint64_t, int> children_;
    bool first_byte_[256] = {};
  };

  void split_on(const Piece& piece, const Trie& trie, std::vector<Piece>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_content_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> special_contents_;
  Trie raw_trie_;
  Trie normalized_trie_;
};

}  // namespace vlmrt::tok
