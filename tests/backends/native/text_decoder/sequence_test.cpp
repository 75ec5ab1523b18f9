// NativeSequence beyond the goldens: the same logits whether a prompt runs in one chunk, in two
// chunks or token by token; truncate + re-prefill equals a fresh run; the errors set_prompt /
// step / truncate promise; and a decode step that allocates nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "decoder_fixture.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native::testing {
namespace {

using vlmrt::testing::error_of;
using vlmrt::testing::GoldenCase;
using vlmrt::testing::load_golden_case;

// Chunked vs one-shot vs token by token changes only GEMM summation order (a GEMV in f32 for one
// row, the packed GEMM with bf16 pair products for many): f32 agrees to ~2e-6. In bf16 an
// accumulator next to a rounding boundary may round the other way, and over 37 positions run
// one by one such one-ulp flips feed every later position: measured 0 (Llama) and 1.14% of
// max|logit| (Gemma2, token by token). 2^-5 of max|logit| keeps a margin; the f32 runs are the
// tight check of the chunking logic (positions, cache slots, masks).
constexpr float kF32Tolerance = 1e-4f;
constexpr float kBf16RelativeTolerance = 1.0f / 32.0f;

template <class Action>
std::optional<ErrorKind> kind_of(Action action) {
  try {
    action();
  } catch (const Error& e) {
    return e.kind();
  }
  return std::nullopt;
}

float tolerance(const FixtureModel& model, std::span<const float> reference) {
  return model.decoder->precision() == Precision::F32 ? kF32Tolerance
                                                      : kBf16RelativeTolerance * max_abs(reference);
}

std::vector<float> copy(std::span<const float> logits) {
  return std::vector<float>(logits.begin(), logits.end());
}

// A prompt of text ids only (token-by-token steps cannot carry image rows): the golden case's
// ids without its image placeholders, then its greedy tokens, so that the prompt is longer than
// the Gemma2 fixture's sliding window of 8.
runtime::PromptChunk text_prompt(const GoldenCase& golden, const FixtureModel& model) {
  runtime::PromptChunk chunk;
  for (const auto id : golden.input_ids)
    if (id != model.config.image_token_id) chunk.ids.push_back(id);
  chunk.ids.insert(chunk.ids.end(), golden.tokens.begin(), golden.tokens.end());
  return chunk;
}

std::vector<float> one_shot(const FixtureModel& model, const runtime::PromptChunk& prompt) {
  NativeSequence sequence(model.decoder, 0, test_pool());
  sequence.set_prompt(prompt);
  return copy(sequence.prefill());
}

std::vector<float> two_chunks(const FixtureModel& model, const runtime::PromptChunk& prompt,
                              std::size_t split) {
  const auto image_id = model.config.image_token_id;
  NativeSequence sequence(model.decoder, 0, test_pool());
  sequence.set_prompt(chunk_head(prompt, split, image_id));
  sequence.prefill();
  EXPECT_EQ(sequence.cached_length(), split);
  sequence.set_prompt(chunk_tail(prompt, split, image_id));
  EXPECT_EQ(sequence.input_ids().size(), prompt.ids.size());
  const auto logits = copy(sequence.prefill());
  EXPECT_EQ(sequence.cached_length(), prompt.ids.size());
  return logits;
}

std::vector<float> token_by_token(const FixtureModel& model, const runtime::PromptChunk& prompt) {
  NativeSequence sequence(model.decoder, 0, test_pool());
  runtime::PromptChunk first;
  first.ids = {prompt.ids.front()};
  sequence.set_prompt(first);
  std::span<const float> logits = sequence.prefill();
  for (std::size_t i = 1; i < prompt.ids.size(); ++i) logits = sequence.step(prompt.ids[i]);
  return copy(logits);
}

struct ChunkingCase {
  std::string fixture;
  std::string golden;
};

void PrintTo(const ChunkingCase& c, std::ostream* out) {
  *out << c.fixture << "/" << c.golden;
}

class ChunkedPrefill : public ::testing::TestWithParam<ChunkingCase> {};

TEST_P(ChunkedPrefill, OneChunkTwoChunksAndTokenByTokenGiveTheSameLastLogits) {
  const FixtureModel& model = fixture_model(GetParam().fixture);
  const GoldenCase golden = load_golden_case(GetParam().fixture, GetParam().golden);

  // Text only: all three ways, split at several points (inside and past the sliding window).
  const runtime::PromptChunk text = text_prompt(golden, model);
  const std::vector<float> reference = one_shot(model, text);
  const float bound = tolerance(model, reference);
  float worst = 0.0f;
  for (const std::size_t split :
       {std::size_t{1}, std::size_t{5}, text.ids.size() / 2, text.ids.size() - 1}) {
    const float diff = max_abs_diff(two_chunks(model, text, split), reference);
    EXPECT_LE(diff, bound) << "split at " << split;
    worst = std::max(worst, diff);
  }
  const float stepped = max_abs_diff(token_by_token(model, text), reference);
  EXPECT_LE(stepped, bound) << "token by token";

  // With images, causal (prefix 0): the image rows travel with the chunk that holds their ids.
  runtime::PromptChunk with_images = golden_chunk(golden, model);
  with_images.bidirectional_prefix = 0;
  const std::vector<float> image_reference = one_shot(model, with_images);
  const std::size_t split = with_images.ids.size() / 2;
  const float image_diff = max_abs_diff(two_chunks(model, with_images, split), image_reference);
  EXPECT_LE(image_diff, tolerance(model, image_reference));
  std::printf(
      "[ chunking ] %-36s %zu ids: two chunks %.3g, token by token %.3g, images %.3g "
      "(tol %.3g)\n",
      golden.label().c_str(), text.ids.size(), static_cast<double>(worst),
      static_cast<double>(stepped), static_cast<double>(image_diff), static_cast<double>(bound));
}

INSTANTIATE_TEST_SUITE_P(LlamaAndGemma2, ChunkedPrefill,
                         ::testing::Values(ChunkingCase{"tiny-smolvlm-fp32", "single_image_45x40"},
                                           ChunkingCase{"tiny-smolvlm-bf16", "single_image_45x40"},
                                           ChunkingCase{"tiny-paligemma2-fp32", "answer_17x23"},
                                           ChunkingCase{"tiny-paligemma2-bf16", "answer_17x23"}),
                         [](const ::testing::TestParamInfo<ChunkingCase>& info) {
                           std::string name = info.param.fixture;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(NativeSequence, TruncateThenPrefillingTheTailEqualsAFreshRun) {
  for (const char* fixture : {"tiny-smolvlm-fp32", "tiny-paligemma-fp32", "tiny-smolvlm-bf16"}) {
    const FixtureModel& model = fixture_model(fixture);
    const GoldenCase golden =
        load_golden_case(fixture, model.spec.prefix_lm ? "caption_40x30" : "single_image_45x40");
    runtime::PromptChunk prompt = golden_chunk(golden, model);
    // PaliGemma: a bidirectional prefix and a causal suffix of 5 ids, so that the rewound tail
    // lies in the causal part (a prefix can only be set on an empty cache).
    if (model.spec.prefix_lm) prompt.bidirectional_prefix = prompt.ids.size() - 5;
    const std::vector<float> fresh = one_shot(model, prompt);

    // Run the prompt and a few generated tokens, then rewind to before the prompt's last ids
    // (a new turn that diverged there) and run them again.
    NativeSequence sequence(model.decoder, 0, test_pool());
    sequence.set_prompt(prompt);
    sequence.prefill();
    for (std::size_t i = 0; i < 3; ++i) sequence.step(golden.tokens[i]);
    EXPECT_EQ(sequence.cached_length(), prompt.ids.size() + 3);
    const std::size_t keep = prompt.ids.size() - 3;
    sequence.truncate(keep);
    EXPECT_EQ(sequence.cached_length(), keep);
    EXPECT_EQ(sequence.input_ids().size(), keep);
    EXPECT_EQ(sequence.context_remaining(), sequence.context_length() - keep);
    sequence.set_prompt(chunk_tail(prompt, keep, model.config.image_token_id));
    EXPECT_TRUE(std::equal(sequence.input_ids().begin(), sequence.input_ids().end(),
                           prompt.ids.begin(), prompt.ids.end()));
    const float diff = max_abs_diff(sequence.prefill(), fresh);
    EXPECT_LE(diff, tolerance(model, fresh)) << fixture;
    std::printf("[ truncate ] %s re-prefill vs fresh: %.3g\n", fixture, static_cast<double>(diff));
  }
}

TEST(NativeSequence, TruncateToZeroRestartsTheSequence) {
  const FixtureModel& model = fixture_model("tiny-paligemma2-fp32");
  const GoldenCase golden = load_golden_case("tiny-paligemma2-fp32", "detect_64x64");
  const runtime::PromptChunk prompt = golden_chunk(golden, model);
  const std::vector<float> fresh = one_shot(model, prompt);
  NativeSequence sequence(model.decoder, 0, test_pool());
  sequence.set_prompt(
      golden_chunk(load_golden_case("tiny-paligemma2-fp32", "caption_40x30"), model));
  sequence.prefill();
  sequence.step(5);
  sequence.truncate(0);
  sequence.set_prompt(prompt);  // a bidirectional prefix is allowed again on an empty cache
  EXPECT_LE(max_abs_diff(sequence.prefill(), fresh), kF32Tolerance);
}

runtime::PromptChunk ids_chunk(std::size_t count, gen::TokenId id = 7) {
  runtime::PromptChunk chunk;
  chunk.ids.assign(count, id);
  return chunk;
}

TEST(NativeSequence, ExceedingTheCapacityIsLimitExceeded) {
  const FixtureModel& model = fixture_model("tiny-smolvlm-fp32");
  NativeSequence sequence(model.decoder, 10, test_pool());
  EXPECT_EQ(sequence.context_length(), 10u);
  EXPECT_EQ(sequence.context_remaining(), 10u);
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(ids_chunk(11)); }), ErrorKind::LimitExceeded);
  sequence.set_prompt(ids_chunk(8));
  EXPECT_EQ(sequence.prompt_length(), 8u);
  sequence.prefill();
  EXPECT_EQ(sequence.context_remaining(), 2u);
  sequence.step(3);
  sequence.step(4);
  EXPECT_EQ(sequence.context_remaining(), 0u);
  EXPECT_EQ(kind_of([&] { sequence.step(5); }), ErrorKind::LimitExceeded);
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(ids_chunk(1)); }), ErrorKind::LimitExceeded);
  // A capacity above the model's context length is refused up front.
  EXPECT_EQ(kind_of([&] {
              NativeSequence(model.decoder, model.decoder->context_length() + 1, test_pool());
            }),
            ErrorKind::InvalidArgument);
  EXPECT_EQ(NativeSequence(model.decoder, 0, test_pool()).context_length(),
            static_cast<std::size_t>(model.config.text.max_position_embeddings));
}

TEST(NativeSequence, ImageRowCountMismatchNamesBothCounts) {
  const FixtureModel& model = fixture_model("tiny-paligemma-fp32");
  const GoldenCase golden = load_golden_case("tiny-paligemma-fp32", "caption_40x30");
  NativeSequence sequence(model.decoder, 0, test_pool());
  runtime::PromptChunk chunk = golden_chunk(golden, model);
  ASSERT_EQ(chunk.images.rows, 16u);
  chunk.images.rows = 15;
  chunk.images.values.resize(15 * chunk.images.width);
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(chunk); }), ErrorKind::InvalidArgument);
  const std::string error = error_of([&] { sequence.set_prompt(chunk); });
  EXPECT_NE(error.find("16 image tokens"), std::string::npos) << error;
  EXPECT_NE(error.find("15 rows"), std::string::npos) << error;
  EXPECT_EQ(sequence.prompt_length(), 0u);  // nothing was taken

  // The width must be the text hidden size, and values must hold rows · width floats.
  chunk = golden_chunk(golden, model);
  chunk.images.width = 32;
  chunk.images.values.resize(16 * 32);
  const std::string width = error_of([&] { sequence.set_prompt(chunk); });
  EXPECT_NE(width.find("hidden size is 64"), std::string::npos) << width;
  chunk = golden_chunk(golden, model);
  chunk.images.values.pop_back();
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(chunk); }), ErrorKind::InvalidArgument);
}

TEST(NativeSequence, RejectsBadIdsPrefixesAndCallOrder) {
  const FixtureModel& model = fixture_model("tiny-smolvlm-fp32");
  NativeSequence sequence(model.decoder, 32, test_pool());
  EXPECT_EQ(kind_of([&] { sequence.prefill(); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(ids_chunk(0)); }), ErrorKind::InvalidArgument);
  const std::string bad_id = error_of([&] { sequence.set_prompt(ids_chunk(3, 444)); });
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(ids_chunk(3, 444)); }), ErrorKind::InvalidArgument);
  EXPECT_NE(bad_id.find("444"), std::string::npos) << bad_id;
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(ids_chunk(3, -1)); }), ErrorKind::InvalidArgument);
  runtime::PromptChunk long_prefix = ids_chunk(3);
  long_prefix.bidirectional_prefix = 4;
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(long_prefix); }), ErrorKind::InvalidArgument);

  sequence.set_prompt(ids_chunk(4));
  EXPECT_EQ(kind_of([&] { sequence.step(1); }), ErrorKind::InvalidArgument);  // pending
  sequence.prefill();
  EXPECT_EQ(kind_of([&] { sequence.step(444); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(sequence.cached_length(), 4u);  // a refused step changes nothing
  runtime::PromptChunk late_prefix = ids_chunk(2);
  late_prefix.bidirectional_prefix = 2;
  EXPECT_EQ(kind_of([&] { sequence.set_prompt(late_prefix); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] { sequence.truncate(5); }), ErrorKind::InvalidArgument);

  // A prompt set twice before prefill: the second replaces the first.
  sequence.set_prompt(ids_chunk(3));
  sequence.set_prompt(ids_chunk(2));
  EXPECT_EQ(sequence.prompt_length(), 2u);
  EXPECT_EQ(sequence.input_ids().size(), 6u);
}

TEST(NativeSequence, DecodeStepsAllocateNothing) {
  for (const char* fixture : {"tiny-smolvlm-bf16", "tiny-paligemma2-fp32"}) {
    const FixtureModel& model = fixture_model(fixture);
    const GoldenCase golden =
        load_golden_case(fixture, model.spec.prefix_lm ? "answer_17x23" : "two_images");
    NativeSequence sequence(model.decoder, 0, test_pool());
    sequence.set_prompt(golden_chunk(golden, model));
    sequence.prefill();
    sequence.step(golden.tokens[0]);  // warm-up: thread-local state of the pool and kernels
    const std::size_t before = vlmrt::testing::allocation_count();
    for (std::size_t i = 1; i < golden.tokens.size(); ++i) sequence.step(golden.tokens[i]);
    EXPECT_EQ(vlmrt::testing::allocation_count() - before, 0u) << fixture;
  }
  // The counter does see allocations (the test is not vacuous).
  const std::size_t base = vlmrt::testing::allocation_count();
  std::vector<float> probe(1000);
  EXPECT_GT(vlmrt::testing::allocation_count() - base, 0u);
  EXPECT_EQ(probe.size(), 1000u);
}

}  // namespace
}  // namespace vlmrt::native::testing
