// Component tests on small hand-written tokenizer.json files. Expected ids follow from the
// Hugging Face `tokenizers` semantics (cited per test), worked out by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::tok {
namespace {

using Ids = std::vector<TokenId>;

// A tokenizer.json with the given pieces; "null" leaves a stage out.
std::string make_json(const std::string& model, const std::string& pre_tokenizer = "null",
                      const std::string& normalizer = "null", const std::string& decoder = "null",
                      const std::string& added = "[]", const std::string& post = "null") {
  return R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":)" + added +
         R"(,"normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre_tokenizer +
         R"(,"post_processor":)" + post + R"(,"decoder":)" + decoder + R"(,"model":)" + model + "}";
}

// Vocabulary for split tests: every piece of "a-b" / "a--b" is one token once merged.
const char* kSplitModel =
    R"({"type":"BPE","vocab":{"a":0,"b":1,"-":2,"a-":3,"-b":4,"ab":5,"--":6,"a-b":7},)"
    R"("merges":["a -","- b","a b","- -","a- b"]})";

Tokenizer load(const std::string& json) {
  return Tokenizer::from_json(json, "test.json");
}

ErrorKind load_error(const std::string& json) {
  try {
    load(json);
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::Internal;
}

TEST(BpeModel, MergesLowestRankFirst) {
  // "b c" (rank 0) beats "a b" (rank 1); then "a bc" (rank 2) finishes the word.
  auto t = load(make_json(
      R"({"type":"BPE","vocab":{"a":0,"b":1,"c":2,"ab":3,"bc":4,"abc":5},"merges":["b c","a b","a bc"]})"));
  EXPECT_EQ(t.encode("abc"), (Ids{5}));
  EXPECT_EQ(t.encode("ab"), (Ids{3}));
  EXPECT_EQ(t.encode("ca"), (Ids{2, 0}));
}

TEST(BpeModel, AcceptsMergesAsPairs) {
  auto t = load(make_json(R"({"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]})"));
  EXPECT_EQ(t.encode("abab"), (Ids{2, 2}));
}

TEST(BpeModel, EqualRankMergesGoLeftmostFirst) {
  // "aaa": both (a,a) pairs have rank 0; the left one merges, leaving "aa a".
  auto t = load(make_json(R"({"type":"BPE","vocab":{"a":0,"aa":1},"merges":["a a"]})"));
  EXPECT_EQ(t.encode("aaa"), (Ids{1, 0}));
  EXPECT_EQ(t.encode("aaaa"), (Ids{1, 1}));
}

TEST(BpeModel, ByteFallbackSpellsUnknownCharsAsBytes) {
  auto t = load(make_json(
      R"({"type":"BPE","byte_fallback":true,"unk_token":"<unk>","vocab":{"<unk>":0,"a":1,"<0xC3>":2,"<0xA9>":3},"merges":[]})"));
  EXPECT_EQ(t.encode("aé"), (Ids{1, 2, 3}));
  EXPECT_EQ(t.encode("€"), (Ids{0}));  // its bytes are not all in the vocab → unk
}

TEST(BpeModel, FusesConsecutiveUnknownsOnlyWhenAsked) {
  const char* vocab = R"("vocab":{"<unk>":0,"a":1},"merges":[])";
  auto fused = load(make_json(std::string(R"({"type":"BPE","unk_token":"<unk>","fuse_unk":true,)") +
                              vocab + "}"));
  auto separate = load(make_json(
      std::string(R"({"type":"BPE","unk_token":"<unk>","fuse_unk":false,)") + vocab + "}"));
  EXPECT_EQ(fused.encode("xya"), (Ids{0, 1}));
  EXPECT_EQ(separate.encode("xya"), (Ids{0, 0, 1}));
}

TEST(BpeModel, DropsUnknownCharsWithoutUnkToken) {
  auto t = load(make_json(R"({"type":"BPE","vocab":{"a":0},"merges":[]})"));
  EXPECT_EQ(t.encode("xa"), (Ids{0}));
}

TEST(BpeModel, IgnoreMergesTakesWholeWordFromVocab) {
  // With ignore_merges the word "abc" is in the vocab and wins even without a merge path.
  auto t = load(make_json(
      R"({"type":"BPE","ignore_merges":true,"vocab":{"a":0,"b":1,"c":2,"abc":3},"merges":[]})"));
  EXPECT_EQ(t.encode("abc"), (Ids{3}));
}

TEST(BpeModel, ContinuingSubwordPrefixJoinsMerges) {
  auto t = load(make_json(
      R"({"type":"BPE","continuing_subword_prefix":"##","vocab":{"a":0,"##b":1,"ab":2,"b":3},"merges":["a ##b"]})"));
  EXPECT_EQ(t.encode("ab"), (Ids{2}));
  EXPECT_EQ(t.encode("b"), (Ids{3}));
}

TEST(SplitPreTokenizer, AppliesEachDelimiterBehavior) {
  auto with = [](const char* behavior, bool invert) {
    return load(make_json(kSplitModel,
                          std::string(R"({"type":"Split","pattern":{"String":"-"},"behavior":")") +
                              behavior + R"(","invert":)" + (invert ? "true" : "false") + "}"));
  };
  EXPECT_EQ(with("Isolated", false).encode("a-b"), (Ids{0, 2, 1}));
  EXPECT_EQ(with("Removed", false).encode("a-b"), (Ids{0, 1}));
  EXPECT_EQ(with("MergedWithPrevious", false).encode("a-b"), (Ids{3, 1}));
  EXPECT_EQ(with("MergedWithNext", false).encode("a-b"), (Ids{0, 4}));
  EXPECT_EQ(with("Contiguous", false).encode("a--b"), (Ids{0, 6, 1}));
  EXPECT_EQ(with("Isolated", false).encode("a--b"), (Ids{0, 2, 2, 1}));
  // Inverted: "-" is the content and the letters are the delimiters.
  EXPECT_EQ(with("Removed", true).encode("a-b"), (Ids{2}));
  EXPECT_EQ(with("MergedWithPrevious", true).encode("a-b"), (Ids{0, 4}));
}

TEST(SplitPreTokenizer, RegexPatternSplitsOnMatches) {
  auto t = load(make_json(
      kSplitModel,
      R"({"type":"Split","pattern":{"Regex":"[ab]"},"behavior":"Isolated","invert":false})"));
  EXPECT_EQ(t.encode("ab"), (Ids{0, 1}));  // without the split, "a b" would merge to 5
}

TEST(DigitsPreTokenizer, SplitsDigitsIndividuallyOrAsRuns) {
  const char* model = R"({"type":"BPE","vocab":{"1":0,"2":1,"12":2,"x":3},"merges":["1 2"]})";
  auto single = load(make_json(model, R"({"type":"Digits","individual_digits":true})"));
  auto runs = load(make_json(model, R"({"type":"Digits","individual_digits":false})"));
  EXPECT_EQ(single.encode("x12"), (Ids{3, 0, 1}));
  EXPECT_EQ(runs.encode("x12"), (Ids{3, 2}));
}

TEST(MetaspacePreTokenizer, PrependSchemeFirstOnlyAtTextStart) {
  const char* model = R"({"type":"BPE","vocab":{"▁":0,"a":1,"▁a":2,"<x>":3},"merges":["▁ a"]})";
  const char* added =
      R"([{"id":3,"content":"<x>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}])";
  auto first = load(make_json(
      model, R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true})",
      "null", "null", added));
  auto always = load(make_json(
      model, R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})",
      "null", "null", added));
  EXPECT_EQ(first.encode("a<x>a"), (Ids{2, 3, 1}));
  EXPECT_EQ(always.encode("a<x>a"), (Ids{2, 3, 2}));
  EXPECT_EQ(first.encode("a a"), (Ids{2, 2}));
}

TEST(Normalizers, LowercaseAfterNfkcFoldsFullwidthLetters) {
  auto t = load(
      make_json(R"({"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]})", "null",
                R"({"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"}]})"));
  EXPECT_EQ(t.encode("ＡＢ"), (Ids{2}));
}

TEST(Normalizers, PrependAppliesToEachTextPieceBetweenAddedTokens) {
  // tokenizers normalizes each piece left between added tokens separately (llama2's "▁" rule).
  const char* added =
      R"([{"id":3,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}])";
  auto t = load(make_json(R"({"type":"BPE","vocab":{"▁":0,"a":1,"▁a":2,"<s>":3},"merges":["▁ a"]})",
                          "null", R"({"type":"Prepend","prepend":"▁"})", "null", added));
  EXPECT_EQ(t.encode("a<s>a"), (Ids{2, 3, 2}));
  EXPECT_EQ(t.encode(""), (Ids{}));
}

TEST(AddedTokens, HonorStripAndSingleWordFlags) {
  const char* model = R"({"type":"BPE","vocab":{" ":0,"x":1,"y":2},"merges":[]})";
  const char* added = R"([
    {"id":3,"content":"<l>","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true},
    {"id":4,"content":"<r>","single_word":false,"lstrip":false,"rstrip":true,"normalized":false,"special":true},
    {"id":5,"content":"xy","single_word":true,"lstrip":false,"rstrip":false,"normalized":false,"special":false}])";
  auto t = load(make_json(model, "null", "null", "null", added));
  EXPECT_EQ(t.encode("x  <l>y"), (Ids{1, 3, 2}));       // lstrip eats the spaces before
  EXPECT_EQ(t.encode("x<r>  y"), (Ids{1, 4, 2}));       // rstrip eats the spaces after
  EXPECT_EQ(t.encode("x xy y"), (Ids{1, 0, 5, 0, 2}));  // a whole word: matched
  EXPECT_EQ(t.encode("xxy"), (Ids{1, 1, 2}));           // inside a word: not matched
  EXPECT_TRUE(t.is_special(3));
  EXPECT_FALSE(t.is_special(5));
}

TEST(AddedTokens, LongestMatchWins) {
  const char* added = R"([
    {"id":1,"content":"<a>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
    {"id":2,"content":"<a><b>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}])";
  auto t = load(
      make_json(R"({"type":"BPE","vocab":{"x":0},"merges":[]})", "null", "null", "null", added));
  EXPECT_EQ(t.encode("<a><b>x<a>"), (Ids{2, 0, 1}));
  EXPECT_EQ(t.decode(Ids{2, 0, 1}, true), "x");
}

TEST(PostProcessor, TemplateAddsBosOnlyWithSpecialTokens) {
  const char* post =
      R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<bos>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<bos>":{"id":"<bos>","ids":[1],"tokens":["<bos>"]}}})";
  auto t = load(make_json(R"({"type":"BPE","vocab":{"a":0,"<bos>":1},"merges":[]})", "null", "null",
                          "null", "[]", post));
  EXPECT_EQ(t.encode("a"), (Ids{1, 0}));
  EXPECT_EQ(t.encode("a", false), (Ids{0}));
}

TEST(Decoders, ByteFallbackGivesOneReplacementCharPerInvalidByte) {
  auto t = load(make_json(
      R"({"type":"BPE","vocab":{"<0xE2>":0,"<0x82>":1,"<0xAC>":2,"a":3},"merges":[]})", "null",
      "null", R"({"type":"Sequence","decoders":[{"type":"ByteFallback"},{"type":"Fuse"}]})"));
  EXPECT_EQ(t.decode(Ids{0, 1, 2}), "€");
  EXPECT_EQ(t.decode(Ids{0, 1, 3}),
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "a");
}

TEST(Decoders, MetaspaceAndStripDropTheLeadingSpace) {
  const char* model = R"({"type":"BPE","vocab":{"▁a":0,"▁b":1},"merges":[]})";
  auto meta = load(make_json(
      model, "null", "null",
      R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})"));
  auto strip = load(make_json(
      model, "null", "null",
      R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})"));
  EXPECT_EQ(meta.decode(Ids{0, 1}), "a b");
  EXPECT_EQ(strip.decode(Ids{0, 1}), "a b");
}

TEST(Decoders, NoDecoderJoinsTokensWithSpaces) {
  auto t = load(make_json(R"({"type":"BPE","vocab":{"a":0,"b":1},"merges":[]})"));
  EXPECT_EQ(t.decode(Ids{0, 1, 99}), "a b");  // unknown id 99 is skipped
}

TEST(StreamingDecoder, HoldsIncompleteCharactersUntilComplete) {
  auto t = load(make_json(
      R"({"type":"BPE","vocab":{"<0xE2>":0,"<0x82>":1,"<0xAC>":2,"▁a":3},"merges":[]})", "null",
      "null",
      R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})"));
  Ids ids{3, 0, 1, 2, 3};
  StreamingDecoder stream(t);
  std::vector<std::string> pieces;
  for (TokenId id : ids) pieces.push_back(stream.push(id));
  std::string rest = stream.flush();
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "", "", "€", " a"}));
  EXPECT_EQ(pieces[0] + pieces[3] + pieces[4] + rest, t.decode(ids));
}

TEST(Encode, ReplacesInvalidUtf8WithReplacementChar) {
  auto t = load(make_json(R"({"type":"BPE","vocab":{"a":0,"\ufffd":1},"merges":[]})"));
  EXPECT_EQ(t.encode("a\xFF\xC3"
                     "a"),
            (Ids{0, 1, 1, 0}));
  EXPECT_EQ(t.encode("\xE2\x82"), (Ids{1}));  // one maximal invalid subsequence
}

TEST(Loading, RejectsBrokenFilesWithTheRightKind) {
  EXPECT_EQ(load_error("{not json"), ErrorKind::Format);
  EXPECT_EQ(load_error(R"({"added_tokens":[]})"), ErrorKind::Format);  // no model
  EXPECT_EQ(load_error(make_json(R"({"type":"BPE","vocab":{"a":0},"merges":["a b"]})")),
            ErrorKind::Format);  // merge names unknown token
  EXPECT_EQ(load_error(make_json(R"({"type":"BPE","vocab":{"a":0,"b":0},"merges":[]})")),
            ErrorKind::Format);  // duplicate id
  EXPECT_EQ(load_error(make_json(R"({"type":"BPE","vocab":{"a":0},"merges":["a"]})")),
            ErrorKind::Format);  // malformed merge line
  EXPECT_EQ(load_error(make_json(R"({"type":"BPE","vocab":{"a":0},"merges":[],"dropout":0.1})")),
            ErrorKind::Unsupported);
  EXPECT_EQ(load_error(make_json(R"({"type":"Unigram","vocab":[]})")), ErrorKind::Unsupported);
  EXPECT_EQ(load_error(make_json(R"({"type":"BPE","vocab":{"a":0},"merges":[]})", "null",
                                 R"({"type":"Precompiled"})")),
            ErrorKind::Unsupported);
  EXPECT_EQ(
      load_error(make_json(
          R"({"type":"BPE","vocab":{"a":0},"merges":[]})",
          R"({"type":"Split","pattern":{"Regex":"("},"behavior":"Isolated","invert":false})")),
      ErrorKind::Format);
}

TEST(Loading, UnsupportedMessageNamesComponentAndFile) {
  try {
    load(make_json(R"({"type":"BPE","vocab":{"a":0},"merges":[]})", "null",
                   R"({"type":"Precompiled"})"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("Precompiled"), std::string::npos);
  }
}

TEST(Loading, MissingFileIsNotFound) {
  try {
    Tokenizer::from_file("/nonexistent/tokenizer.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
}

TEST(WordPieceModel, GreedyLongestMatchWithUnkForUnknownWords) {
  auto t = load(make_json(
      R"({"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{"[UNK]":0,"un":1,"##aff":2,"##able":3,"a":4}})",
      R"({"type":"WhitespaceSplit"})", "null",
      R"({"type":"WordPiece","prefix":"##","cleanup":true})"));
  EXPECT_EQ(t.encode("unaffable a zzz"), (Ids{1, 2, 3, 4, 0}));
  EXPECT_EQ(t.decode(Ids{1, 2, 3, 4}), "unaffable a");
}

}  // namespace
}  // namespace vlmrt::tok
