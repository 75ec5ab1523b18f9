// Processor::prepare_chat: a conversation rendered with the SmolVLM chat template, and whether the
// previous turn's prompt plus the generated answer is a prefix of the next turn's ids — what
// multi-turn KV-cache reuse looks for (the longest common prefix).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "models/model_folder.hpp"
#include "models/processor.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

fs::path real_smolvlm_dir() {
  return testing::shared_data_dir() / "SmolVLM-256M-Instruct";
}
fs::path tiny_smolvlm_dir() {
  return testing::source_dir() / "tests" / "fixtures" / "models" / "tiny-smolvlm-fp32";
}

std::size_t common_prefix(std::span<const tok::TokenId> a, std::span<const tok::TokenId> b) {
  return static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first -
                                  a.begin());
}

bool is_prefix(std::span<const tok::TokenId> prefix, std::span<const tok::TokenId> ids) {
  return prefix.size() <= ids.size() && common_prefix(prefix, ids) == prefix.size();
}

constexpr const char* kQuestion = "Can you describe this image?";
constexpr const char* kFollowUp = "What colour is it?";

// The ids a model would generate for `answer` after "Assistant:": its tokenization (the model's
// first token carries the space, "ĠThe") and the stop token <end_of_utterance> (generation_config
// eos, MODELS.md errata 9).
std::vector<tok::TokenId> generated_answer(const Processor& processor, const std::string& answer) {
  auto ids = processor.tokenizer().encode(" " + answer, /*add_special_tokens=*/false);
  const auto eou = processor.tokenizer().token_to_id("<end_of_utterance>");
  EXPECT_TRUE(eou.has_value());
  if (eou) ids.push_back(*eou);
  return ids;
}

// Turn 1 (user: image + question), the model answers, turn 2 (user: follow-up). Checks the cache
// prefix property for the answer as decoded and with its leading space stripped.
void check_two_turn_prefix(const fs::path& model_dir) {
  const Processor processor = Processor::load(ModelFolder::inspect(model_dir));
  const std::vector<ImageRgb8> images{testing::noise_image(45, 40, 7)};
  const std::vector<ChatTurn> turn1{{"user", kQuestion, 1}};
  const PreparedPrompt first = processor.plan_chat(turn1, images);
  // A one-turn chat is the single request.
  EXPECT_EQ(first.ids, processor.plan(images, kQuestion).ids);

  const std::string answer_text = "The image shows a red circle.";
  const auto answer = generated_answer(processor, answer_text);
  std::vector<tok::TokenId> cached = first.ids;
  cached.insert(cached.end(), answer.begin(), answer.end());
  // What a caller gets back from the tokenizer for the answer (without the stop token).
  const std::string decoded = processor.tokenizer().decode(
      std::span(answer).first(answer.size() - 1), /*skip_special_tokens=*/true);
  ASSERT_EQ(decoded, " " + answer_text);

  // Stored as decoded: the template writes "Assistant: " and the answer brings its own space.
  const std::vector<ChatTurn> as_decoded{
      {"user", kQuestion, 1}, {"assistant", decoded, 0}, {"user", kFollowUp, 0}};
  const PreparedPrompt second_raw = processor.plan_chat(as_decoded, images);
  EXPECT_NE(second_raw.template_text.find("Assistant:  The image"), std::string::npos);
  EXPECT_FALSE(is_prefix(cached, second_raw.ids));
  // Exactly one token differs: a lone space ("Ġ") inserted before the answer's tokens, so only
  // turn 1's prompt is reusable, not the answer.
  const auto space = processor.tokenizer().token_to_id("\xC4\xA0");  // "Ġ", ByteLevel's space
  ASSERT_TRUE(space.has_value());
  std::vector<tok::TokenId> with_space = first.ids;
  with_space.push_back(*space);
  with_space.insert(with_space.end(), answer.begin(), answer.end());
  EXPECT_TRUE(is_prefix(with_space, second_raw.ids));
  EXPECT_GE(common_prefix(cached, second_raw.ids), first.ids.size());
  EXPECT_LT(common_prefix(cached, second_raw.ids), cached.size());

  // Stored stripped: the rendered turn-2 text continues turn 1's prompt with exactly the answer's
  // tokens and <end_of_utterance>; only "\nUser: …\nAssistant:" is new.
  const std::vector<ChatTurn> stripped{
      {"user", kQuestion, 1}, {"assistant", answer_text, 0}, {"user", kFollowUp, 0}};
  const PreparedPrompt second = processor.plan_chat(stripped, images);
  EXPECT_EQ(second.template_text, "<|im_start|>User:<image>" + std::string(kQuestion) +
                                      "<end_of_utterance>\nAssistant: " + answer_text +
                                      "<end_of_utterance>\nUser: " + kFollowUp +
                                      "<end_of_utterance>\nAssistant:");
  EXPECT_TRUE(is_prefix(cached, second.ids))
      << "common prefix " << common_prefix(cached, second.ids) << " of " << cached.size();
  const auto tail = processor.tokenizer().decode(std::span(second.ids).subspan(cached.size()));
  EXPECT_EQ(tail, "\nUser: " + std::string(kFollowUp) + "<end_of_utterance>\nAssistant:");
  // The image block lies wholly inside the reused prefix.
  EXPECT_EQ(second.image_token_starts, first.image_token_starts);
}

TEST(ProcessorChat, RealSmolVlmTemplateTurnPlusAnswerIsPrefixOfNextTurn) {
  if (!fs::exists(real_smolvlm_dir() / "tokenizer.json"))
    GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent (" << real_smolvlm_dir() << ")";
  check_two_turn_prefix(real_smolvlm_dir());
}

TEST(ProcessorChat, TinyFixtureTemplateTurnPlusAnswerIsPrefixOfNextTurn) {
  check_two_turn_prefix(tiny_smolvlm_dir());
}

TEST(ProcessorChat, ImagesOfLaterTurnsExpandInConversationOrder) {
  const Processor processor = Processor::load(ModelFolder::inspect(tiny_smolvlm_dir()));
  const std::vector<ImageRgb8> images{testing::noise_image(45, 40, 1),
                                      testing::noise_image(24, 60, 2)};
  const std::vector<ChatTurn> turns{{"system", "Answer briefly.", 0},
                                    {"user", "First?", 1},
                                    {"assistant", "A circle.", 0},
                                    {"user", "And this one?", 1}};
  const PreparedPrompt prepared = processor.prepare_chat(turns, images);
  EXPECT_EQ(prepared.template_text,
            "<|im_start|>System: Answer briefly.<end_of_utterance>\nUser:<image>First?"
            "<end_of_utterance>\nAssistant: A circle.<end_of_utterance>\nUser:<image>And this "
            "one?<end_of_utterance>\nAssistant:");
  ASSERT_EQ(prepared.images.size(), 2u);
  ASSERT_EQ(prepared.image_token_starts.size(), 2u);
  EXPECT_LT(prepared.image_token_starts[0], prepared.image_token_starts[1]);
  // The second image's block comes after the first assistant answer.
  const auto answer_at = prepared.text.find("A circle.");
  const auto second_block = prepared.text.find("<image>", answer_at);
  EXPECT_NE(second_block, std::string::npos);
  // Pixels: both images' frames, in order, identical to processing them directly.
  const PixelBatch direct = processor.image_processor().process(images);
  EXPECT_EQ(prepared.pixels.num_frames, direct.num_frames);
  EXPECT_EQ(prepared.pixels.pixel_values, direct.pixel_values);
  EXPECT_EQ(prepared.pixels.images[1].first_frame, prepared.images[1].first_frame);
  EXPECT_EQ(prepared.bidirectional_prefix, 0u);
}

TEST(ProcessorChat, SystemMessageComesFirstInSingleRequest) {
  const Processor processor = Processor::load(ModelFolder::inspect(tiny_smolvlm_dir()));
  const PreparedPrompt prepared = processor.plan({}, "Hi", "Be brief.");
  EXPECT_EQ(prepared.text,
            "<|im_start|>System: Be brief.<end_of_utterance>\nUser: Hi<end_of_utterance>\n"
            "Assistant:");
  EXPECT_EQ(prepared.ids, processor.tokenizer().encode(prepared.text, false));
}

}  // namespace
}  // namespace vlmrt
