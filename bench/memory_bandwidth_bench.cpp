// The machine's memory read bandwidth, the limit of a decode step (every weight is read once per
// token): a sum over a buffer far larger than the caches, on 1 thread and on the whole pool,
// reported as bytes/s. docs/performance.md compares the decode GEMVs with it.
// Run: build/bench/vlmrt_memory_bandwidth_bench
#include <benchmark/benchmark.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstddef>
#include <vector>

#include "core/thread_pool.hpp"

namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 30;  // 1 GiB: far past any cache

const std::vector<float>& buffer() {
  static const std::vector<float> data(kBufferBytes / sizeof(float), 1.0f);
  return data;
}

// Independent accumulators so the adds never stall the loads. Without -march flags the plain
// loop compiles to SSE2, which cannot saturate DRAM on one core; AVX-512 is used when present.
float sum_portable(const float* x, std::size_t n) {
  float acc[8] = {};
  for (std::size_t i = 0; i + 8 <= n; i += 8)
    for (int lane = 0; lane < 8; ++lane) acc[lane] += x[i + lane];
  float total = 0;
  for (float a : acc) total += a;
  return total;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) float sum_avx512(const float* x, std::size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
  }
  float lanes[16];
  _mm512_storeu_ps(lanes, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float total = 0;
  for (float lane : lanes) total += lane;
  return total;
}
#endif

float sum_range(const float* x, std::size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return sum_avx512(x, n);
#endif
  return sum_portable(x, n);
}

void BM_ReadBandwidth(benchmark::State& state) {
  vlmrt::ThreadPool pool(static_cast<std::size_t>(state.range(0)));
  const auto& data = buffer();
  std::vector<float> partial(pool.size());
  for (auto _ : state) {
    pool.parallel_for(0, pool.size(), [&](std::size_t begin, std::size_t end) {
      for (std::size_t t = begin; t < end; ++t) {
        const std::size_t chunk = data.size() / pool.size();
        partial[t] = sum_range(data.data() + t * chunk, chunk);
      }
    });
    benchmark::DoNotOptimize(partial.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBufferBytes));
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
