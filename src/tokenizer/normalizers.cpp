#include "tokenizer/normalizers.hpp"

#include "core/utf8.hpp"

#include <array>

#include "tokenizer/pieces.hpp"

namespace vlmrt::tok {

Pattern Pattern::literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

Pattern Pattern::regex(std::string_view pattern, const std::string& context) {
  Pattern p;
  p.regex_ = std::make_shared<Regex>(pattern, context);
  return p;
}

void Pattern::find_segments(std::string_view text, std::vector<Segment>& out) const {
  out.clear();
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  std::size_t prev = 0;
  auto add = [&](std::size_t start, std::size_t end) {
    if (prev != start) out.push_back({prev, start, false});
    out.push_back({start, end, true});
    prev = end;
  };
  if (regex_) {
    thread_local std::vector<std::pair<std::size_t, std::size_t>> matches;
    matches.clear();
    regex_->find_all(text, matches);
    for (auto [s, e] : matches) add(s, e);
  } else if (!literal_.empty()) {
    std::size_t pos = 0;
    while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
      add(pos, pos + literal_.size());
      pos += literal_.size();
    }
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
}

std::string Pattern::replace_all(std::string_view text, std::string_view content) const {
  if (!regex_) {
    if (literal_.empty() || text.find(literal_) == std::string_view::npos) {
      return std::string(text);
    }
  }
  thread_local std::vector<Segment> segments;
  find_segments(text, segments);
  std::string out;
  out.reserve(text.size() + 16);
  for (const Segment& s : segments) {
    if (s.is_match) {
      out += content;
    } else {
      out.append(text.substr(s.start, s.end - s.start));
    }
  }
  return out;
}

namespace {

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { text = unicode::normalize(text, form_); }

 private:
  unicode::NormalForm form_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(std::string& text) const override { text = unicode::to_lowercase(text); }
};

class Replace final : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) prepend(text, prefix_);
  }

 private:
  std::string prefix_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        std::size_t pos = begin;
        if (!unicode::is_whitespace(utf8::next_code_point(text, pos))) break;
        begin = pos;
      }
    }
    if (right_) {
      while (end > begin) {
        std::size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        std::size_t pos = start;
        if (!unicode::is_whitespace(utf8::next_code_point(text, pos))) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class StripAccents final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t start = pos;
      char32_t c = utf8::next_code_point(text, pos);
      if (!unicode::is_combining_mark(c)) out.append(text, start, pos - start);
    }
    text = std::move(out);
  }
};

class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size() * 2);
    for (char c : text) out += byte_level_char(static_cast<unsigned char>(c));
    text = std::move(out);
  }
};

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, std::optional<bool> strip_accents,
                 bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        // tokenizers: strip_accents unset follows lowercase.
        strip_accents_(strip_accents.value_or(lowercase)),
        lowercase_(lowercase) {}

  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t start = pos;
      char32_t c = utf8::next_code_point(text, pos);
      if (clean_text_) {
        if (c == 0 || c == 0xFFFD || unicode::is_control(c)) continue;
        if (unicode::is_whitespace(c)) {
          out.push_back(' ');
          continue;
        }
      }
      if (handle_chinese_chars_ && unicode::is_chinese_char(c)) {
        out.push_back(' ');
        out.append(text, start, pos - start);
        out.push_back(' ');
        continue;
      }
      out.append(text, start, pos - start);
    }
    if (strip_accents_) {
      out = unicode::normalize(out, unicode::NormalForm::kNfd);
      StripAccents().normalize(out);
    }
    if (lowercase_) out = unicode::to_lowercase(out);
    text = std::move(out);
  }

 private:
  bool clean_text_, handle_chinese_chars_, strip_accents_, lowercase_;
};

class NormalizerSequence final : public Normalizer {
 public:
  explicit NormalizerSequence(std::vector<NormalizerPtr> steps) : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<NormalizerPtr> steps_;
};

std::array<std::string, 256> build_byte_table() {
  // Printable bytes map to themselves; the rest to 256, 257, ... in byte order (GPT-2).
  std::array<std::string, 256> table;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    utf8::append(table[b], printable ? static_cast<char32_t>(b) : next++);
  }
  return table;
}

}  // namespace

const std::string& byte_level_char(unsigned char byte) {
  static const std::array<std::string, 256> table = build_byte_table();
  return table[byte];
}

NormalizerPtr make_unicode_normalizer(unicode::NormalForm form) {
  return std::make_unique<UnicodeNormalizer>(form);
}
NormalizerPtr make_lowercase() {
  return std::make_unique<Lowercase>();
}
NormalizerPtr make_replace(Pattern pattern, std::string content) {
  return std::make_unique<Replace>(std::move(pattern), std::move(content));
}
NormalizerPtr make_prepend(std::string prefix) {
  return std::make_unique<Prepend>(std::move(prefix));
}
NormalizerPtr make_strip(bool left, bool right) {
  return std::make_unique<Strip>(left, right);
}
NormalizerPtr make_strip_accents() {
  return std::make_unique<StripAccents>();
}
NormalizerPtr make_byte_level_normalizer() {
  return std::make_unique<ByteLevelNormalizer>();
}
NormalizerPtr make_bert_normalizer(bool clean_text, bool handle_chinese_chars,
                                   std::optional<bool> strip_accents, bool lowercase) {
  return std::make_unique<BertNormalizer>(clean_text, handle_chinese_chars, strip_accents,
                                          lowercase);
}
NormalizerPtr make_normalizer_sequence(std::vector<NormalizerPtr> steps) {
  return std::make_unique<NormalizerSequence>(std::move(steps));
}

}  // namespace vlmrt::tok
