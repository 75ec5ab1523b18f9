// SmolVLM prompt facts from MODELS.md §5.3 / §5.4 and errata 6, 8, 13, checked on strings and,
// where the shared SmolVLM-256M-Instruct files exist, with the real tokenizer and template.
#include "models/smolvlm/prompt.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_support.hpp"
#include "tokenizer/chat_template.hpp"
#include "tokenizer/tokenizer.hpp"

namespace vlmrt::smolvlm {
namespace {

namespace fs = std::filesystem;

std::size_t count_of(const std::string& text, std::string_view token) {
  std::size_t n = 0;
  for (auto at = text.find(token); at != std::string::npos;
       at = text.find(token, at + token.size()))
    ++n;
  return n;
}

fs::path smolvlm_dir() {
  return testing::shared_data_dir() / "SmolVLM-256M-Instruct";
}

std::vector<ChatMessage> describe_image() {
  return {{"user", std::vector{ContentPart::image(),
                               ContentPart::make_text("Can you describe this image?")}}};
}

constexpr std::string_view kExample =
    "<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\nAssistant:";

TEST(SmolVlmPrompt, BuiltinTemplateGivesTheModelsDocExample) {
  EXPECT_EQ(ChatTemplate::builtin_smolvlm().render(describe_image(), true), kExample);
}

TEST(SmolVlmPrompt, RealTemplateFromTheModelFolderGivesTheModelsDocExample) {
  if (!fs::exists(smolvlm_dir())) GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent";
  const ChatTemplate chat = ChatTemplate::for_model(smolvlm_dir());
  EXPECT_EQ(chat.render(describe_image(), true), kExample);
  EXPECT_EQ(chat.render(describe_image(), false),
            "<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\n");
}

TEST(SmolVlmPrompt, VideoFirstMessageGetsColonSpaceInBothTemplates) {
  // Errata 13: SmolVLM-256M's template has no <video> branch; the separator is still ": ".
  const std::vector<ChatMessage> messages{
      {"user", std::vector{ContentPart::video(), ContentPart::make_text("What happens?")}}};
  EXPECT_EQ(ChatTemplate::builtin_smolvlm().render(messages, true),
            "<|im_start|>User: <video>What happens?<end_of_utterance>\nAssistant:");
  if (!fs::exists(smolvlm_dir())) GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent";
  EXPECT_EQ(ChatTemplate::for_model(smolvlm_dir()).render(messages, true),
            "<|im_start|>User: What happens?<end_of_utterance>\nAssistant:");
}

TEST(SmolVlmPrompt, ThreeByFourGridHas832ImageTokens) {
  const std::string text = image_prompt({3, 4}, 64);
  EXPECT_EQ(count_of(text, kImageToken), 832u);
  EXPECT_EQ(layout_image_tokens({3, 4}, 64), 832);
  EXPECT_EQ(count_of(text, kFakeImageToken), 14u);  // 12 tiles + 2 around the global image
  EXPECT_EQ(count_of(text, "<row_3_col_4>"), 1u);
  std::string last_tile = "<row_3_col_4>";
  for (int i = 0; i < 64; ++i) last_tile += kImageToken;
  EXPECT_NE(text.find(last_tile + "\n\n<fake_token_around_image><global-img>"), std::string::npos);
}

TEST(SmolVlmPrompt, FourByFourGridHas1088ImageTokens) {
  EXPECT_EQ(count_of(image_prompt({4, 4}, 64), kImageToken), 1088u);
}

TEST(SmolVlmPrompt, UnsplitImageIsOneGlobalBlock) {
  EXPECT_EQ(image_prompt({0, 0}, 2),
            "<fake_token_around_image><global-img><image><image><fake_token_around_image>");
}

TEST(SmolVlmPrompt, RowsEndWithNewlineAndTheGlobalImageFollowsABlankLine) {
  EXPECT_EQ(image_prompt({2, 1}, 1),
            "<fake_token_around_image><row_1_col_1><image>\n"
            "<fake_token_around_image><row_2_col_1><image>\n"
            "\n<fake_token_around_image><global-img><image><fake_token_around_image>");
}

TEST(SmolVlmPrompt, MismatchedImageCountsAreInvalidArguments) {
  const std::vector<ImageLayout> one{{0, 0}};
  EXPECT_THROW(expand_prompt("<image><image>", one, {}, 64), Error);
  EXPECT_THROW(expand_prompt("no image", one, {}, 64), Error);
  EXPECT_THROW(image_prompt({3, 0}, 64), Error);
  EXPECT_THROW(image_prompt({1, 1}, 0), Error);
  EXPECT_THROW(image_prompt({100000, 100000}, 64), Error);
}

TEST(SmolVlmPrompt, VideoPromptForThreeFrames) {
  const VideoLayout video{3, 3, {{0, 0}, {0, 1}, {0, 2}}};
  const std::string block = "<fake_token_around_image><global-img><image><fake_token_around_image>";
  EXPECT_EQ(
      video_prompt(video, 1),
      "You are provided the following series of three frames from a 0:00:03 [H:MM:SS] video.\n"
      "\nFrame from 00:00:" +
          block + "\nFrame from 00:01:" + block + "\nFrame from 00:02:" + block + "\n\n");
}

TEST(SmolVlmPrompt, VideoIntroNamesThePaddedFrameCount) {
  // Errata 8: the count is after padding across the batch, the blocks follow the timestamps.
  const std::string text = video_prompt({64, 65, {{0, 0}}}, 64);
  EXPECT_EQ(text.rfind("You are provided the following series of sixty-four frames from a 0:01:05 "
                       "[H:MM:SS] video.\n",
                       0),
            0u);
  EXPECT_EQ(count_of(text, "Frame from"), 1u);
}

TEST(SmolVlmPrompt, NumberWordsAndDurations) {
  EXPECT_EQ(number_to_words(64), "sixty-four");
  EXPECT_EQ(number_to_words(1000), "one thousand");
  EXPECT_EQ(number_to_words(-3), "minus three");
  EXPECT_EQ(format_timedelta(65), "0:01:05");
  EXPECT_THROW(format_timedelta(-1), Error);
}

class SmolVlmPromptTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(smolvlm_dir() / "tokenizer.json"))
      GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent";
    tokenizer_ = std::make_unique<tok::Tokenizer>(
        tok::Tokenizer::from_file(smolvlm_dir() / "tokenizer.json"));
  }
  std::unique_ptr<tok::Tokenizer> tokenizer_;
};

TEST_F(SmolVlmPromptTokens, SplitImageLengthFollowsErrata6) {
  // R·(C·(N+2)+1) + N + 3: the last row's "\n" and the global image's "\n" merge into 1116.
  for (auto [rows, cols] : {std::pair{3, 4}, {4, 4}, {1, 4}, {2, 3}}) {
    const auto ids = tokenizer_->encode(image_prompt({rows, cols}, 64), false);
    EXPECT_EQ(static_cast<int>(ids.size()), rows * (cols * (64 + 2) + 1) + 64 + 3)
        << rows << "x" << cols;
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1116), 1);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 198), rows - 1);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 49190), (rows * cols + 1) * 64);
  }
}

TEST_F(SmolVlmPromptTokens, UnsplitImageIsNPlusThreeTokens) {
  const auto ids = tokenizer_->encode(image_prompt({0, 0}, 64), false);
  ASSERT_EQ(ids.size(), 67u);
  EXPECT_EQ(ids.front(), 49189);
  EXPECT_EQ(ids[1], 49152);
  EXPECT_EQ(ids.back(), 49189);
}

TEST_F(SmolVlmPromptTokens, ChatPromptStartsWithImStartAndEndsWithAssistantColon) {
  const std::string text =
      expand_prompt(std::string(kExample), std::vector<ImageLayout>{{3, 4}}, {}, 64);
  const auto ids = tokenizer_->encode(text, false);
  EXPECT_EQ(ids.front(), 1);  // <|im_start|> from the template; the tokenizer adds no BOS
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 49190), 832);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 49279), 1);
  EXPECT_EQ(tokenizer_->encode(text, true), ids);
}

}  // namespace
}  // namespace vlmrt::smolvlm
