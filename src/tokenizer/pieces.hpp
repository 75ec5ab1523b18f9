// The unit the encode pipeline passes between stages: a span of (normalized) text, or an added
// token already resolved to an id.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace vlmrt::tok {

struct Piece {
  std::string text;
  // True when the piece starts at byte 0 of the original input (Metaspace prepend_scheme
  // "first" prepends only there — tokenizers checks offsets_original().0 == 0).
  bool at_origin = false;
  TokenId token = -1;  // >= 0: an added token, skipped by normalizers and pre-tokenizers
};

// s = prefix + s (std::string::insert(0, ..) trips GCC 12's -Wrestrict false positive).
inline void prepend(std::string& s, std::string_view prefix) {
  std::string out;
  out.reserve(prefix.size() + s.size());
  out.append(prefix);
  out.append(s);
  s = std::move(out);
}

// How a split pattern's matches become pieces (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Segment {
  std::size_t start;
  std::size_t end;
  bool is_match;
};

// Turns the full cover of `piece.text` by `segments` into pieces per `behavior`, dropping empty
// pieces as PreTokenizedString::split does.
void emit_split(const Piece& piece, const std::vector<Segment>& segments, SplitBehavior behavior,
                std::vector<Piece>& out);

}  // namespace vlmrt::tok
