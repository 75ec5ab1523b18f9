// The public API end to end on the golden fixtures: image files → processor → native engine →
// generation loop, compared with the reference's greedy tokens; streaming, sampling, chat reuse.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "golden_cases.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt {
namespace {

using testing::GoldenCase;

std::vector<ImageRgb8> case_images(const GoldenCase& golden) {
  std::vector<ImageRgb8> images;
  for (const auto& file : golden.images) images.push_back(load_image(golden.dir / file));
  return images;
}

ModelOptions two_threads() {
  ModelOptions options;
  options.threads = 2;
  return options;
}

GenerationOptions golden_options(const GoldenCase& golden) {
  GenerationOptions options;
  options.max_new_tokens = golden.tokens.size();
  options.ignore_eos = golden.ignore_eos;
  options.eos_token_ids = golden.eos_token_ids;
  return options;
}

// The whole pipeline reproduces the reference's 24 greedy tokens for every case: processor
// (ids, pixels), vision tower, connector, decoder and the generation loop together.
TEST(VlmModel, EveryGoldenCaseGivesTheReferenceTokensFromImageFiles) {
  for (const GoldenCase& golden : testing::golden_cases()) {
    SCOPED_TRACE(golden.label());
    VlmModel model = VlmModel::open(golden.model_dir, backend::Native{}, two_threads());
    const auto images = case_images(golden);
    const GenerationOutput out = model.generate(images, golden.prompt, golden_options(golden));
    EXPECT_EQ(out.tokens, golden.tokens);
    EXPECT_EQ(out.finish_reason, FinishReason::MaxNewTokens);
    EXPECT_EQ(out.stats.prefill_tokens, golden.input_ids.size());
    EXPECT_EQ(out.stats.decode_tokens, golden.tokens.size() - 1);
    EXPECT_EQ(out.stats.tiles > 0, golden.has_images());
    EXPECT_GT(out.stats.peak_rss_mb, 0.0);
  }
}

TEST(VlmModel, FamilyIsTheDocumentedIdentifierAndPicksTheCaptionPrompt) {
  const std::pair<const char*, const char*> expected[] = {{"tiny-paligemma-fp32", "paligemma"},
                                                          {"tiny-paligemma2-fp32", "paligemma2"},
                                                          {"tiny-smolvlm-fp32", "idefics3"},
                                                          {"tiny-smolvlm2-fp32", "smolvlm"}};
  for (const auto& [fixture, family] : expected) {
    const VlmModel model =
        VlmModel::open(testing::source_dir() / "tests" / "fixtures" / "models" / fixture);
    EXPECT_EQ(model.family(), family);
    EXPECT_EQ(model.caption_prompt(),
              std::string(family).starts_with("paligemma") ? "caption en" : "Describe the image.");
  }
}

TEST(VlmModel, RepeatedCallsGiveTheSameAnswer) {
  const auto golden = testing::load_golden_case("tiny-smolvlm-fp32", "single_image_45x40");
  VlmModel model = VlmModel::open(golden.model_dir);
  const auto images = case_images(golden);
  const auto first = model.generate(images, golden.prompt, golden_options(golden));
  const auto second = model.generate(images, golden.prompt, golden_options(golden));
  EXPECT_EQ(first.tokens, second.tokens);
  EXPECT_EQ(first.text, second.text);
}

TEST(VlmModel, StreamedPiecesConcatenateToTheText) {
  const auto golden = testing::load_golden_case("tiny-smolvlm2-bf16", "single_image_45x40");
  VlmModel model = VlmModel::open(golden.model_dir);
  std::string streamed;
  int pieces = 0;
  const auto out = model.generate(case_images(golden), golden.prompt, golden_options(golden),
                                  [&](std::string_view piece) {
                                    streamed += piece;
                                    ++pieces;
                                    return true;
                                  });
  EXPECT_EQ(streamed, out.text);
  EXPECT_GT(pieces, 1);
  EXPECT_FALSE(out.text.empty());
}

TEST(VlmModel, CancellingFromTheCallbackStopsGeneration) {
  const auto golden = testing::load_golden_case("tiny-paligemma-fp32", "caption_40x30");
  VlmModel model = VlmModel::open(golden.model_dir);
  int calls = 0;
  const auto out = model.generate(case_images(golden), golden.prompt, golden_options(golden),
                                  [&](std::string_view) { return ++calls < 2; });
  EXPECT_EQ(out.finish_reason, FinishReason::Cancelled);
  EXPECT_LT(out.tokens.size(), golden.tokens.size());
}

TEST(VlmModel, SamplingIsDeterministicPerSeed) {
  const auto golden = testing::load_golden_case("tiny-smolvlm-fp32", "text_only");
  VlmModel model = VlmModel::open(golden.model_dir);
  GenerationOptions options = golden_options(golden);
  options.do_sample = true;
  options.temperature = 1.5;
  options.top_k = 0;
  options.seed = 1234;
  const auto a = model.generate({}, golden.prompt, options);
  const auto b = model.generate({}, golden.prompt, options);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.seed, 1234u);
  options.seed = 99;
  const auto c = model.generate({}, golden.prompt, options);
  EXPECT_NE(a.tokens, c.tokens);  // 24 tokens at temperature 1.5 over a 444-token vocabulary
}

// Turn 2 of a chat reuses turn 1's cache and must answer exactly what a fresh run of the whole
// conversation answers.
TEST(Chat, SecondTurnWithCacheReuseEqualsAFreshRunOfTheConversation) {
  for (const char* fixture : {"tiny-smolvlm-fp32", "tiny-smolvlm2-bf16"}) {
    SCOPED_TRACE(fixture);
    const auto golden = testing::load_golden_case(fixture, "single_image_45x40");
    VlmModel model = VlmModel::open(golden.model_dir);
    const auto images = case_images(golden);
    GenerationOptions options = golden_options(golden);
    options.max_new_tokens = 8;

    Chat chat = model.start_chat();
    const auto first = chat.send(images, golden.prompt, options);
    EXPECT_EQ(chat.reused_positions(), 0u);
    const auto second = chat.send({}, "And what else?", options);
    EXPECT_GT(chat.reused_positions(), golden.input_ids.size() / 2);
    EXPECT_LT(second.stats.prefill_tokens, golden.input_ids.size());

    Chat fresh = model.start_chat();
    fresh.add("user", images, golden.prompt);
    fresh.add("assistant", {}, first.text);
    const auto replay = fresh.send({}, "And what else?", options);
    EXPECT_EQ(fresh.reused_positions(), 0u);
    EXPECT_EQ(second.tokens, replay.tokens);
    EXPECT_EQ(second.text, replay.text);
  }
}

TEST(Chat, PaliGemmaHasNoChat) {
  VlmModel model = VlmModel::open(testing::golden_fixture_dir("tiny-paligemma-fp32"));
  EXPECT_NE(testing::error_of([&] { model.start_chat(); }).find("unsupported"), std::string::npos);
}

TEST(FamilyClasses, OpenOnlyTheirFamilyAndAnswer) {
  const auto golden = testing::load_golden_case("tiny-paligemma2-fp32", "caption_40x30");
  Paligemma paligemma = Paligemma::open(golden.model_dir);
  const auto images = case_images(golden);
  EXPECT_FALSE(paligemma.infer(images[0], golden.prompt, 4).empty());
  EXPECT_NE(paligemma.backend_name().find("native-cpu"), std::string::npos);
  EXPECT_FALSE(paligemma.supports_batch());
  const std::string wrong = testing::error_of([&] { SmolVlm::open(golden.model_dir); });
  EXPECT_NE(wrong.find("invalid argument"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("Paligemma"), std::string::npos) << wrong;
  SmolVlm smol = SmolVlm::open(testing::golden_fixture_dir("tiny-smolvlm-fp32"));
  EXPECT_FALSE(smol.infer(images[0], "What is this?", 4).empty());
}

}  // namespace
}  // namespace vlmrt
