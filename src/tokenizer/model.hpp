// Tokenization models (tokenizers/src/models): map one pre-tokenized piece to ids, and hold the
// model vocabulary.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace vlmrt::tok {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// 64-bit string hash for the vocabulary tables (fast on short tokens).
std::uint64_t hash_bytes(std::string_view s) noexcept;

// Vocabulary with both directions; ids are checked (non-negative, unique, bounded). Token bytes
// live in one arena and the index is open-addressed: a 262k-entry vocabulary loads in tens of
// milliseconds, where node-based maps cost hundreds.
class VocabTable {
 public:
  // Throws Format naming `context` on duplicate tokens or ids, or ids far beyond the count.
  VocabTable(const std::vector<std::pair<std::string_view, TokenId>>& entries,
             const std::string& context);
  VocabTable() = default;

  std::optional<TokenId> find(std::string_view token) const noexcept;
  std::optional<std::string_view> token(TokenId id) const noexcept {
    if (id < 0 || static_cast<std::size_t>(id) >= by_id_.size()) return std::nullopt;
    const Span& s = by_id_[static_cast<std::size_t>(id)];
    if (s.length == kAbsent) return std::nullopt;
    return std::string_view(arena_).substr(s.offset, s.length);
  }
  std::size_t size() const noexcept { return count_; }

 private:
  static constexpr std::uint32_t kAbsent = ~std::uint32_t{0};
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = kAbsent;
  };
  struct Slot {
    std::uint32_t hash = 0;
    TokenId id = -1;
  };
  std::string arena_;
  std::vector<Span> by_id_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `piece` (non-empty, valid UTF-8) to `out`.
  virtual void tokenize(std::string_view piece, std::vector<TokenId>& out) const = 0;
  virtual const VocabTable& vocab() const = 0;
};

using ModelPtr = std::unique_ptr<Model>;

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

// `merges` in rank order. Throws Format when a merge names a token missing from the vocab.
ModelPtr make_bpe(VocabTable vocab,
                  const std::vector<std::pair<std::string_view, std::string_view>>& merges,
                  BpeOptions options, const std::string& context);

ModelPtr make_wordpiece(VocabTable vocab, std::string unk_token, std::string prefix,
                        std::size_t max_input_chars_per_word, const std::string& context);

}  // namespace vlmrt::tok
