// The machine's memory read bandwidth, the limit of a decode step (every weight is read once per
// token): a sum over a buffer far larger than the caches, on 1 thread and on the whole pool,
// reported as bytes/s. docs/performance.md compares the decode GEMVs with it.
// Run: build/bench/vlmrt_memory_bandwidth_bench
#include <benchmark/benchmark.h>

#include <cstddef>
#include <vector>

#include "core/thread_pool.hpp"

namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 30;  // 1 GiB: far past any cache

const std::vector<float>& buffer() {
  static const std::vector<float> data(kBufferBytes / sizeof(float), 1.0f);
  return data;
}

// Eight independent accumulators so the adds never stall the loads.
float sum_range(const float* x, std::size_t n) {
  float acc[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int lane = 0; lane < 8; ++lane) acc[lane] += x[i + lane];
  float total = 0;
  for (; i < n; ++i) total += x[i];
  for (float a : acc) total += a;
  return total;
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
