// Decoders and post-processors (tokenizers/src/decoders, tokenizers/src/processors).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/normalizers.hpp"
#include "tokenizer/pre_tokenizers.hpp"
#include "tokenizer/tokenizer.hpp"

namespace vlmrt::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // tokenizers' decode_chain: token strings in, (possibly fewer) strings out.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};
using DecoderPtr = std::unique_ptr<Decoder>;

DecoderPtr make_byte_level_decoder();
DecoderPtr make_metaspace_decoder(std::string replacement, PrependScheme scheme);
DecoderPtr make_byte_fallback_decoder();
DecoderPtr make_fuse_decoder();
DecoderPtr make_strip_decoder(std::string content, std::size_t start, std::size_t stop);
DecoderPtr make_replace_decoder(Pattern pattern, std::string content);
DecoderPtr make_wordpiece_decoder(std::string prefix, bool cleanup);
DecoderPtr make_bpe_decoder(std::string suffix);
DecoderPtr make_decoder_sequence(std::vector<DecoderPtr> steps);

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<TokenId>& ids, bool add_special_tokens) const = 0;
};
using PostProcessorPtr = std::unique_ptr<PostProcessor>;

// The single-sequence template: each entry is either a run of special-token ids or, when
// `is_sequence`, the encoded text.
struct TemplateItem {
  bool is_sequence = false;
  std::vector<TokenId> ids;
};
PostProcessorPtr make_template_processing(std::vector<TemplateItem> single);
PostProcessorPtr make_no_op_processor();
PostProcessorPtr make_post_processor_sequence(std::vector<PostProcessorPtr> steps);

}  // namespace vlmrt::tok
