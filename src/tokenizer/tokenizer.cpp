#include "tokenizer/tokenizer.hpp"

#include "core/utf8.hpp"

#include <fstream>
#include <sstream>

#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/unicode.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::tok {

struct Tokenizer::Impl : TokenizerParts {
  explicit Impl(TokenizerParts parts) : TokenizerParts(std::move(parts)) {}

  // The token string decode() feeds the decoder for `id`, or null for unknown / skipped ids.
  std::optional<std::string_view> decode_token(TokenId id, bool skip_special_tokens) const {
    std::optional<std::string_view> token;
    if (const AddedToken* t = added.find_by_id(id)) {
      token = t->content;
    } else {
      token = model->vocab().token(id);
    }
    if (token && skip_special_tokens && added.is_special_content(*token)) return std::nullopt;
    return token;
  }
};

namespace {
// A tokenizer.json beyond this is not a tokenizer (Gemma 3's, the largest known, is 33 MB).
constexpr std::uintmax_t kMaxFileBytes = 512ull << 20;
}  // namespace

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  std::error_code ec;
  auto size = std::filesystem::file_size(tokenizer_json, ec);
  if (ec) {
    throw Error(ErrorKind::NotFound,
                tokenizer_json.string() + ": cannot read tokenizer file (" + ec.message() +
                    "); a Hugging Face model folder ships tokenizer.json next to config.json: "
                    "download it together with the model");
  }
  if (size > kMaxFileBytes) {
    throw Error(ErrorKind::LimitExceeded, tokenizer_json.string() + ": " + std::to_string(size) +
                                              " bytes is larger than the 512 MiB limit");
  }
  std::ifstream in(tokenizer_json, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) {
    throw Error(ErrorKind::Io, tokenizer_json.string() + ": read failed");
  }
  return from_json(text, tokenizer_json.string());
}

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source_name) {
  return Tokenizer(std::make_unique<Impl>(parse_tokenizer_json(json_text, source_name)));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::to_valid_lossy(text);
    text = repaired;
  }
  thread_local std::vector<Piece> pieces;
  impl_->added.extract_and_normalize(text, impl_->normalizer.get(), pieces);
  if (impl_->pre_tokenizer) impl_->pre_tokenizer->pre_tokenize(pieces);
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const Piece& p : pieces) {
    if (p.token >= 0) {
      ids.push_back(p.token);
    } else {
      impl_->model->tokenize(p.text, ids);
    }
  }
  if (impl_->post_processor) impl_->post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (auto t = impl_->decode_token(id, skip_special_tokens)) tokens.emplace_back(*t);
  }
  std::string out;
  if (impl_->decoder) {
    impl_->decoder->decode_chain(tokens);
    for (const std::string& t : tokens) out += t;
  } else {
    // tokenizers joins with spaces when the file has no decoder.
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out.push_back(' ');
      out += tokens[i];
    }
  }
  return out;
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = impl_->added.find_by_content(token)) return id;
  return impl_->model->vocab().find(token);
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (auto t = impl_->decode_token(id, false)) return std::string(*t);
  return std::nullopt;
}

std::size_t Tokenizer::vocab_size() const noexcept {
  return impl_->vocab_size;
}

bool Tokenizer::is_special(TokenId id) const noexcept {
  const AddedToken* t = impl_->added.find_by_id(id);
  return t != nullptr && t->special;
}

const std::vector<AddedToken>& Tokenizer::added_tokens() const noexcept {
  return impl_->added.tokens();
}

}  // namespace vlmrt::tok
