#include "tokenizer/pre_tokenizers.hpp"

#include "core/utf8.hpp"

#include <algorithm>

#include "tokenizer/unicode.hpp"

namespace vlmrt::tok {

void emit_split(const Piece& piece, const std::vector<Segment>& segments, SplitBehavior behavior,
                std::vector<Piece>& out) {
  struct Span {
    std::size_t start, end;
    bool remove;
  };
  thread_local std::vector<Span> spans;
  spans.clear();
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Segment& s : segments) spans.push_back({s.start, s.end, false});
      break;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segments) spans.push_back({s.start, s.end, s.is_match});
      break;
    case SplitBehavior::kContiguous:
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !spans.empty()) {
          spans.back().end = s.end;
        } else {
          spans.push_back({s.start, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !spans.empty()) {
          spans.back().end = s.end;
        } else {
          spans.push_back({s.start, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !spans.empty()) {
          spans.back().start = it->start;
        } else {
          spans.push_back({it->start, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(spans.begin(), spans.end());
      break;
  }
  for (const Span& s : spans) {
    if (s.remove || s.start >= s.end) continue;  // empty pieces are dropped
    out.push_back(
        Piece{piece.text.substr(s.start, s.end - s.start), piece.at_origin && s.start == 0, -1});
  }
}

namespace {

// tokenizers' Pattern impl for `Fn(char) -> bool`: every matching char is its own match.
template <typename Pred>
void predicate_segments(std::string_view text, Pred pred, std::vector<Segment>& out) {
  out.clear();
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  std::size_t last = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t start = pos;
    char32_t c = utf8::next_code_point(text, pos);
    if (pred(c)) {
      if (last < start) out.push_back({last, start, false});
      out.push_back({start, pos, true});
      last = pos;
    }
  }
  if (last < text.size()) out.push_back({last, text.size(), false});
}

template <typename Fn>
void for_each_text_piece(std::vector<Piece>& pieces, Fn&& fn) {
  thread_local std::vector<Piece> out;
  out.clear();
  out.reserve(pieces.size() * 2);
  for (Piece& p : pieces) {
    if (p.token >= 0) {
      out.push_back(std::move(p));
    } else {
      fn(p, out);
    }
  }
  pieces.swap(out);
}

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = Pattern::regex(kGpt2Pattern, "ByteLevel pre-tokenizer");
    use_regex_ = use_regex;
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    thread_local std::vector<Segment> segments;
    for_each_text_piece(pieces, [&](Piece& p, std::vector<Piece>& out) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) prepend(p.text, " ");
      std::size_t first = out.size();
      if (use_regex_) {
        regex_.find_segments(p.text, segments);
        emit_split(p, segments, SplitBehavior::kIsolated, out);
      } else if (!p.text.empty()) {
        out.push_back(std::move(p));
      }
      for (std::size_t i = first; i < out.size(); ++i) {
        std::string mapped;
        mapped.reserve(out[i].text.size() * 2);
        for (char c : out[i].text) mapped += byte_level_char(static_cast<unsigned char>(c));
        out[i].text = std::move(mapped);
      }
    });
  }

 private:
  bool add_prefix_space_;
  bool use_regex_ = false;
  Pattern regex_;
};

class Split final : public PreTokenizer {
 public:
  Split(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    thread_local std::vector<Segment> segments;
    for_each_text_piece(pieces, [&](Piece& p, std::vector<Piece>& out) {
      pattern_.find_segments(p.text, segments);
      if (invert_) {
        for (Segment& s : segments) s.is_match = !s.is_match;
      }
      emit_split(p, segments, behavior_, out);
    });
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)),
        space_(Pattern::literal(" ")),
        marker_(Pattern::literal(replacement_)),
        scheme_(scheme),
        split_(split) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    thread_local std::vector<Segment> segments;
    for_each_text_piece(pieces, [&](Piece& p, std::vector<Piece>& out) {
      p.text = space_.replace_all(p.text, replacement_);
      bool starts = p.text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && p.at_origin))) {
        prepend(p.text, replacement_);
      }
      if (split_) {
        marker_.find_segments(p.text, segments);
        emit_split(p, segments, SplitBehavior::kMergedWithNext, out);
      } else if (!p.text.empty()) {
        out.push_back(std::move(p));
      }
    });
  }

 private:
  std::string replacement_;
  Pattern space_;
  Pattern marker_;
  PrependScheme scheme_;
  bool split_;
};

template <typename Pred>
class PredicateSplit final : public PreTokenizer {
 public:
  PredicateSplit(Pred pred, SplitBehavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    thread_local std::vector<Segment> segments;
    for_each_text_piece(pieces, [&](Piece& p, std::vector<Piece>& out) {
      predicate_segments(p.text, pred_, segments);
      emit_split(p, segments, behavior_, out);
    });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

template <typename Pred>
PreTokenizerPtr make_predicate_split(Pred pred, SplitBehavior behavior) {
  return std::make_unique<PredicateSplit<Pred>>(pred, behavior);
}

// Whitespace: the matches of `\w+|[^\w\s]+` are kept, everything else (whitespace) dropped.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    thread_local std::vector<Segment> segments;
    for_each_text_piece(pieces, [&](Piece& p, std::vector<Piece>& out) {
      segments.clear();
      std::string_view text = p.text;
      std::size_t pos = 0;
      int run_kind = -1;  // 0 word, 1 other, 2 space
      std::size_t run_start = 0;
      auto close_run = [&](std::size_t end) {
        if (run_kind >= 0 && end > run_start) segments.push_back({run_start, end, run_kind == 2});
      };
      while (pos < text.size()) {
        std::size_t start = pos;
        char32_t c = utf8::next_code_point(text, pos);
        int kind = unicode::is_word_char(c) ? 0 : unicode::is_whitespace(c) ? 2 : 1;
        if (kind != run_kind) {
          close_run(start);
          run_kind = kind;
          run_start = start;
        }
      }
      close_run(text.size());
      emit_split(p, segments, SplitBehavior::kRemoved, out);
    });
  }
};

class PreTokenizerSequence final : public PreTokenizer {
 public:
  explicit PreTokenizerSequence(std::vector<PreTokenizerPtr> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces);
  }

 private:
  std::vector<PreTokenizerPtr> steps_;
};

}  // namespace

PreTokenizerPtr make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, use_regex);
}
PreTokenizerPtr make_split(Pattern pattern, SplitBehavior behavior, bool invert) {
  return std::make_unique<Split>(std::move(pattern), behavior, invert);
}
PreTokenizerPtr make_metaspace(std::string replacement, PrependScheme scheme, bool split) {
  return std::make_unique<Metaspace>(std::move(replacement), scheme, split);
}
PreTokenizerPtr make_whitespace() {
  return std::make_unique<Whitespace>();
}
PreTokenizerPtr make_whitespace_split() {
  return make_predicate_split([](char32_t c) { return unicode::is_whitespace(c); },
                              SplitBehavior::kRemoved);
}
PreTokenizerPtr make_digits(bool individual) {
  return make_predicate_split([](char32_t c) { return unicode::is_numeric(c); },
                              individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
}
PreTokenizerPtr make_punctuation(SplitBehavior behavior) {
  return make_predicate_split([](char32_t c) { return unicode::is_punctuation(c); }, behavior);
}
PreTokenizerPtr make_bert_pre_tokenizer() {
  std::vector<PreTokenizerPtr> steps;
  steps.push_back(make_whitespace_split());
  steps.push_back(make_punctuation(SplitBehavior::kIsolated));
  return make_pre_tokenizer_sequence(std::move(steps));
}
PreTokenizerPtr make_pre_tokenizer_sequence(std::vector<PreTokenizerPtr> steps) {
  return std::make_unique<PreTokenizerSequence>(std::move(steps));
}

}  // namespace vlmrt::tok
