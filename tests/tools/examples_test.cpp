// The example programs run against the tiny fixtures and print what they promise.
#include <gtest/gtest.h>

#include "golden_cases.hpp"
#include "test_support.hpp"

#ifdef VLMRT_EXAMPLES_DIR

namespace vlmrt {
namespace {

std::string example(const std::string& name, const std::string& args, int* status) {
  std::string output;
  *status = testing::run_command(
      testing::shell_quote(std::string(VLMRT_EXAMPLES_DIR) + "/" + name) + " " + args + " 2>&1",
      &output);
  return output;
}

std::string image_of(const std::string& fixture, const std::string& name) {
  const auto golden = testing::load_golden_case(fixture, name);
  return testing::shell_quote((golden.dir / golden.images[0]).string());
}

std::string model(const std::string& fixture) {
  return testing::shell_quote(testing::golden_fixture_dir(fixture).string());
}

TEST(Examples, PaligemmaNativeCaptionsAndReportsStats) {
  int status = -1;
  const auto out = example("paligemma_native",
                           model("tiny-paligemma-fp32") + " " +
                               image_of("tiny-paligemma-fp32", "caption_40x30") + " \"detect cat\"",
                           &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("detect cat: "), std::string::npos) << out;
  EXPECT_NE(out.find("native-cpu"), std::string::npos) << out;
}

TEST(Examples, SmolvlmChatReusesTheCacheOnTurnTwo) {
  int status = -1;
  const auto out = example(
      "smolvlm_chat",
      model("tiny-smolvlm2-fp32") + " " + image_of("tiny-smolvlm2-fp32", "single_image_45x40"),
      &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("turn 2 reused"), std::string::npos) << out;
  EXPECT_EQ(out.find("reused 0 cached"), std::string::npos) << out;
}

TEST(Examples, BackendSelectionRunsNativeAndExplainsTheOthers) {
  int status = -1;
  const auto out = example(
      "backend_selection",
      model("tiny-smolvlm-fp32") + " " + image_of("tiny-smolvlm-fp32", "single_image_45x40"),
      &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("[native-cpu"), std::string::npos) << out;
  EXPECT_NE(out.find("[onnx-tensorrt] not available"), std::string::npos) << out;
}

}  // namespace
}  // namespace vlmrt

#endif
