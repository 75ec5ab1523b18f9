#include "tokenizer/decoders.hpp"

#include "core/utf8.hpp"

#include <array>

#include "tokenizer/unicode.hpp"

namespace vlmrt::tok {

namespace {

class ByteLevelDecoder final : public Decoder {
 public:
  ByteLevelDecoder() {
    byte_of_.fill(-1);
    for (int b = 0; b < 256; ++b) {
      const std::string& s = byte_level_char(static_cast<unsigned char>(b));
      std::size_t pos = 0;
      byte_of_[utf8::next_code_point(s, pos)] = b;
    }
  }

  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      std::size_t first = bytes.size(), pos = 0;
      bool all_mapped = true;
      while (pos < t.size()) {
        char32_t c = utf8::next_code_point(t, pos);
        if (c >= byte_of_.size() || byte_of_[c] < 0) {
          all_mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(byte_of_[c]));
      }
      if (!all_mapped) {  // a token outside the byte alphabet is kept as its own UTF-8
        bytes.resize(first);
        bytes += t;
      }
    }
    tokens.assign(1, utf8::to_valid_lossy(bytes));
  }

 private:
  std::array<int, 324> byte_of_{};  // the table's code points are all below 324
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, PrependScheme scheme)
      : replacement_(std::move(replacement)), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      // tokenizers drops every replacement char of the first token (the prepended space).
      const char* with = (i == 0 && scheme_ != PrependScheme::kNever) ? "" : " ";
      tokens[i] = Pattern::literal(replacement_).replace_all(tokens[i], with);
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
};

class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    std::size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (utf8::is_valid(pending)) {
        out.push_back(pending);
      } else {
        // One U+FFFD per byte token, not per invalid sequence.
        for (std::size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& t : tokens) {
      int value = byte_token_value(t);
      if (value >= 0) {
        pending.push_back(static_cast<char>(value));
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int byte_token_value(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& t : tokens) joined += t;
    tokens.assign(1, std::move(joined));
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, std::size_t start, std::size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::size_t begin = 0, end = t.size();
      for (std::size_t i = 0; i < start_ && begin < end; ++i) {
        if (t.compare(begin, content_.size(), content_) != 0) break;
        begin += content_.size();
      }
      for (std::size_t i = 0; i < stop_ && end >= begin + content_.size(); ++i) {
        if (t.compare(end - content_.size(), content_.size(), content_) != 0) break;
        end -= content_.size();
      }
      t = t.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  std::size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

std::string prepend_space(const std::string& t) {
  std::string out;
  out.reserve(t.size() + 1);
  out.push_back(' ');
  out += t;
  return out;
}

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t = prepend_space(t);
        }
      }
      if (cleanup_) {
        static const std::array<std::pair<const char*, const char*>, 11> kRules = {{
            {" .", "."},
            {" ?", "?"},
            {" !", "!"},
            {" ,", ","},
            {" ' ", "'"},
            {" n't", "n't"},
            {" 'm", "'m"},
            {" do not", " don't"},
            {" 's", "'s"},
            {" 've", "'ve"},
            {" 're", "'re"},
        }};
        for (const auto& [from, to] : kRules) t = Pattern::literal(from).replace_all(t, to);
      }
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] =
          Pattern::literal(suffix_).replace_all(tokens[i], i + 1 == tokens.size() ? "" : " ");
    }
  }

 private:
  std::string suffix_;
};

class DecoderSequence final : public Decoder {
 public:
  explicit DecoderSequence(std::vector<DecoderPtr> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }

 private:
  std::vector<DecoderPtr> steps_;
};

class TemplateProcessing final : public PostProcessor {
 public:
  explicit TemplateProcessing(std::vector<TemplateItem> single) : single_(std::move(single)) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    std::vector<TokenId> out;
    out.reserve(ids.size() + 4);
    for (const TemplateItem& item : single_) {
      if (item.is_sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), item.ids.begin(), item.ids.end());
      }
    }
    ids = std::move(out);
  }

 private:
  std::vector<TemplateItem> single_;
};

class NoOpProcessor final : public PostProcessor {
 public:
  void process(std::vector<TokenId>&, bool) const override {}
};

class PostProcessorSequence final : public PostProcessor {
 public:
  explicit PostProcessorSequence(std::vector<PostProcessorPtr> steps) : steps_(std::move(steps)) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->process(ids, add_special_tokens);
  }

 private:
  std::vector<PostProcessorPtr> steps_;
};

}  // namespace

DecoderPtr make_byte_level_decoder() {
  return std::make_unique<ByteLevelDecoder>();
}
DecoderPtr make_metaspace_decoder(std::string replacement, PrependScheme scheme) {
  return std::make_unique<MetaspaceDecoder>(std::move(replacement), scheme);
}
DecoderPtr make_byte_fallback_decoder() {
  return std::make_unique<ByteFallbackDecoder>();
}
DecoderPtr make_fuse_decoder() {
  return std::make_unique<FuseDecoder>();
}
DecoderPtr make_strip_decoder(std::string content, std::size_t start, std::size_t stop) {
  return std::make_unique<StripDecoder>(std::move(content), start, stop);
}
DecoderPtr make_replace_decoder(Pattern pattern, std::string content) {
  return std::make_unique<ReplaceDecoder>(std::move(pattern), std::move(content));
}
DecoderPtr make_wordpiece_decoder(std::string prefix, bool cleanup) {
  return std::make_unique<WordPieceDecoder>(std::move(prefix), cleanup);
}
DecoderPtr make_bpe_decoder(std::string suffix) {
  return std::make_unique<BpeDecoder>(std::move(suffix));
}
DecoderPtr make_decoder_sequence(std::vector<DecoderPtr> steps) {
  return std::make_unique<DecoderSequence>(std::move(steps));
}
PostProcessorPtr make_template_processing(std::vector<TemplateItem> single) {
  return std::make_unique<TemplateProcessing>(std::move(single));
}
PostProcessorPtr make_no_op_processor() {
  return std::make_unique<NoOpProcessor>();
}
PostProcessorPtr make_post_processor_sequence(std::vector<PostProcessorPtr> steps) {
  return std::make_unique<PostProcessorSequence>(std::move(steps));
}

}  // namespace vlmrt::tok
