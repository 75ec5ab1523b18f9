#include "decoder_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

namespace vlmrt::native::testing {

const FixtureModel& fixture_model(const std::string& fixture) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<FixtureModel>> models;
  std::lock_guard lock(mutex);
  auto& slot = models[fixture];
  if (!slot) {
    auto model = std::make_unique<FixtureModel>();
    const auto dir = vlmrt::testing::golden_fixture_dir(fixture);
    model->config = ModelConfig::load(dir);
    model->spec = describe_network(model->config);
    model->weights = std::make_unique<ModelWeights>(ModelWeights::open(dir, model->config));
    model->decoder =
        std::make_shared<const TextDecoder>(*model->weights, model->config, model->spec);
    slot = std::move(model);
  }
  return *slot;
}

ThreadPool& test_pool() {
  static ThreadPool pool(2);
  return pool;
}

runtime::PromptChunk golden_chunk(const vlmrt::testing::GoldenCase& golden,
                                  const FixtureModel& model) {
  runtime::PromptChunk chunk;
  chunk.ids.assign(golden.input_ids.begin(), golden.input_ids.end());
  if (model.spec.prefix_lm) {
    if (golden.token_type_ids.empty()) {
      chunk.bidirectional_prefix = chunk.ids.size();
    } else {
      while (chunk.bidirectional_prefix < golden.token_type_ids.size() &&
             golden.token_type_ids[chunk.bidirectional_prefix] == 0)
        ++chunk.bidirectional_prefix;
    }
  }
  if (golden.has_images()) {
    const auto features = golden.array("connector_out");
    const std::size_t width = static_cast<std::size_t>(features.shape.back());
    chunk.images.values = features.values;
    chunk.images.width = width;
    chunk.images.rows = features.values.size() / width;
    chunk.images.frames = static_cast<int>(features.shape.front());
  }
  return chunk;
}

namespace {

std::size_t image_rows_before(const runtime::PromptChunk& chunk, std::size_t length,
                              std::int64_t image_token_id) {
  return static_cast<std::size_t>(
      std::count(chunk.ids.begin(), chunk.ids.begin() + static_cast<std::ptrdiff_t>(length),
                 static_cast<gen::TokenId>(image_token_id)));
}

runtime::PromptChunk slice(const runtime::PromptChunk& chunk, std::size_t begin, std::size_t end,
                           std::int64_t image_token_id) {
  runtime::PromptChunk part;
  part.ids.assign(chunk.ids.begin() + static_cast<std::ptrdiff_t>(begin),
                  chunk.ids.begin() + static_cast<std::ptrdiff_t>(end));
  const std::size_t first = image_rows_before(chunk, begin, image_token_id);
  const std::size_t last = image_rows_before(chunk, end, image_token_id);
  part.images.width = chunk.images.width;
  part.images.rows = last - first;
  part.images.values.assign(
      chunk.images.values.begin() + static_cast<std::ptrdiff_t>(first * chunk.images.width),
      chunk.images.values.begin() + static_cast<std::ptrdiff_t>(last * chunk.images.width));
  return part;
}

}  // namespace

runtime::PromptChunk chunk_head(const runtime::PromptChunk& chunk, std::size_t length,
                                std::int64_t image_token_id) {
  runtime::PromptChunk head = slice(chunk, 0, length, image_token_id);
  head.bidirectional_prefix = std::min(chunk.bidirectional_prefix, length);
  return head;
}

runtime::PromptChunk chunk_tail(const runtime::PromptChunk& chunk, std::size_t length,
                                std::int64_t image_token_id) {
  return slice(chunk, length, chunk.ids.size(), image_token_id);
}

float max_abs(std::span<const float> values) {
  float worst = 0.0f;
  for (const float v : values) worst = std::max(worst, std::fabs(v));
  return worst;
}

}  // namespace vlmrt::native::testing
