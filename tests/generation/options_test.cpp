// GenerationOptions validation and defaults taken from generation_config.json.
#include "generation/options.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "models/generation_config.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::gen {
namespace {

// The InvalidArgument message for `options`, or "" when they are valid.
std::string rejection(const GenerationOptions& options) {
  try {
    validate(options);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  return "";
}

template <typename Edit>
std::string rejection_of(Edit edit) {
  GenerationOptions o;
  edit(o);
  return rejection(o);
}

TEST(GenerationOptions, DefaultsAreHfGreedyWithTwentyNewTokens) {
  const GenerationOptions o;
  EXPECT_EQ(rejection(o), "");
  EXPECT_FALSE(o.do_sample);
  EXPECT_EQ(o.max_new_tokens, 20u);
  EXPECT_EQ(o.top_k, 50);
  EXPECT_EQ(o.top_p, 1.0);
  EXPECT_EQ(o.repetition_penalty, 1.0);
}

TEST(GenerationOptions, RejectsNonPositiveTemperatureOnlyWhenSampling) {
  EXPECT_EQ(rejection_of([](auto& o) { o.temperature = 0; }), "");
  EXPECT_NE(rejection_of([](auto& o) {
              o.do_sample = true;
              o.temperature = 0;
            }).find("'temperature'"),
            std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) {
              o.do_sample = true;
              o.temperature = std::numeric_limits<double>::infinity();
            }),
            "");
}

TEST(GenerationOptions, RejectsTopPOutsideZeroToOne) {
  EXPECT_NE(rejection_of([](auto& o) { o.top_p = 0; }).find("'top_p' must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) { o.top_p = 1.5; }), "");
  EXPECT_NE(rejection_of([](auto& o) { o.top_p = std::nan(""); }), "");
  EXPECT_EQ(rejection_of([](auto& o) { o.top_p = 1.0; }), "");
}

TEST(GenerationOptions, RejectsOtherOutOfRangeValues) {
  EXPECT_NE(rejection_of([](auto& o) { o.max_new_tokens = 0; }).find("max_new_tokens"),
            std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) { o.top_k = -1; }).find("top_k"), std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) { o.min_p = 1.5; }).find("min_p"), std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) { o.min_p = -0.1; }), "");
  EXPECT_NE(rejection_of([](auto& o) { o.repetition_penalty = 0; }).find("repetition_penalty"),
            std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) { o.repetition_penalty = std::nan(""); }), "");
  EXPECT_NE(rejection_of([](auto& o) {
              o.stop_strings = {"ok", ""};
            }).find("entry 1"),
            std::string::npos);
  EXPECT_NE(rejection_of([](auto& o) { o.eos_token_ids = {-3}; }).find("eos_token_ids"),
            std::string::npos);
}

TEST(GenerationOptions, TakesModelDefaultsFromGenerationConfig) {
  GenerationConfig config;
  config.eos_token_ids = {1, 107};
  config.max_new_tokens = 64;
  config.do_sample = true;
  config.temperature = 0.7;
  config.top_p = 0.9;
  config.repetition_penalty = 1.1;
  const GenerationOptions o = options_from_generation_config(config);
  EXPECT_EQ(o.eos_token_ids, (std::vector<TokenId>{1, 107}));
  EXPECT_EQ(o.max_new_tokens, 64u);
  EXPECT_TRUE(o.do_sample);
  EXPECT_EQ(o.temperature, 0.7);
  EXPECT_EQ(o.top_k, 50);  // not in the file: transformers' default
  EXPECT_EQ(o.top_p, 0.9);
  EXPECT_EQ(o.repetition_penalty, 1.1);
}

TEST(GenerationOptions, RejectsGenerationConfigValuesOutOfRange) {
  GenerationConfig config;
  config.eos_token_ids = {std::int64_t{1} << 40};
  EXPECT_THROW(options_from_generation_config(config), Error);
  GenerationConfig sampling_at_zero;
  sampling_at_zero.do_sample = true;
  sampling_at_zero.temperature = 0.0;
  EXPECT_THROW(options_from_generation_config(sampling_at_zero), Error);
}

TEST(GenerationOptions, SmolVlmStopsOnEndOfUtterance) {
  const auto file =
      vlmrt::testing::shared_data_dir() / "SmolVLM-256M-Instruct" / "generation_config.json";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "shared data absent: " << file;
  const GenerationOptions o = options_from_generation_config(GenerationConfig::load(file));
  // MODELS.md errata 9: 49279 <end_of_utterance>, not config.json's eos 2.
  EXPECT_EQ(o.eos_token_ids, (std::vector<TokenId>{49279}));
  EXPECT_FALSE(o.do_sample);
  EXPECT_EQ(o.max_new_tokens, 20u);
}

}  // namespace
}  // namespace vlmrt::gen
