// WordPiece (tokenizers/src/models/wordpiece): greedy longest-match-first; a piece with any
// part missing from the vocabulary becomes a single unk token.
#include "tokenizer/model.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::tok {

namespace {

class WordPiece final : public Model {
 public:
  WordPiece(VocabTable vocab, std::string unk_token, std::string prefix, std::size_t max_chars,
            const std::string& context)
      : vocab_(std::move(vocab)), prefix_(std::move(prefix)), max_chars_(max_chars) {
    auto unk = vocab_.find(unk_token);
    if (!unk) {
      throw Error(ErrorKind::Format,
                  context + ": model.unk_token '" + unk_token + "' is not in model.vocab");
    }
    unk_id_ = *unk;
  }

  const VocabTable& vocab() const override { return vocab_; }

  void tokenize(std::string_view piece, std::vector<TokenId>& out) const override {
    std::size_t chars = 0;
    for (char c : piece) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (chars > max_chars_) {
      out.push_back(unk_id_);
      return;
    }
    std::size_t first = out.size();
    std::size_t start = 0;
    std::string candidate;
    while (start < piece.size()) {
      std::size_t end = piece.size();
      bool found = false;
      while (start < end) {
        candidate.clear();
        if (start > 0) candidate += prefix_;
        candidate.append(piece.substr(start, end - start));
        if (auto id = vocab_.find(candidate)) {
          out.push_back(*id);
          found = true;
          break;
        }
        --end;  // step back one whole char
        while (end > start && (static_cast<unsigned char>(piece[end]) & 0xC0) == 0x80) --end;
      }
      if (!found) {
        out.resize(first);
        out.push_back(unk_id_);
        return;
      }
      start = end;
    }
  }

 private:
  VocabTable vocab_;
  std::string prefix_;
  std::size_t max_chars_;
  TokenId unk_id_ = 0;
};

}  // namespace

ModelPtr make_wordpiece(VocabTable vocab, std::string unk_token, std::string prefix,
                        std::size_t max_input_chars_per_word, const std::string& context) {
  return std::make_unique<WordPiece>(std::move(vocab), std::move(unk_token), std::move(prefix),
                                     max_input_chars_per_word, context);
}

}  // namespace vlmrt::tok
