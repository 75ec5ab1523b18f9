// A Hugging Face tokenizer.json implementation: the same ids and the same decoded text as the
// Rust `tokenizers` library, with no Python or Rust at run time.
//
// Pipeline (as in `tokenizers`): added/special tokens are split out first, the rest is
// normalized, pre-tokenized into pieces, each piece is tokenized by the model (BPE, WordPiece,
// Unigram), then the post-processor adds template tokens (BOS/EOS) when asked. Decoding maps ids
// back to tokens and runs the decoder chain.
//
// Unknown components in the file are rejected at load time with an Unsupported error naming
// the component (e.g. "tokenizer.json: normalizer type 'Precompiled' is not supported").
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vlmrt::tok {

using TokenId = std::int32_t;

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

class Tokenizer {
 public:
  // Loads tokenizer.json. NotFound / Format / Unsupported errors name the file and component.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_json(std::string_view json_text, const std::string& source_name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text → ids. Invalid UTF-8 in `text` is first replaced by U+FFFD per maximal invalid
  // subsequence (what a lossy UTF-8 decode gives a Python or JS caller). With
  // add_special_tokens, the post-processor's template tokens (e.g. <bos>) are added.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = true) const;
  // Ids → text through the decoder chain; ids outside the vocabulary are skipped as HF does.
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(TokenId id) const;
  // The number of ids the tokenizer knows: model vocabulary plus added tokens.
  std::size_t vocab_size() const noexcept;
  bool is_special(TokenId id) const noexcept;
  const std::vector<AddedToken>& added_tokens() const noexcept;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class StreamingDecoder;
};

// Token-by-token detokenization for streaming output: each push returns the text that became
// final with this token, never a partial UTF-8 character, and the concatenation of all pushes
// plus flush() equals decode() of all ids.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(TokenId id);
  // Returns the rest of the text and resets the decoder for a new stream.
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  std::vector<TokenId> ids_;
  std::size_t prefix_offset_ = 0;    // ids_[prefix_offset_..] are not yet fully emitted
  std::string emitted_prefix_text_;  // decode(ids_[prefix_offset_, read_offset_))
  std::size_t read_offset_ = 0;      // ids_[..read_offset_] are emitted
  std::string emitted_text_;         // everything push() returned since the last flush
};

}  // namespace vlmrt::tok
