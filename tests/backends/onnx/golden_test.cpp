// The ONNX backend against the PyTorch reference's goldens (tests/fixtures/models): every case of
// the four fp32 fixtures, exported with scripts/export_onnx.py (fp32). The vision encoder runs on
// the case's pixel_values.npy; the prompt is its input_ids with those features merged. Checked:
// the connector rows, the last-position logits at prefill and at each of the 24 greedy steps
// (within 1e-4), and the 24 greedy tokens of gen::generate (equal).
#ifdef VLMRT_WITH_ONNXRUNTIME
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <span>

#include "generation/generate.hpp"
#include "golden_cases.hpp"
#include "models/family.hpp"
#include "onnx_test_support.hpp"
#include "test_support.hpp"

namespace vlmrt::testing {
void PrintTo(const GoldenCase& golden, std::ostream* out) {
  *out << golden.label();
}
}  // namespace vlmrt::testing

namespace vlmrt::onnx {
namespace {

using vlmrt::testing::GoldenCase;
using vlmrt::testing::max_abs_diff;

// fp32 graphs under ORT differ from PyTorch's f32 only in summation order.
constexpr float kTolerance = 1e-4f;

std::vector<GoldenCase> fp32_cases() {
  std::vector<GoldenCase> cases;
  for (GoldenCase& golden : vlmrt::testing::golden_cases())
    if (!golden.is_bf16()) cases.push_back(std::move(golden));
  return cases;
}

std::string test_name(const ::testing::TestParamInfo<GoldenCase>& info) {
  return vlmrt::testing::case_test_name(info.param.fixture, info.param.name);
}

struct OpenedCase {
  std::unique_ptr<runtime::ModelBackend> backend;
  runtime::PromptChunk chunk;
  float features_diff = 0.0f;
};

OpenedCase open_case(const GoldenCase& golden) {
  OpenedCase opened;
  const ModelFolder folder = ModelFolder::inspect(testing::exports_dir() / golden.fixture);
  opened.backend = open_onnx_backend(folder, testing::cpu_options());
  runtime::PromptChunk& chunk = opened.chunk;
  chunk.ids.assign(golden.input_ids.begin(), golden.input_ids.end());
  // PaliGemma's prefix-LM: the leading token_type_ids zeros (the whole prompt when none).
  if (is_paligemma(folder.config.family)) {
    while (chunk.bidirectional_prefix < golden.token_type_ids.size() &&
           golden.token_type_ids[chunk.bidirectional_prefix] == 0)
      ++chunk.bidirectional_prefix;
    if (golden.token_type_ids.empty()) chunk.bidirectional_prefix = chunk.ids.size();
  }
  if (golden.has_images()) {
    const npy::Array<float> pixels = golden.array("pixel_values");
    PixelBatch batch;
    batch.pixel_values = pixels.values;
    batch.num_frames = static_cast<int>(pixels.shape.at(0));
    batch.height = static_cast<int>(pixels.shape.at(2));
    batch.width = static_cast<int>(pixels.shape.at(3));
    batch.frames_per_sample = batch.num_frames;
    chunk.images = opened.backend->encode_images(batch);
    opened.features_diff = max_abs_diff(chunk.images.values, golden.array("connector_out").values);
  }
  return opened;
}

class OnnxGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(OnnxGolden, MatchesGoldenLogitsAndGreedyTokens) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  const GoldenCase& golden = GetParam();
  OpenedCase opened = open_case(golden);
  EXPECT_LE(opened.features_diff, kTolerance) << golden.label() << " connector rows";

  const std::vector<float> reference = golden.array("step_logits").values;
  const std::size_t steps = golden.tokens.size();
  ASSERT_EQ(steps, 24u);
  auto sequence = opened.backend->new_sequence(0);
  const std::size_t vocab = sequence->vocab_size();
  ASSERT_EQ(reference.size(), steps * vocab);
  sequence->set_prompt(opened.chunk);
  ASSERT_EQ(sequence->prompt_length(), golden.input_ids.size());

  // Teacher-forced: the logits each golden token was the argmax of.
  std::span<const float> logits = sequence->prefill();
  float worst = 0.0f;
  for (std::size_t s = 0; s < steps; ++s) {
    const float diff =
        max_abs_diff(logits, std::span<const float>(reference).subspan(s * vocab, vocab));
    worst = std::max(worst, diff);
    EXPECT_LE(diff, kTolerance) << golden.label() << " step " << s;
    if (s + 1 < steps) logits = sequence->step(golden.tokens[s]);
  }
  EXPECT_EQ(sequence->cached_length(), golden.input_ids.size() + steps - 1);

  // The shared generation loop, greedy, on a fresh sequence.
  const tok::Tokenizer tokenizer =
      tok::Tokenizer::from_file(testing::exports_dir() / golden.fixture / "tokenizer.json");
  GenerationOptions options;
  options.max_new_tokens = steps;
  options.ignore_eos = true;
  auto fresh = opened.backend->new_sequence(0);
  fresh->set_prompt(opened.chunk);
  const gen::GenerationResult result = gen::generate(*fresh, tokenizer, options);
  EXPECT_EQ(result.tokens, golden.tokens) << golden.label();

  std::printf("[ diffs    ] %-38s connector %.3g, logits %.3g (tol %.3g)\n", golden.label().c_str(),
              static_cast<double>(opened.features_diff), static_cast<double>(worst),
              static_cast<double>(kTolerance));
}

INSTANTIATE_TEST_SUITE_P(Fp32Fixtures, OnnxGolden, ::testing::ValuesIn(fp32_cases()), test_name);

}  // namespace
}  // namespace vlmrt::onnx
#endif
