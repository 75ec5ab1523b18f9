// Fused attention (src/backends/native/cpu/attention.hpp) on the shapes the engine runs:
// SmolVLM-256M text prefill (T = 1088, 9 heads / 3 KV heads of 64, causal), its vision tower
// (T = 1024, 12 heads of 64, no mask), a decode step over 1100 cached keys and short chunks
// over such a cache.
// Run: build/bench/vlmrt_attention_bench [--benchmark_filter=Decode]
// Arguments: precision (0 = F32, 1 = Bf16 emulation), threads.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "backends/native/cpu/attention.hpp"

namespace {

using vlmrt::ThreadPool;
using namespace vlmrt::native;

std::vector<float> noise(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

// state.range(first) is the precision (0 = F32, 1 = Bf16), state.range(first + 1) the threads.
void run_attention(benchmark::State& state, AttentionParams p, int first = 0) {
  p.precision = state.range(first) == 0 ? Precision::F32 : Precision::Bf16;
  ThreadPool pool(static_cast<std::size_t>(state.range(first + 1)));
  const auto q = noise(p.tokens * p.heads * p.head_dim, 1);
  const auto k = noise(p.kv_heads * p.kv_capacity * p.head_dim, 2);
  const auto v = noise(p.kv_heads * p.kv_capacity * p.head_dim, 3);
  std::vector<float> out(p.tokens * p.heads * p.head_dim);
  std::vector<float> scratch(attention_scratch_size(p, pool.size()));
  for (auto _ : state) {
    attention(q.data(), k.data(), v.data(), out.data(), p, scratch, pool);
    benchmark::DoNotOptimize(out.data());
  }
  // Multiply-adds actually needed (q·k and p·v over the visible keys).
  double pairs = 0;
  for (std::size_t t = 0; t < p.tokens; ++t)
    pairs += p.mask == AttentionMask::Causal ? double(p.q_start + t + 1) : double(p.kv_len);
  const double flops = 4.0 * pairs * double(p.heads * p.head_dim);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

AttentionParams shape(std::size_t tokens, std::size_t heads, std::size_t kv_heads,
                      std::size_t kv_len, AttentionMask mask) {
  AttentionParams p;
  p.tokens = tokens;
  p.heads = heads;
  p.kv_heads = kv_heads;
  p.head_dim = 64;
  p.kv_len = kv_len;
  p.kv_capacity = kv_len;
  p.q_start = kv_len - tokens;
  p.scale = 0.125;
  p.mask = mask;
  return p;
}

void BM_TextPrefill1088(benchmark::State& state) {
  run_attention(state, shape(1088, 9, 3, 1088, AttentionMask::Causal));
}
void BM_VisionTile1024(benchmark::State& state) {
  run_attention(state, shape(1024, 12, 12, 1024, AttentionMask::None));
}
void BM_Decode1100(benchmark::State& state) {
  run_attention(state, shape(1, 9, 3, 1100, AttentionMask::Causal));
}

// A short chunk of a prompt (or a speculative-decoding batch) against a long cache: around the
// GEMM path's threshold (attention_uses_gemm). Arguments: tokens, precision, threads.
void BM_Chunk1100(benchmark::State& state) {
  const auto tokens = static_cast<std::size_t>(state.range(0));
  AttentionParams p = shape(tokens, 9, 3, 1100, AttentionMask::Causal);
  state.SetLabel(attention_uses_gemm(p) ? "gemm" : "spec-order");
  run_attention(state, p, 1);
}

void precisions_and_threads(benchmark::internal::Benchmark* b) {
  for (int precision : {0, 1})
    for (int threads : {1, 2}) b->Args({precision, threads});
  b->ArgNames({"bf16", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_TextPrefill1088)->Apply(precisions_and_threads);
BENCHMARK(BM_VisionTile1024)->Apply(precisions_and_threads);
BENCHMARK(BM_Decode1100)->Apply(precisions_and_threads)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Chunk1100)
    ->ArgsProduct({{4, 8, 16, 64}, {1}, {1, 2}})
    ->ArgNames({"tokens", "bf16", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
