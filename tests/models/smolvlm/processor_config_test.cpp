#include "models/processor_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../processor_parity.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {
namespace {

// Parses `text` as preprocessor_config.json for `family`; returns the error message ("" if none).
std::string parse_error(const std::string& text, ModelFamily family = ModelFamily::Idefics3,
                        ErrorKind* kind = nullptr) {
  try {
    (void)parse_image_processor_config(json::parse(text, "pp.json"), family, "pp.json");
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "";
}

TEST(ProcessorConfig, ParsesSmolVlmFixtureValues) {
  const auto config = load_image_processor_config(testing::sample_model("SmolVLM-256M-Instruct"),
                                                  ModelFamily::Idefics3);
  EXPECT_TRUE(config.do_resize);
  EXPECT_EQ(config.size.longest_edge, 2048);
  EXPECT_FALSE(config.size.is_fixed());
  EXPECT_EQ(config.max_image_size, 512);
  EXPECT_EQ(config.resample, image::ResampleFilter::Lanczos);
  EXPECT_EQ(config.resample_code, 1);
  EXPECT_TRUE(config.do_image_splitting);
  EXPECT_TRUE(config.do_pad);
  EXPECT_TRUE(config.do_convert_rgb);
  EXPECT_DOUBLE_EQ(config.rescale_factor, 0.00392156862745098);
  EXPECT_EQ(config.image_mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(config.image_std, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
}

TEST(ProcessorConfig, ParsesRealSmolVlm256MConfig) {
  if (!testing::have_real_smolvlm())
    GTEST_SKIP() << "no " << testing::real_smolvlm_dir() << " (shared data absent)";
  const auto family = detect_family(testing::real_smolvlm_dir());
  EXPECT_EQ(family, ModelFamily::Idefics3);
  const auto config = load_image_processor_config(testing::real_smolvlm_dir(), family);
  EXPECT_EQ(config.size.longest_edge, 2048);
  EXPECT_EQ(config.max_image_size, 512);
  EXPECT_EQ(config.resample, image::ResampleFilter::Lanczos);
  EXPECT_TRUE(config.do_image_splitting);
}

TEST(ProcessorConfig, AbsentFieldsTakeTheFamilyClassDefaults) {
  const auto smolvlm =
      parse_image_processor_config(json::Json::object(), ModelFamily::SmolVlm, "pp.json");
  EXPECT_EQ(smolvlm.size.longest_edge, 2048);
  EXPECT_EQ(smolvlm.max_image_size, 512);
  EXPECT_EQ(smolvlm.resample, image::ResampleFilter::Lanczos);
  EXPECT_TRUE(smolvlm.do_image_splitting);
  const auto idefics3 =
      parse_image_processor_config(json::Json::object(), ModelFamily::Idefics3, "pp.json");
  EXPECT_EQ(idefics3.size.longest_edge, 4 * 364);
  EXPECT_EQ(idefics3.max_image_size, 364);
}

TEST(ProcessorConfig, AcceptsScalarMeanAndFixedSize) {
  const auto config = parse_image_processor_config(
      json::parse(R"({"image_mean": 0.25, "size": {"height": 600, "width": 800}})", "pp.json"),
      ModelFamily::Idefics3, "pp.json");
  EXPECT_EQ(config.image_mean, (std::array<float, 3>{0.25f, 0.25f, 0.25f}));
  EXPECT_TRUE(config.size.is_fixed());
  EXPECT_EQ(config.size.width, 800);
}

TEST(ProcessorConfig, RejectsSizeWithoutLongestEdgeOrHeightAndWidth) {
  const auto message = parse_error(R"({"size": {"shortest_edge": 512}})");
  EXPECT_NE(message.find("pp.json"), std::string::npos) << message;
  EXPECT_NE(message.find("'size'"), std::string::npos) << message;
}

TEST(ProcessorConfig, RejectsUnknownResampleCodeNamingTheField) {
  ErrorKind kind{};
  const auto message = parse_error(R"({"resample": 9})", ModelFamily::Idefics3, &kind);
  EXPECT_EQ(kind, ErrorKind::Unsupported);
  EXPECT_NE(message.find("'resample'"), std::string::npos) << message;
}

TEST(ProcessorConfig, RejectsMistypedFlagNamingTheField) {
  const auto message = parse_error(R"({"do_resize": "yes"})");
  EXPECT_NE(message.find("do_resize"), std::string::npos) << message;
}

TEST(ProcessorConfig, RejectsTinyOrHugeEdges) {
  EXPECT_NE(parse_error(R"({"max_image_size": {"longest_edge": 1}})").find("max_image_size"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"size": {"longest_edge": 100000}})").find("size.longest_edge"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"max_image_size": 512})").find("max_image_size"), std::string::npos);
}

TEST(ProcessorConfig, RejectsZeroStdAndWrongChannelCount) {
  EXPECT_NE(parse_error(R"({"image_std": [0.5, 0, 0.5]})").find("image_std"), std::string::npos);
  EXPECT_NE(parse_error(R"({"image_mean": [0.5, 0.5]})").find("image_mean"), std::string::npos);
  EXPECT_NE(parse_error(R"({"rescale_factor": -1})").find("rescale_factor"), std::string::npos);
}

TEST(ProcessorConfig, MissingFileIsNotFoundNamingThePath) {
  const auto dir = testing::scratch_dir("processor_config_missing");
  try {
    (void)load_image_processor_config(dir, ModelFamily::Idefics3);
    FAIL() << "expected NotFound";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("preprocessor_config.json"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlmrt
