#include "tokenizer/added_vocabulary.hpp"

#include "core/utf8.hpp"

#include <algorithm>

#include "tokenizer/unicode.hpp"

namespace vlmrt::tok {

void AddedVocabulary::Trie::insert(std::string_view pattern, int token_index) {
  if (pattern.empty()) return;
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
  int node = 0;
  for (char c : pattern) {
    std::uint64_t key = static_cast<std::uint64_t>(node) << 8 | static_cast<unsigned char>(c);
    auto it = children_.find(key);
    if (it == children_.end()) {
      int child = static_cast<int>(terminal_.size());
      terminal_.push_back(-1);
      children_.emplace(key, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  // The first pattern with this content wins, as in an Aho-Corasick automaton.
  if (terminal_[node] < 0) terminal_[node] = token_index;
}

std::pair<std::size_t, int> AddedVocabulary::Trie::longest_at(std::string_view text,
                                                              std::size_t pos) const {
  if (!first_byte_[static_cast<unsigned char>(text[pos])]) return {0, -1};
  int node = 0;
  std::pair<std::size_t, int> best{0, -1};
  for (std::size_t i = pos; i < text.size(); ++i) {
    std::uint64_t key = static_cast<std::uint64_t>(node) << 8 | static_cast<unsigned char>(text[i]);
    auto it = children_.find(key);
    if (it == children_.end()) break;
    node = it->second;
    if (terminal_[node] >= 0) best = {i + 1 - pos, terminal_[node]};
  }
  return best;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    by_id_[t.id] = i;  // the last token with an id describes it, as added_tokens_map_r does
    by_content_.emplace(t.content, i);
    if (t.special) special_contents_.insert(t.content);
  }
  // tokenizers builds its matchers from the special tokens first, then the others.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& t = tokens_[i];
      if (t.special != (pass == 0) || t.content.empty()) continue;
      if (t.normalized) {
        std::string pattern = t.content;
        if (normalizer != nullptr) normalizer->normalize(pattern);
        normalized_trie_.insert(pattern, static_cast<int>(by_id_[t.id]));
      } else {
        raw_trie_.insert(t.content, static_cast<int>(by_id_[t.id]));
      }
    }
  }
}

const AddedToken* AddedVocabulary::find_by_id(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<TokenId> AddedVocabulary::find_by_content(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

bool AddedVocabulary::is_special_content(std::string_view content) const {
  return special_contents_.find(content) != special_contents_.end();
}

namespace {

char32_t last_char(std::string_view text) {
  std::size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return utf8::next_code_point(text, start);
}

// Start of the whitespace run that ends `text` (regex `\s*$`).
std::size_t trailing_space_start(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    std::size_t pos = start;
    if (!unicode::is_whitespace(utf8::next_code_point(text, pos))) break;
    end = start;
  }
  return end;
}

// Length of the whitespace run that starts `text` (regex `^\s*`).
std::size_t leading_space_length(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t next = pos;
    if (!unicode::is_whitespace(utf8::next_code_point(text, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

void AddedVocabulary::split_on(const Piece& piece, const Trie& trie,
                               std::vector<Piece>& out) const {
  std::string_view text = piece.text;
  if (text.empty()) return;
  if (trie.empty()) {
    out.push_back(piece);
    return;
  }
  std::size_t start_offset = 0;
  auto emit_text = [&](std::size_t from, std::size_t to) {
    if (from < to) {
      out.push_back(
          Piece{std::string(text.substr(from, to - from)), piece.at_origin && from == 0, -1});
    }
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto [length, index] = trie.longest_at(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    std::size_t start = pos, stop = pos + length;
    pos = stop;  // matches never overlap, even the ones discarded below
    const AddedToken& token = tokens_[static_cast<std::size_t>(index)];
    if (token.single_word) {
      bool start_ok = start == 0 || !unicode::is_word_char(last_char(text.substr(0, start)));
      std::size_t after = stop;
      bool stop_ok =
          stop == text.size() || !unicode::is_word_char(utf8::next_code_point(text, after));
      if (!start_ok || !stop_ok) continue;
    }
    if (token.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (token.rstrip) stop += leading_space_length(text.substr(stop));
    emit_text(start_offset, start);
    out.push_back(Piece{std::string(text.substr(start, stop - start)),
                        piece.at_origin && start == 0, token.id});
    start_offset = stop;
  }
  emit_text(start_offset, text.size());
}

void AddedVocabulary::extract_and_normalize(std::string_view text, const Normalizer* normalizer,
                                            std::vector<Piece>& out) const {
  out.clear();
  thread_local std::vector<Piece> raw;
  raw.clear();
  split_on(Piece{std::string(text), true, -1}, raw_trie_, raw);
  for (Piece& p : raw) {
    if (p.token >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    if (normalizer != nullptr) normalizer->normalize(p.text);
    split_on(p, normalized_trie_, out);
  }
}

}  // namespace vlmrt::tok
