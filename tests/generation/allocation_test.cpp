// The sampler must not allocate per token (issue 5: no per-token allocations in the decode loop).
// This executable replaces the global operator new to count allocations while selecting.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "generation/sampler.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

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
    const long before = g_allocations.load();
    for (int i = 0; i < 200; ++i) sampler.accept(sampler.select(logits));
    EXPECT_EQ(g_allocations.load() - before, 0) << "do_sample=" << do_sample;
    // The counter does see allocations (the test is not vacuous).
    const long base = g_allocations.load();
    sampler.reset(std::vector<TokenId>(1000, 5));
    EXPECT_GT(g_allocations.load() - base, 0);
  }
}

}  // namespace
}  // namespace vlmrt::gen
