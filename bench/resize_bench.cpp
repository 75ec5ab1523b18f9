// Resize and normalise throughput on the sizes SmolVLM's processor produces (MODELS.md §5.2).
// Run: build/bench/vlmrt_resize_bench --benchmark_filter=Lanczos
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "image/normalize.hpp"
#include "image/resample_coefficients.hpp"
#include "image/resize.hpp"

namespace {

using vlmrt::ImageRgb8;
using vlmrt::image::ResampleFilter;

ImageRgb8 noise_image(int width, int height) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * 3);
  std::uint32_t state = 12345;
  for (auto& p : pixels) {
    state = state * 1664525u + 1013904223u;
    p = static_cast<std::uint8_t>(state >> 24);
  }
  return ImageRgb8(width, height, std::move(pixels));
}

// Arguments: source w, h, target w, h, filter code, threaded (0/1).
void BM_Resize(benchmark::State& state) {
  const ImageRgb8 source =
      noise_image(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const int out_w = static_cast<int>(state.range(2));
  const int out_h = static_cast<int>(state.range(3));
  const ResampleFilter filter =
      vlmrt::image::resample_filter_from_pil(static_cast<int>(state.range(4)));
  const bool threaded = state.range(5) != 0;
  for (auto _ : state) {
    ImageRgb8 out =
        threaded ? vlmrt::image::resize(source, out_w, out_h, filter)
                 : vlmrt::image::detail::resize_single_threaded(source, out_w, out_h, filter);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(vlmrt::image::resample_filter_name(filter)) +
                 (threaded ? " pool" : " 1 thread"));
}

BENCHMARK(BM_Resize)
    ->ArgNames({"sw", "sh", "ow", "oh", "filter", "pool"})
    ->Args({2048, 1536, 512, 384, 1, 0})  // the brief's target: < 100 ms on one core
    ->Args({2048, 1536, 512, 384, 1, 1})
    ->Args({2048, 1536, 512, 512, 1, 0})    // SmolVLM global image
    ->Args({640, 480, 2048, 1536, 1, 0})    // SmolVLM stage 1 upscale
    ->Args({2048, 1638, 2048, 2048, 1, 0})  // SmolVLM stage 2 (vertical pass only)
    ->Args({2048, 1536, 224, 224, 3, 0})    // PaliGemma BICUBIC
    ->Args({2048, 1536, 512, 384, 0, 0})    // NEAREST
    ->Unit(benchmark::kMillisecond);

void BM_RescaleNormalize(benchmark::State& state) {
  const ImageRgb8 image = noise_image(512, 512);
  std::vector<float> out(3 * 512 * 512);
  for (auto _ : state) {
    vlmrt::image::rescale_normalize_to_chw(image, vlmrt::image::Normalization{}, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RescaleNormalize)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
