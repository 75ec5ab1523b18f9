// The real SmolVLM-256M-Instruct tokenizer.json (Digits + ByteLevel BPE, 49280 ids). Expected
// ids are from MODELS.md §1.2 and the Rust `tokenizers` library.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace vlmrt::tok {
namespace {

using Ids = std::vector<TokenId>;

class SmolVlmTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto path = vlmrt::testing::shared_data_dir() / "SmolVLM-256M-Instruct" / "tokenizer.json";
    if (std::filesystem::exists(path)) tokenizer_ = new Tokenizer(Tokenizer::from_file(path));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  void SetUp() override {
    if (tokenizer_ == nullptr) GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent";
  }
  const Tokenizer& tok() const { return *tokenizer_; }

  static Tokenizer* tokenizer_;
};

Tokenizer* SmolVlmTokenizer::tokenizer_ = nullptr;

TEST_F(SmolVlmTokenizer, SpecialTokensHaveTheirDocumentedIds) {
  EXPECT_EQ(tok().encode("<|im_start|>"), (Ids{1}));
  EXPECT_EQ(tok().encode("<end_of_utterance>"), (Ids{49279}));
  EXPECT_EQ(tok().encode("<image>"), (Ids{49190}));
  EXPECT_EQ(tok().encode("<fake_token_around_image><global-img><row_2_col_3>"),
            (Ids{49189, 49152, 49153 + 6 + 2}));
  EXPECT_EQ(tok().token_to_id("<|endoftext|>"), 0);
  EXPECT_EQ(tok().vocab_size(), 49280u);
  EXPECT_TRUE(tok().is_special(49279));
}

TEST_F(SmolVlmTokenizer, DoubleNewlineIsOneToken) {
  // MODELS.md errata 6: "\n\n" is always one token.
  EXPECT_EQ(tok().encode("\n\n"), (Ids{1116}));
  EXPECT_EQ(tok().encode("\n"), (Ids{198}));
}

TEST_F(SmolVlmTokenizer, ChatPromptMatchesOracle) {
  // Ids from tokenizers 0.22 (@anush008/tokenizers) on the same file.
  EXPECT_EQ(tok().encode("<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\n"
                         "Assistant:"),
            (Ids{1, 11126, 42, 49190, 7306, 346, 5125, 451, 2443, 47, 49279, 198, 9519, 9531, 42}));
  EXPECT_EQ(tok().encode("Year 2024"), (Ids{19840, 216, 34, 32, 34, 36}));  // digits split
}

TEST_F(SmolVlmTokenizer, DecodeInvertsEncode) {
  const std::vector<std::string> texts = {"",
                                          "Hello world",
                                          "  leading and trailing  ",
                                          "line\r\nbreaks\n\n\ttabs",
                                          "你好，世界",
                                          "👨‍👩‍👧‍👦 emoji",
                                          "مرحبا नमस्ते สวัสดี",
                                          "1234567890 3.14",
                                          "<|im_start|>assistant\n<end_of_utterance>"};
  for (const std::string& text : texts) {
    EXPECT_EQ(tok().decode(tok().encode(text)), text) << text;
  }
}

TEST_F(SmolVlmTokenizer, SkipSpecialTokensDropsOnlySpecialTokens) {
  Ids ids = tok().encode("<|im_start|>Hi<end_of_utterance>");
  EXPECT_EQ(tok().decode(ids, true), "Hi");
}

TEST_F(SmolVlmTokenizer, StreamingEqualsDecodeOnMultibyteText) {
  const std::vector<std::string> texts = {"👨‍👩‍👧‍👦 family 🏳️‍🌈",
                                          "日本語のテキストです。", "Ελληνικά and ﬁ ligatures",
                                          "a\xF0\x9F\x98\x80"
                                          "b"};
  for (const std::string& text : texts) {
    Ids ids = tok().encode(text);
    StreamingDecoder stream(tok());
    std::string streamed;
    for (TokenId id : ids) {
      std::string piece = stream.push(id);
      // Never a partial character: every piece is valid UTF-8 on its own.
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << text;
      streamed += piece;
    }
    streamed += stream.flush();
    EXPECT_EQ(streamed, tok().decode(ids)) << text;
  }
}

}  // namespace
}  // namespace vlmrt::tok
