// Throughput of the native CPU matmul kernels (src/backends/native/cpu/gemm.hpp) on the shapes
// that dominate the models: SigLIP-B/16 tile GEMMs (1024 patches, hidden 768, MLP 3072) and
// SmolVLM-256M decode GEMVs (hidden 576, MLP 1536, KV 192, vocabulary 49280).
// Run: build/bench/vlmrt_gemm_bench --benchmark_filter=Siglip
// Set VLMRT_CPU_ISA=avx2 (or scalar, avx512) to measure a lower dispatch level.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/native/cpu/gemm.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace {

using vlmrt::DType;
using vlmrt::ThreadPool;
using vlmrt::native::LinearOptions;
using vlmrt::native::LinearPrecision;
using vlmrt::native::WeightMatrix;

std::vector<float> noise(std::size_t count, std::uint32_t seed) {
  std::vector<float> values(count);
  for (float& v : values) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;
  }
  return values;
}

// `copies` independent weight matrices, so a benchmark can cycle through more bytes than the
// caches hold (decode reads every layer's weights from DRAM once per token).
std::vector<std::uint8_t> weight_bytes(DType dtype, std::int64_t n, std::int64_t k, int copies) {
  const auto values = noise(static_cast<std::size_t>(n * k), 99);
  const std::size_t one = static_cast<std::size_t>(n * k) * vlmrt::dtype_size(dtype);
  std::vector<std::uint8_t> bytes(one * copies);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(bytes.data() + 4 * i, &values[i], 4);
    } else {
      const std::uint16_t bits = vlmrt::f32_to_bf16(values[i]);
      std::memcpy(bytes.data() + 2 * i, &bits, 2);
    }
  }
  for (int c = 1; c < copies; ++c) std::memcpy(bytes.data() + c * one, bytes.data(), one);
  return bytes;
}

// Arguments: m, k, n, weight dtype (0 = F32, 1 = BF16), precision (0 = Exact,
// 1 = Bf16Activations), threads.
void BM_SiglipLinear(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const DType dtype = state.range(3) == 0 ? DType::F32 : DType::BF16;
  const LinearOptions options{state.range(4) == 0 ? LinearPrecision::Exact
                                                  : LinearPrecision::Bf16Activations};
  ThreadPool pool(static_cast<std::size_t>(state.range(5)));
  const auto bytes = weight_bytes(dtype, n, k, 1);
  const WeightMatrix w{dtype, bytes.data(), n, k};
  const auto x = noise(static_cast<std::size_t>(m * k), 1);
  const auto bias = noise(static_cast<std::size_t>(n), 2);
  std::vector<float> y(static_cast<std::size_t>(m * n));
  for (auto _ : state) {
    vlmrt::native::linear(x.data(), m, k, w, bias.data(), y.data(), n, pool, options);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void siglip_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "k", "n", "bf16w", "bf16x", "threads"});
  for (int threads : {1, 2})
    for (auto [k, n] : {std::pair{768, 768}, {768, 3072}, {3072, 768}}) {
      b->Args({1024, k, n, 0, 0, threads});
      b->Args({1024, k, n, 1, 0, threads});
      b->Args({1024, k, n, 1, 1, threads});
    }
}
BENCHMARK(BM_SiglipLinear)->Apply(siglip_args)->UseRealTime()->Unit(benchmark::kMillisecond);

// Arguments: k, n, threads, cold (1 = cycle through > 64 MiB of weight copies, as decode does
// across layers; 0 = the same matrix every time, cache-resident when it fits).
void BM_DecodeGemvBf16(benchmark::State& state) {
  const std::int64_t k = state.range(0), n = state.range(1);
  ThreadPool pool(static_cast<std::size_t>(state.range(2)));
  const std::size_t one = static_cast<std::size_t>(n * k) * 2;
  const int copies = state.range(3) != 0 ? static_cast<int>((std::size_t{96} << 20) / one + 1) : 1;
  const auto bytes = weight_bytes(DType::BF16, n, k, copies);
  const auto x = noise(static_cast<std::size_t>(k), 1);
  std::vector<float> y(static_cast<std::size_t>(n));
  int next = 0;
  for (auto _ : state) {
    const WeightMatrix w{DType::BF16, bytes.data() + next * one, n, k};
    vlmrt::native::linear(x.data(), 1, k, w, nullptr, y.data(), n, pool);
    benchmark::DoNotOptimize(y.data());
    next = (next + 1) % copies;
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(one) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void gemv_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"k", "n", "threads", "cold"});
  for (int cold : {1, 0})
    for (int threads : {1, 2})
      for (int n : {1536, 576, 192, 49280}) b->Args({576, n, threads, cold});
}
BENCHMARK(BM_DecodeGemvBf16)->Apply(gemv_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
