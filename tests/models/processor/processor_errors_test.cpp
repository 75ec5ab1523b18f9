// Processor input checks: requests and conversations a model has no prompt format for are
// rejected with the kind and counts named, before any template is rendered.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "models/model_folder.hpp"
#include "models/processor.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

fs::path fixture(const std::string& name) {
  return testing::source_dir() / "tests" / "fixtures" / "models" / name;
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class ProcessorErrors : public ::testing::Test {
 protected:
  Processor paligemma_ = Processor::load(ModelFolder::inspect(fixture("tiny-paligemma-fp32")));
  Processor smolvlm_ = Processor::load(ModelFolder::inspect(fixture("tiny-smolvlm-fp32")));
  std::vector<ImageRgb8> one_image_{testing::noise_image(20, 10, 3)};
};

TEST_F(ProcessorErrors, PaliGemmaChatIsUnsupported) {
  const std::vector<ChatTurn> turns{{"user", "caption en", 1}};
  const std::string error = error_of([&] { (void)paligemma_.prepare_chat(turns, one_image_); });
  EXPECT_TRUE(error.starts_with("unsupported: ")) << error;
  EXPECT_TRUE(contains(error, "PaliGemma has no chat format")) << error;
}

TEST_F(ProcessorErrors, PaliGemmaSystemMessageIsInvalidArgument) {
  const std::string error =
      error_of([&] { (void)paligemma_.prepare(one_image_, "caption en", "Be brief."); });
  EXPECT_TRUE(error.starts_with("invalid argument: ")) << error;
  EXPECT_TRUE(contains(error, "PaliGemma has no chat template")) << error;
}

TEST_F(ProcessorErrors, ChatImageCountMismatchNamesBothCounts) {
  const std::vector<ChatTurn> turns{
      {"user", "Look.", 1}, {"assistant", "Yes.", 0}, {"user", "And these?", 2}};
  const std::string error = error_of([&] { (void)smolvlm_.prepare_chat(turns, one_image_); });
  EXPECT_TRUE(error.starts_with("invalid argument: ")) << error;
  EXPECT_TRUE(contains(error, "declare 3 image(s) but 1 image(s) were given")) << error;
}

TEST_F(ProcessorErrors, EmptyPromptWithoutImagesIsInvalidArgument) {
  for (const Processor* processor : {&paligemma_, &smolvlm_}) {
    const std::string error = error_of([&] { (void)processor->prepare({}, ""); });
    EXPECT_TRUE(error.starts_with("invalid argument: ")) << error;
    EXPECT_TRUE(contains(error, "empty text and no images")) << error;
  }
}

TEST_F(ProcessorErrors, EmptyPromptWithAnImageIsAccepted) {
  EXPECT_EQ(error_of([&] { (void)paligemma_.plan(one_image_, ""); }), "no error");
  EXPECT_EQ(error_of([&] { (void)smolvlm_.plan(one_image_, ""); }), "no error");
}

TEST_F(ProcessorErrors, MalformedConversationsAreInvalidArgument) {
  const auto error_for = [&](std::vector<ChatTurn> turns, std::size_t images) {
    const std::vector<ImageRgb8> given(images, one_image_.front());
    return error_of([&] { (void)smolvlm_.plan_chat(turns, given); });
  };
  EXPECT_TRUE(contains(error_for({}, 0), "no turns")) << error_for({}, 0);
  const std::string role = error_for({{"User", "hi", 0}}, 0);
  EXPECT_TRUE(contains(role, "chat turn 1 (User): role must be")) << role;
  const std::string empty =
      error_for({{"user", "hi", 0}, {"assistant", "", 0}, {"user", "x", 0}}, 0);
  EXPECT_TRUE(contains(empty, "chat turn 2 (assistant): has no text and no image")) << empty;
  const std::string image_role = error_for({{"system", "s", 1}, {"user", "x", 0}}, 1);
  EXPECT_TRUE(contains(image_role, "images belong in user turns")) << image_role;
  const std::string negative = error_for({{"user", "x", -1}}, 0);
  EXPECT_TRUE(contains(negative, "num_images is -1")) << negative;
  const std::string last = error_for({{"user", "x", 0}, {"assistant", "y", 0}}, 0);
  EXPECT_TRUE(contains(last, "last turn is assistant's")) << last;
  for (const auto& error : {role, empty, image_role, negative, last})
    EXPECT_TRUE(error.starts_with("invalid argument: ")) << error;
}

TEST_F(ProcessorErrors, ImageMarkerInSmolVlmTextWithoutMatchingImageIsInvalidArgument) {
  const std::string error = error_of([&] { (void)smolvlm_.plan(one_image_, "see <image>"); });
  EXPECT_TRUE(error.starts_with("invalid argument: ")) << error;
}

TEST(ProcessorLoad, TokenizerWhoseImageIdDisagreesWithConfigIsFormatError) {
  const fs::path dir = testing::scratch_dir("processor_image_id");
  for (const char* name : {"config.json", "preprocessor_config.json", "tokenizer.json",
                           "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(fixture("tiny-paligemma-fp32") / name, dir / name);
  auto config = json::read_file(dir / "config.json");
  const auto key = config.contains("image_token_index") ? "image_token_index" : "image_token_id";
  config[key] = 7;
  { std::ofstream(dir / "config.json") << config.dump(); }
  const std::string error = error_of([&] { (void)Processor::load(ModelFolder::inspect(dir)); });
  EXPECT_TRUE(error.starts_with("format error: ")) << error;
  EXPECT_TRUE(contains(error, "image_token_id is 7")) << error;
}

TEST(ProcessorLoad, MissingTokenizerIsNotFoundNamingTheFile) {
  const fs::path dir = testing::scratch_dir("processor_no_tokenizer");
  for (const char* name : {"config.json", "preprocessor_config.json"})
    fs::copy_file(fixture("tiny-smolvlm-fp32") / name, dir / name);
  const std::string error = error_of([&] { (void)Processor::load(ModelFolder::inspect(dir)); });
  EXPECT_TRUE(error.starts_with("not found: ")) << error;
  EXPECT_TRUE(contains(error, "tokenizer.json")) << error;
}

}  // namespace
}  // namespace vlmrt
