// Incremental detokenization: decode a small window of recent ids twice (without and with the
// new ids) and emit the difference. Both decodes start at the same id, so decoder rules that
// depend on the first token (Metaspace's dropped leading "▁", Strip's leading space) cancel
// out; a window whose text ends in U+FFFD holds an incomplete character and waits.
#include "tokenizer/tokenizer.hpp"

#include "core/utf8.hpp"
#include "tokenizer/unicode.hpp"

namespace vlmrt::tok {

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamingDecoder::push(TokenId id) {
  ids_.push_back(id);
  std::span<const TokenId> all(ids_);
  std::string text = tokenizer_->decode(all.subspan(prefix_offset_), skip_special_tokens_);
  if (utf8::ends_with_replacement_char(text)) return {};
  if (text.size() <= emitted_prefix_text_.size() ||
      text.compare(0, emitted_prefix_text_.size(), emitted_prefix_text_) != 0) {
    return {};
  }
  std::string out = text.substr(emitted_prefix_text_.size());
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  emitted_prefix_text_ = tokenizer_->decode(
      all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_tokens_);
  emitted_text_ += out;
  return out;
}

std::string StreamingDecoder::flush() {
  std::string rest;
  std::string full = tokenizer_->decode(ids_, skip_special_tokens_);
  if (full.compare(0, emitted_text_.size(), emitted_text_) == 0) {
    rest = full.substr(emitted_text_.size());
  } else {
    // Cannot happen for the decoders tokenizers ships; fall back to the window's remainder.
    std::string text = tokenizer_->decode(std::span<const TokenId>(ids_).subspan(prefix_offset_),
                                          skip_special_tokens_);
    if (text.compare(0, emitted_prefix_text_.size(), emitted_prefix_text_) == 0) {
      rest = text.substr(emitted_prefix_text_.size());
    }
  }
  ids_.clear();
  prefix_offset_ = read_offset_ = 0;
  emitted_prefix_text_.clear();
  emitted_text_.clear();
  return rest;
}

}  // namespace vlmrt::tok
