// Shared by the text decoder tests: the tiny fixture models loaded once per process, the golden
// cases turned into prompt chunks, and diff measures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backends/native/model/model_weights.hpp"
#include "backends/native/model/native_sequence.hpp"
#include "backends/native/model/text_decoder.hpp"
#include "core/thread_pool.hpp"
#include "golden_cases.hpp"
#include "models/model_config.hpp"
#include "models/network.hpp"
#include "runtime/backend.hpp"
#include "test_support.hpp"

namespace vlmrt::native::testing {

struct FixtureModel {
  ModelConfig config;
  NetworkSpec spec;
  std::unique_ptr<ModelWeights> weights;  // outlives the decoder (zero-copy views)
  std::shared_ptr<const TextDecoder> decoder;
};

// tests/fixtures/models/<fixture>, loaded on first use and kept for the process.
const FixtureModel& fixture_model(const std::string& fixture);

// The pool every test runs on (2 threads, so the split over threads is exercised).
ThreadPool& test_pool();

// The golden case's prompt as the runtime hands it over: its input_ids, the bidirectional
// prefix from token_type_ids (the leading zeros; the whole prompt when there are none and the
// family is prefix-LM, as the reference does) and connector_out.npy as the image rows.
runtime::PromptChunk golden_chunk(const vlmrt::testing::GoldenCase& golden,
                                  const FixtureModel& model);

// The first `length` ids of `chunk` (with the image rows they use), or the rest from `length`.
// The prefix goes with the head.
runtime::PromptChunk chunk_head(const runtime::PromptChunk& chunk, std::size_t length,
                                std::int64_t image_token_id);
runtime::PromptChunk chunk_tail(const runtime::PromptChunk& chunk, std::size_t length,
                                std::int64_t image_token_id);

using vlmrt::testing::max_abs_diff;
float max_abs(std::span<const float> values);

}  // namespace vlmrt::native::testing
