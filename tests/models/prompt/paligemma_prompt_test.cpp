// PaliGemma's prompt format (MODELS.md §5.1, errata 4) and its ids. There is no PaliGemma
// tokenizer in the shared data, so the ids come from a tiny inline tokenizer.json holding the
// tokens needed (<image> = 257152, <bos> = 2, as in the real one).
#include "models/paligemma/prompt.hpp"

#include <gtest/gtest.h>

#include "tokenizer/tokenizer.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::paligemma {
namespace {

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

constexpr std::string_view kTinyTokenizer = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "<eos>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "<bos>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 257152, "content": "<image>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "vocab": {"<pad>": 0, "<eos>": 1, "<bos>": 2, "c": 3, "a": 4, "p": 5, "t": 6, "i": 7,
                      "o": 8, "n": 9, " ": 10, "e": 11, "\n": 108, "ca": 12, "en": 13},
            "merges": ["c a", "e n"]}
})";

TEST(PaliGemmaPrompt, CaptionEnIs256ImageTokensBosTextNewline) {
  EXPECT_EQ(build_prompt("caption en", 1, 256), repeat("<image>", 256) + "<bos>caption en\n");
}

TEST(PaliGemmaPrompt, SeveralImagesPrefix256TokensEach) {
  EXPECT_EQ(build_prompt("answer en why?", 3, 256),
            repeat("<image>", 768) + "<bos>answer en why?\n");
}

TEST(PaliGemmaPrompt, ExistingImageTokensAreExpandedAndBosFollowsTheLast) {
  EXPECT_EQ(build_prompt("<image>a<image>b", 2, 2), "<image><image>a<image><image><bos>b\n");
}

TEST(PaliGemmaPrompt, MismatchedImageTokensAreInvalidArguments) {
  EXPECT_THROW(build_prompt("<image>x", 2, 256), Error);
  EXPECT_THROW(build_prompt("x", -1, 256), Error);
  EXPECT_THROW(build_prompt("x", 1, 0), Error);
}

TEST(PaliGemmaPrompt, CaptionEnIdsAreImageIdsThenBosThenText) {
  const auto tokenizer = tok::Tokenizer::from_json(kTinyTokenizer, "tiny paligemma tokenizer.json");
  const auto ids =
      tokenizer.encode(build_prompt("caption en", 1, 256), /*add_special_tokens=*/false);
  std::vector<tok::TokenId> expected(256, 257152);
  expected.push_back(2);
  const auto text = tokenizer.encode("caption en\n", false);
  expected.insert(expected.end(), text.begin(), text.end());
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(ids.back(), 108);  // the trailing newline (MODELS.md §5.1)
  EXPECT_EQ(ids.size(), 256u + 1u + 9u);
}

}  // namespace
}  // namespace vlmrt::paligemma
