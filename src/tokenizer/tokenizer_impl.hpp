// The loaded pipeline behind vlmrt::tok::Tokenizer (private).
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/added_vocabulary.hpp"
#include "tokenizer/decoders.hpp"
#include "tokenizer/model.hpp"
#include "tokenizer/normalizers.hpp"
#include "tokenizer/pre_tokenizers.hpp"

namespace vlmrt::tok {

struct TokenizerParts {
  std::string source;  // file name for messages
  NormalizerPtr normalizer;
  PreTokenizerPtr pre_tokenizer;
  ModelPtr model;
  PostProcessorPtr post_processor;
  DecoderPtr decoder;
  AddedVocabulary added;
  std::size_t vocab_size = 0;
};

// Parses tokenizer.json text. Format / Unsupported errors name `source` and the field.
TokenizerParts parse_tokenizer_json(std::string_view json_text, const std::string& source);

}  // namespace vlmrt::tok
