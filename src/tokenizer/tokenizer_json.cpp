// tokenizer.json → pipeline components. simdjson keeps the 33 MB Gemma 3 file well under a
// second (nlohmann needs ~0.6 s just to parse it — DEPENDENCIES.md).
#include <simdjson.h>

#include <unordered_map>

#include "tokenizer/tokenizer_impl.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::tok {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

class JsonReader {
 public:
  explicit JsonReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(ErrorKind kind, const std::string& what) const {
    throw Error(kind, source_ + ": " + what);
  }

  object as_object(element e, const std::string& path) const {
    object o;
    if (e.get_object().get(o)) fail(ErrorKind::Format, "'" + path + "' must be an object");
    return o;
  }
  array as_array(element e, const std::string& path) const {
    array a;
    if (e.get_array().get(a)) fail(ErrorKind::Format, "'" + path + "' must be an array");
    return a;
  }
  std::string_view as_string(element e, const std::string& path) const {
    std::string_view s;
    if (e.get_string().get(s)) fail(ErrorKind::Format, "'" + path + "' must be a string");
    return s;
  }
  std::int64_t as_int(element e, const std::string& path) const {
    std::int64_t v;
    if (e.get_int64().get(v)) fail(ErrorKind::Format, "'" + path + "' must be an integer");
    return v;
  }
  TokenId as_id(element e, const std::string& path) const {
    std::int64_t v = as_int(e, path);
    if (v < 0 || v > 0x7FFFFFFF) {
      fail(ErrorKind::Format, "'" + path + "' = " + std::to_string(v) + " is not a valid id");
    }
    return static_cast<TokenId>(v);
  }
  bool as_bool(element e, const std::string& path) const {
    bool v;
    if (e.get_bool().get(v)) fail(ErrorKind::Format, "'" + path + "' must be true or false");
    return v;
  }

  // Absent and null both read as "not set".
  std::optional<element> optional_field(object o, std::string_view name) const {
    element e;
    if (o.at_key(name).get(e) || e.is_null()) return std::nullopt;
    return e;
  }
  element field(object o, std::string_view name, const std::string& path) const {
    auto e = optional_field(o, name);
    if (!e) fail(ErrorKind::Format, "missing field '" + path + "." + std::string(name) + "'");
    return *e;
  }
  bool bool_or(object o, std::string_view name, bool fallback, const std::string& path) const {
    auto e = optional_field(o, name);
    return e ? as_bool(*e, path + "." + std::string(name)) : fallback;
  }
  std::optional<std::string> optional_string(object o, std::string_view name,
                                             const std::string& path) const {
    auto e = optional_field(o, name);
    if (!e) return std::nullopt;
    return std::string(as_string(*e, path + "." + std::string(name)));
  }
  std::string type_of(object o, const std::string& path) const {
    return std::string(as_string(field(o, "type", path), path + ".type"));
  }

  Pattern pattern(object o, const std::string& path) const {
    object p = as_object(field(o, "pattern", path), path + ".pattern");
    if (auto s = optional_field(p, "String")) {
      return Pattern::literal(std::string(as_string(*s, path + ".pattern.String")));
    }
    if (auto r = optional_field(p, "Regex")) {
      return Pattern::regex(as_string(*r, path + ".pattern.Regex"),
                            source_ + ": " + path + ".pattern.Regex");
    }
    fail(ErrorKind::Format, "'" + path + ".pattern' must hold \"String\" or \"Regex\"");
  }

  const std::string& source() const { return source_; }

 private:
  const std::string& source_;
};

NormalizerPtr parse_normalizer(const JsonReader& r, element e, const std::string& path) {
  object o = r.as_object(e, path);
  std::string type = r.type_of(o, path);
  if (type == "NFC") return make_unicode_normalizer(unicode::NormalForm::kNfc);
  if (type == "NFD") return make_unicode_normalizer(unicode::NormalForm::kNfd);
  if (type == "NFKC") return make_unicode_normalizer(unicode::NormalForm::kNfkc);
  if (type == "NFKD") return make_unicode_normalizer(unicode::NormalForm::kNfkd);
  if (type == "Lowercase") return make_lowercase();
  if (type == "StripAccents") return make_strip_accents();
  if (type == "ByteLevel") return make_byte_level_normalizer();
  if (type == "Replace") {
    return make_replace(r.pattern(o, path),
                        std::string(r.as_string(r.field(o, "content", path), path + ".content")));
  }
  if (type == "Prepend") {
    return make_prepend(std::string(r.as_string(r.field(o, "prepend", path), path + ".prepend")));
  }
  if (type == "Strip") {
    return make_strip(r.bool_or(o, "strip_left", true, path),
                      r.bool_or(o, "strip_right", true, path));
  }
  if (type == "BertNormalizer") {
    std::optional<bool> strip_accents;
    if (auto s = r.optional_field(o, "strip_accents")) {
      strip_accents = r.as_bool(*s, path + ".strip_accents");
    }
    return make_bert_normalizer(r.bool_or(o, "clean_text", true, path),
                                r.bool_or(o, "handle_chinese_chars", true, path), strip_accents,
                                r.bool_or(o, "lowercase", true, path));
  }
  if (type == "Sequence") {
    std::vector<NormalizerPtr> steps;
    std::size_t i = 0;
    for (element step : r.as_array(r.field(o, "normalizers", path), path + ".normalizers")) {
      steps.push_back(
          parse_normalizer(r, step, path + ".normalizers[" + std::to_string(i++) + "]"));
    }
    return make_normalizer_sequence(std::move(steps));
  }
  r.fail(ErrorKind::Unsupported, "normalizer type '" + type + "' is not supported (" + path + ")");
}

SplitBehavior parse_behavior(const JsonReader& r, std::string_view name, const std::string& path) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  r.fail(ErrorKind::Format, "'" + path + "' = '" + std::string(name) +
                                "' is not a split behavior (Removed, Isolated, "
                                "MergedWithPrevious, MergedWithNext, Contiguous)");
}

PrependScheme parse_prepend_scheme(const JsonReader& r, object o, const std::string& path) {
  PrependScheme scheme = PrependScheme::kAlways;
  if (auto s = r.optional_field(o, "prepend_scheme")) {
    std::string_view name = r.as_string(*s, path + ".prepend_scheme");
    if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      r.fail(ErrorKind::Format, "'" + path + ".prepend_scheme' = '" + std::string(name) +
                                    "' (expected always, first or never)");
    }
  }
  // Older files say add_prefix_space: false instead of prepend_scheme: never.
  if (!r.bool_or(o, "add_prefix_space", true, path)) scheme = PrependScheme::kNever;
  return scheme;
}

std::string parse_replacement(const JsonReader& r, object o, const std::string& path) {
  std::string replacement(r.as_string(r.field(o, "replacement", path), path + ".replacement"));
  if (replacement.empty()) r.fail(ErrorKind::Format, "'" + path + ".replacement' is empty");
  return replacement;
}

PreTokenizerPtr parse_pre_tokenizer(const JsonReader& r, element e, const std::string& path) {
  object o = r.as_object(e, path);
  std::string type = r.type_of(o, path);
  if (type == "ByteLevel") {
    return make_byte_level_pre_tokenizer(r.bool_or(o, "add_prefix_space", true, path),
                                         r.bool_or(o, "use_regex", true, path));
  }
  if (type == "Split") {
    auto behavior = parse_behavior(r, r.as_string(r.field(o, "behavior", path), path + ".behavior"),
                                   path + ".behavior");
    return make_split(r.pattern(o, path), behavior, r.bool_or(o, "invert", false, path));
  }
  if (type == "Metaspace") {
    return make_metaspace(parse_replacement(r, o, path), parse_prepend_scheme(r, o, path),
                          r.bool_or(o, "split", true, path));
  }
  if (type == "Whitespace") return make_whitespace();
  if (type == "WhitespaceSplit") return make_whitespace_split();
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "Digits") return make_digits(r.bool_or(o, "individual_digits", false, path));
  if (type == "Punctuation") {
    SplitBehavior behavior = SplitBehavior::kIsolated;
    if (auto b = r.optional_field(o, "behavior")) {
      behavior = parse_behavior(r, r.as_string(*b, path + ".behavior"), path + ".behavior");
    }
    return make_punctuation(behavior);
  }
  if (type == "Sequence") {
    std::vector<PreTokenizerPtr> steps;
    std::size_t i = 0;
    for (element step : r.as_array(r.field(o, "pretokenizers", path), path + ".pretokenizers")) {
      steps.push_back(
          parse_pre_tokenizer(r, step, path + ".pretokenizers[" + std::to_string(i++) + "]"));
    }
    return make_pre_tokenizer_sequence(std::move(steps));
  }
  r.fail(ErrorKind::Unsupported,
         "pre-tokenizer type '" + type + "' is not supported (" + path + ")");
}

VocabTable parse_vocab(const JsonReader& r, object model) {
  object vocab = r.as_object(r.field(model, "vocab", "model"), "model.vocab");
  std::vector<std::pair<std::string_view, TokenId>> entries;
  entries.reserve(vocab.size());
  for (auto [key, value] : vocab) {
    std::int64_t id;
    if (value.get_int64().get(id) || id < 0 || id > 0x7FFFFFFF) {
      r.fail(ErrorKind::Format, "'model.vocab[\"" + std::string(key) + "\"]' must be an id >= 0");
    }
    entries.emplace_back(key, static_cast<TokenId>(id));
  }
  return VocabTable(std::move(entries), r.source());
}

ModelPtr parse_model(const JsonReader& r, element e) {
  object o = r.as_object(e, "model");
  std::string type = r.optional_string(o, "type", "model").value_or("BPE");
  if (type == "BPE") {
    if (auto dropout = r.optional_field(o, "dropout")) {
      double d = 0;
      if (dropout->get_double().get(d))
        r.fail(ErrorKind::Format, "'model.dropout' must be a number");
      if (d != 0.0) {
        r.fail(ErrorKind::Unsupported, "BPE dropout " + std::to_string(d) +
                                           " is not supported (only null or 0: encoding must be "
                                           "deterministic)");
      }
    }
    BpeOptions options;
    options.unk_token = r.optional_string(o, "unk_token", "model");
    options.continuing_subword_prefix = r.optional_string(o, "continuing_subword_prefix", "model");
    options.end_of_word_suffix = r.optional_string(o, "end_of_word_suffix", "model");
    // An empty affix is the same as none (and keeps the fast path).
    if (options.continuing_subword_prefix && options.continuing_subword_prefix->empty()) {
      options.continuing_subword_prefix.reset();
    }
    if (options.end_of_word_suffix && options.end_of_word_suffix->empty()) {
      options.end_of_word_suffix.reset();
    }
    options.fuse_unk = r.bool_or(o, "fuse_unk", false, "model");
    options.byte_fallback = r.bool_or(o, "byte_fallback", false, "model");
    options.ignore_merges = r.bool_or(o, "ignore_merges", false, "model");
    VocabTable vocab = parse_vocab(r, o);
    std::vector<std::pair<std::string_view, std::string_view>> merges;
    array list = r.as_array(r.field(o, "merges", "model"), "model.merges");
    merges.reserve(list.size());
    std::size_t i = 0;
    for (element m : list) {
      std::string path = "model.merges[" + std::to_string(i++) + "]";
      std::string_view line;
      if (!m.get_string().get(line)) {
        std::size_t space = line.find(' ');
        if (space == std::string_view::npos ||
            line.find(' ', space + 1) != std::string_view::npos) {
          r.fail(ErrorKind::Format, "'" + path + "' = '" + std::string(line) +
                                        "' must be two tokens separated by one space");
        }
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
      } else {
        array pair = r.as_array(m, path);
        if (pair.size() != 2) r.fail(ErrorKind::Format, "'" + path + "' must hold two tokens");
        merges.emplace_back(r.as_string(pair.at(0).value(), path),
                            r.as_string(pair.at(1).value(), path));
      }
    }
    return make_bpe(std::move(vocab), merges, std::move(options), r.source());
  }
  if (type == "WordPiece") {
    std::int64_t max_chars = 100;
    if (auto m = r.optional_field(o, "max_input_chars_per_word")) {
      max_chars = r.as_int(*m, "model.max_input_chars_per_word");
    }
    return make_wordpiece(
        parse_vocab(r, o), r.optional_string(o, "unk_token", "model").value_or("[UNK]"),
        r.optional_string(o, "continuing_subword_prefix", "model").value_or("##"),
        static_cast<std::size_t>(std::max<std::int64_t>(max_chars, 0)), r.source());
  }
  r.fail(ErrorKind::Unsupported, "model type '" + type + "' is not supported (BPE, WordPiece)");
}

TokenId special_id(const JsonReader& r, object o, std::string_view name, const std::string& path) {
  array pair = r.as_array(r.field(o, name, path), path + "." + std::string(name));
  if (pair.size() != 2) {
    r.fail(ErrorKind::Format, "'" + path + "." + std::string(name) + "' must be [token, id]");
  }
  return r.as_id(pair.at(1).value(), path + "." + std::string(name) + "[1]");
}

PostProcessorPtr parse_post_processor(const JsonReader& r, element e, const std::string& path) {
  object o = r.as_object(e, path);
  std::string type = r.type_of(o, path);
  if (type == "ByteLevel") return make_no_op_processor();  // only adjusts offsets
  if (type == "TemplateProcessing") {
    object specials = r.as_object(r.field(o, "special_tokens", path), path + ".special_tokens");
    std::vector<TemplateItem> items;
    std::size_t i = 0;
    for (element item : r.as_array(r.field(o, "single", path), path + ".single")) {
      std::string item_path = path + ".single[" + std::to_string(i++) + "]";
      object io = r.as_object(item, item_path);
      if (r.optional_field(io, "Sequence")) {
        items.push_back({true, {}});
        continue;
      }
      object special = r.as_object(r.field(io, "SpecialToken", item_path), item_path);
      std::string_view name = r.as_string(r.field(special, "id", item_path), item_path + ".id");
      auto entry = r.optional_field(specials, name);
      if (!entry) {
        r.fail(ErrorKind::Format, "'" + item_path + "' names special token '" + std::string(name) +
                                      "' missing from " + path + ".special_tokens");
      }
      std::string entry_path = path + ".special_tokens[\"" + std::string(name) + "\"]";
      object eo = r.as_object(*entry, entry_path);
      TemplateItem t;
      for (element id : r.as_array(r.field(eo, "ids", entry_path), entry_path + ".ids")) {
        t.ids.push_back(r.as_id(id, entry_path + ".ids"));
      }
      items.push_back(std::move(t));
    }
    return make_template_processing(std::move(items));
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    std::vector<TemplateItem> items;
    items.push_back({false, {special_id(r, o, "cls", path)}});
    items.push_back({true, {}});
    items.push_back({false, {special_id(r, o, "sep", path)}});
    return make_template_processing(std::move(items));
  }
  if (type == "Sequence") {
    std::vector<PostProcessorPtr> steps;
    std::size_t i = 0;
    for (element step : r.as_array(r.field(o, "processors", path), path + ".processors")) {
      steps.push_back(
          parse_post_processor(r, step, path + ".processors[" + std::to_string(i++) + "]"));
    }
    return make_post_processor_sequence(std::move(steps));
  }
  r.fail(ErrorKind::Unsupported,
         "post-processor type '" + type + "' is not supported (" + path + ")");
}

DecoderPtr parse_decoder(const JsonReader& r, element e, const std::string& path) {
  object o = r.as_object(e, path);
  std::string type = r.type_of(o, path);
  if (type == "ByteLevel") return make_byte_level_decoder();
  if (type == "ByteFallback") return make_byte_fallback_decoder();
  if (type == "Fuse") return make_fuse_decoder();
  if (type == "Metaspace") {
    return make_metaspace_decoder(parse_replacement(r, o, path), parse_prepend_scheme(r, o, path));
  }
  if (type == "Strip") {
    std::string content(r.as_string(r.field(o, "content", path), path + ".content"));
    std::int64_t start = r.as_int(r.field(o, "start", path), path + ".start");
    std::int64_t stop = r.as_int(r.field(o, "stop", path), path + ".stop");
    if (start < 0 || stop < 0) r.fail(ErrorKind::Format, "'" + path + "' start/stop must be >= 0");
    return make_strip_decoder(std::move(content), static_cast<std::size_t>(start),
                              static_cast<std::size_t>(stop));
  }
  if (type == "Replace") {
    return make_replace_decoder(
        r.pattern(o, path),
        std::string(r.as_string(r.field(o, "content", path), path + ".content")));
  }
  if (type == "WordPiece") {
    return make_wordpiece_decoder(r.optional_string(o, "prefix", path).value_or("##"),
                                  r.bool_or(o, "cleanup", true, path));
  }
  if (type == "BPEDecoder") {
    return make_bpe_decoder(r.optional_string(o, "suffix", path).value_or("</w>"));
  }
  if (type == "Sequence") {
    std::vector<DecoderPtr> steps;
    std::size_t i = 0;
    for (element step : r.as_array(r.field(o, "decoders", path), path + ".decoders")) {
      steps.push_back(parse_decoder(r, step, path + ".decoders[" + std::to_string(i++) + "]"));
    }
    return make_decoder_sequence(std::move(steps));
  }
  r.fail(ErrorKind::Unsupported, "decoder type '" + type + "' is not supported (" + path + ")");
}

}  // namespace

TokenizerParts parse_tokenizer_json(std::string_view json_text, const std::string& source) {
  TokenizerParts parts;
  parts.source = source;
  JsonReader r(parts.source);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json_text);
  element doc;
  if (auto error = parser.parse(padded).get(doc)) {
    r.fail(ErrorKind::Format, std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  object root = r.as_object(doc, "(root)");
  if (auto n = r.optional_field(root, "normalizer")) {
    parts.normalizer = parse_normalizer(r, *n, "normalizer");
  }
  if (auto p = r.optional_field(root, "pre_tokenizer")) {
    parts.pre_tokenizer = parse_pre_tokenizer(r, *p, "pre_tokenizer");
  }
  parts.model = parse_model(r, r.field(root, "model", "(root)"));
  if (auto p = r.optional_field(root, "post_processor")) {
    parts.post_processor = parse_post_processor(r, *p, "post_processor");
  }
  if (auto d = r.optional_field(root, "decoder")) parts.decoder = parse_decoder(r, *d, "decoder");

  std::vector<AddedToken> added;
  std::size_t extra_ids = 0;
  if (auto list = r.optional_field(root, "added_tokens")) {
    std::size_t i = 0;
    std::unordered_map<TokenId, bool> seen;
    for (element item : r.as_array(*list, "added_tokens")) {
      std::string path = "added_tokens[" + std::to_string(i++) + "]";
      object o = r.as_object(item, path);
      AddedToken t;
      t.content = std::string(r.as_string(r.field(o, "content", path), path + ".content"));
      t.id = r.as_id(r.field(o, "id", path), path + ".id");
      t.special = r.bool_or(o, "special", false, path);
      t.lstrip = r.bool_or(o, "lstrip", false, path);
      t.rstrip = r.bool_or(o, "rstrip", false, path);
      t.single_word = r.bool_or(o, "single_word", false, path);
      t.normalized = r.bool_or(o, "normalized", !t.special, path);
      // tokenizers gives an added token the model's id when the model already knows it.
      if (auto model_id = parts.model->vocab().find(t.content)) t.id = *model_id;
      if (!parts.model->vocab().token(t.id) && seen.emplace(t.id, true).second) ++extra_ids;
      added.push_back(std::move(t));
    }
  }
  parts.added = AddedVocabulary(std::move(added), parts.normalizer.get());
  parts.vocab_size = parts.model->vocab().size() + extra_ids;
  return parts;
}

}  // namespace vlmrt::tok
