// OnnxSequence on the exported tiny fixtures: chunked prefill and truncation (multi-turn chat)
// agree with one-shot runs, PaliGemma's bidirectional prefix is split from its causal tail,
// quantized and float16-cache variants run, and misuse gives typed errors.
#ifdef VLMRT_WITH_ONNXRUNTIME
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "onnx_test_support.hpp"
#include "test_support.hpp"

namespace vlmrt::onnx {
namespace {

using testing::cpu_options;
using testing::open_export;
using testing::throws_error;
using vlmrt::testing::max_abs_diff;

std::vector<float> copy(std::span<const float> logits) {
  return {logits.begin(), logits.end()};
}

float max_abs(std::span<const float> values) {
  float m = 0.0f;
  for (float v : values) m = std::max(m, std::fabs(v));
  return m;
}

runtime::PromptChunk text_chunk(std::vector<gen::TokenId> ids, std::size_t prefix = 0) {
  runtime::PromptChunk chunk;
  chunk.ids = std::move(ids);
  chunk.bidirectional_prefix = prefix;
  return chunk;
}

// Plain text ids well inside both tiny vocabularies and below their image ids.
std::vector<gen::TokenId> prompt_ids(std::size_t count, gen::TokenId first = 40) {
  std::vector<gen::TokenId> ids(count);
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

constexpr float kSame = 1e-5f;

class SmolVlmSequence : public ::testing::Test {
 protected:
  void SetUp() override {
    VLMRT_REQUIRE_ONNX_EXPORTS();
    backend_ = open_export("tiny-smolvlm-fp32", cpu_options());
  }
  std::unique_ptr<runtime::ModelBackend> backend_;
};

TEST_F(SmolVlmSequence, ChunkedPrefillMatchesOneShotPrefill) {
  const auto ids = prompt_ids(20);
  auto whole = backend_->new_sequence(0);
  whole->set_prompt(text_chunk(ids));
  const std::vector<float> expected = copy(whole->prefill());

  auto chunked = backend_->new_sequence(0);
  chunked->set_prompt(text_chunk({ids.begin(), ids.begin() + 7}));
  chunked->prefill();
  EXPECT_EQ(chunked->cached_length(), 7u);
  chunked->set_prompt(text_chunk({ids.begin() + 7, ids.end()}));
  EXPECT_EQ(chunked->prompt_length(), 13u);
  EXPECT_LE(max_abs_diff(chunked->prefill(), expected), kSame);
  EXPECT_EQ(chunked->cached_length(), 20u);
}

TEST_F(SmolVlmSequence, TruncateKeepsTheCachedPrefixForTheNextTurn) {
  const auto ids = prompt_ids(20);
  auto fresh = backend_->new_sequence(0);
  fresh->set_prompt(text_chunk(ids));
  const std::vector<float> expected = copy(fresh->prefill());

  auto chat = backend_->new_sequence(0);
  auto first_turn = prompt_ids(12);
  first_turn.push_back(300);  // diverges from `ids` at position 12
  chat->set_prompt(text_chunk(first_turn));
  chat->prefill();
  chat->step(301);
  chat->step(302);
  ASSERT_EQ(chat->cached_length(), 15u);
  chat->truncate(12);
  EXPECT_EQ(chat->cached_length(), 12u);
  EXPECT_EQ(chat->input_ids().size(), 12u);
  chat->set_prompt(text_chunk({ids.begin() + 12, ids.end()}));
  EXPECT_EQ(std::vector<gen::TokenId>(chat->input_ids().begin(), chat->input_ids().end()), ids);
  EXPECT_LE(max_abs_diff(chat->prefill(), expected), kSame);

  // Truncating to nothing starts over with zero-length past tensors.
  chat->truncate(0);
  chat->set_prompt(text_chunk(ids));
  EXPECT_LE(max_abs_diff(chat->prefill(), expected), kSame);
}

TEST_F(SmolVlmSequence, StepsContinueFromPrefillAtTheNextPosition) {
  const auto ids = prompt_ids(10);
  auto stepped = backend_->new_sequence(0);
  stepped->set_prompt(text_chunk({ids.begin(), ids.end() - 1}));
  stepped->prefill();
  const std::vector<float> step_logits = copy(stepped->step(ids.back()));
  auto whole = backend_->new_sequence(0);
  whole->set_prompt(text_chunk(ids));
  EXPECT_LE(max_abs_diff(step_logits, whole->prefill()), kSame);
  EXPECT_EQ(stepped->context_remaining(), stepped->context_length() - 10);
}

TEST_F(SmolVlmSequence, MisuseGivesTypedErrors) {
  auto sequence = backend_->new_sequence(8);
  EXPECT_EQ(sequence->context_length(), 8u);
  EXPECT_TRUE(throws_error([&] { sequence->prefill(); }, ErrorKind::InvalidArgument,
                           {"without a pending prompt"}));
  EXPECT_TRUE(throws_error([&] { sequence->set_prompt(text_chunk(prompt_ids(9))); },
                           ErrorKind::LimitExceeded, {"needs 9 positions", "8 free"}));
  EXPECT_TRUE(throws_error([&] { sequence->set_prompt(text_chunk({})); },
                           ErrorKind::InvalidArgument, {"no ids"}));
  EXPECT_TRUE(throws_error(
      [&] {
        sequence->set_prompt(text_chunk({5, 444}));
      },
      ErrorKind::InvalidArgument, {"444", "embedding table (444 rows)"}));
  EXPECT_TRUE(throws_error(
      [&] {
        sequence->set_prompt(text_chunk({5, 438}));
      },
      ErrorKind::InvalidArgument, {"1 image tokens", "0 rows"}));
  EXPECT_TRUE(throws_error([&] { sequence->set_prompt(text_chunk(prompt_ids(4), 4)); },
                           ErrorKind::Unsupported, {"attention_mask", "bidirectional prefix"}));
  sequence->set_prompt(text_chunk(prompt_ids(6)));
  EXPECT_TRUE(throws_error([&] { sequence->step(7); }, ErrorKind::InvalidArgument, {"pending"}));
  sequence->prefill();
  sequence->step(7);
  sequence->step(8);
  EXPECT_EQ(sequence->context_remaining(), 0u);
  EXPECT_TRUE(throws_error([&] { sequence->step(9); }, ErrorKind::LimitExceeded, {"full"}));
  EXPECT_TRUE(throws_error([&] { sequence->truncate(9); }, ErrorKind::InvalidArgument,
                           {"only 8 are cached"}));
  EXPECT_TRUE(throws_error([&] { backend_->new_sequence(513); }, ErrorKind::InvalidArgument,
                           {"context length of 512"}));
}

TEST_F(SmolVlmSequence, ImageFeaturesAreRowsOfTheTextWidthPerFrame) {
  PixelBatch pixels;
  pixels.num_frames = 3;
  pixels.height = 32;
  pixels.width = 32;
  pixels.frames_per_sample = 3;
  pixels.pixel_values.assign(pixels.frame_size() * 3, 0.25f);
  const runtime::ImageFeatures features = backend_->encode_images(pixels);
  EXPECT_EQ(features.frames, 3);
  EXPECT_EQ(features.width, 64u);
  EXPECT_EQ(features.rows, 12u);  // 4 image tokens per 32-pixel frame
  EXPECT_EQ(features.values.size(), 12u * 64u);

  pixels.height = pixels.width = 16;
  pixels.pixel_values.resize(pixels.frame_size() * 3);
  EXPECT_TRUE(throws_error([&] { backend_->encode_images(pixels); }, ErrorKind::InvalidArgument,
                           {"32-pixel-high", "16"}));
}

// Quantized and float16 variants: the same prompt, logits near the fp32 graph's.
class OnnxVariants : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxVariants, RunCloseToFp32) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  const auto ids = prompt_ids(16);
  auto fp32 = open_export("tiny-smolvlm-fp32", cpu_options())->new_sequence(0);
  fp32->set_prompt(text_chunk(ids));
  const std::vector<float> reference = copy(fp32->prefill());
  const std::vector<float> reference_step = copy(fp32->step(50));

  OnnxBackendOptions options = cpu_options();
  options.dtypes = {{"vision", GetParam()}, {"embed", GetParam()}, {"decoder", GetParam()}};
  auto backend = open_export("tiny-smolvlm-fp32", options);
  auto sequence = backend->new_sequence(0);
  sequence->set_prompt(text_chunk(ids));
  const std::vector<float> prefill = copy(sequence->prefill());
  const std::vector<float> step = copy(sequence->step(50));
  // The point is that every variant (float16 caches, MatMulNBits, MatMulInteger) runs through
  // the same sequence code; their accuracy is the exporter's. On these tiny random models
  // export_onnx.py's own check measures max |diff| ≈ 0.005 (fp16), 0.13 (int8) and 1.1-1.6 (q4)
  // against logits up to ~4.
  const float scale = std::max(1.0f, max_abs(reference));
  const float tolerance = (GetParam() == "fp16"   ? 0.01f
                           : GetParam() == "int8" ? 0.1f
                                                  : 0.5f) *
                          scale;
  EXPECT_LE(max_abs_diff(prefill, reference), tolerance) << GetParam();
  EXPECT_LE(max_abs_diff(step, reference_step), tolerance) << GetParam();
  std::printf("[ diffs    ] %-6s prefill %.3g, step %.3g (max|ref| %.3g)\n", GetParam().c_str(),
              static_cast<double>(max_abs_diff(prefill, reference)),
              static_cast<double>(max_abs_diff(step, reference_step)),
              static_cast<double>(max_abs(reference)));
}

INSTANTIATE_TEST_SUITE_P(SmolVlm, OnnxVariants, ::testing::Values("fp16", "int8", "q4"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// PaliGemma graphs have no attention_mask: their first run attends both ways. A prefix shorter
// than the prompt is run first, the rest causally after it — the same as stepping the tail.
TEST(PaligemmaSequence, CausalTailAfterTheBidirectionalPrefixMatchesSteppingIt) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  for (const char* fixture : {"tiny-paligemma-fp32", "tiny-paligemma2-fp32"}) {
    auto backend = open_export(fixture, cpu_options());
    const auto ids = prompt_ids(12, 500);
    auto split = backend->new_sequence(0);
    split->set_prompt(text_chunk(ids, 9));
    const std::vector<float> expected_prefill = copy(split->prefill());

    auto stepped = backend->new_sequence(0);
    stepped->set_prompt(text_chunk({ids.begin(), ids.begin() + 9}, 9));
    stepped->prefill();
    stepped->step(ids[9]);
    stepped->step(ids[10]);
    EXPECT_LE(max_abs_diff(stepped->step(ids[11]), expected_prefill), kSame) << fixture;

    // And the prefix really is bidirectional: a fully causal prompt gives other logits.
    auto causal = backend->new_sequence(0);
    causal->set_prompt(text_chunk(ids, 0));
    EXPECT_GT(max_abs_diff(causal->prefill(), expected_prefill), 1e-4f) << fixture;
  }
}

}  // namespace
}  // namespace vlmrt::onnx
#endif
