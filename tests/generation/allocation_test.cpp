// The sampler must not allocate per token (issue 5: no per-token allocations in the decode loop).
// The folder links vlmrt_allocation_counter (test_deps.cmake), which counts operator new calls.
#include <gtest/gtest.h>

#include <vector>

#include "allocation_counter.hpp"
#include "generation/sampler.hpp"

namespace vlmrt::gen {
namespace {

TEST(SamplerAllocations, SelectingTokensAllocatesNothing) {
  constexpr std::size_t kVocab = 4096;
  std::vector<float> logits(kVocab);
  for (std::size_t i = 0; i < kVocab; ++i) logits[i] = static_cast<float>((i * 37) % 101) / 10.0f;
  for (const bool do_sample : {false, true}) {
    GenerationOptions o;
    o.do_sample = do_sample;
    o.top_k = do_sample ? 0 : 50;  // full sort path when sampling
    o.top_p = 0.9;
    o.min_p = 0.01;
    o.repetition_penalty = 1.3;
    o.repetition_window = 64;
    Sampler sampler(o, kVocab, 3);
    sampler.reset(std::vector<TokenId>{1, 2, 3, 4});
    const std::size_t before = testing::allocation_count();
    for (int i = 0; i < 200; ++i) sampler.accept(sampler.select(logits));
    EXPECT_EQ(testing::allocation_count() - before, 0u) << "do_sample=" << do_sample;
    // The counter does see allocations (the test is not vacuous).
    const std::size_t base = testing::allocation_count();
    sampler.reset(std::vector<TokenId>(1000, 5));
    EXPECT_GT(testing::allocation_count() - base, 0u);
  }
}

}  // namespace
}  // namespace vlmrt::gen
