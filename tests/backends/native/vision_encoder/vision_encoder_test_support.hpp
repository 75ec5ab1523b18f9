// Shared by the vision encoder tests: a tiny fixture loaded for the native engine, pixel batches
// from .npy goldens, and the distance measures the golden tolerances are stated in.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backends/native/model/model_weights.hpp"
#include "core/dtype.hpp"
#include "core/npy.hpp"
#include "core/thread_pool.hpp"
#include "models/model_config.hpp"
#include "models/network.hpp"
#include "models/pixel_batch.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native::vision_testing {

inline ThreadPool& pool() {
  static ThreadPool instance(2);
  return instance;
}

struct Model {
  ModelConfig config;
  ModelWeights weights;
  NetworkSpec spec;

  explicit Model(const std::filesystem::path& dir)
      : config(ModelConfig::load(dir)),
        weights(ModelWeights::open(dir, config)),
        spec(describe_network(config)) {}
};

// Whether `action` throws vlmrt::Error of `kind` whose message contains `needle`.
inline ::testing::AssertionResult throws_error(ErrorKind kind, const std::function<void()>& action,
                                               const std::string& needle) {
  try {
    action();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (e.kind() != kind)
      return ::testing::AssertionFailure()
             << "wrong kind " << to_string(e.kind()) << ": " << message;
    if (message.find(needle) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << needle << "' not in: " << message;
    return ::testing::AssertionSuccess() << message;
  }
  return ::testing::AssertionFailure() << "no error thrown";
}

// A one-prompt batch (no mask) from a [frames, 3, S, S] array.
inline PixelBatch batch_of(const npy::Array<float>& pixels) {
  PixelBatch batch;
  batch.num_frames = static_cast<int>(pixels.shape.at(0));
  batch.height = static_cast<int>(pixels.shape.at(2));
  batch.width = static_cast<int>(pixels.shape.at(3));
  batch.frames_per_sample = batch.num_frames;
  batch.pixel_values = pixels.values;
  return batch;
}

// One bf16 ulp at |v|: 2^(e − 7) for v in [2^e, 2^(e+1)) (8 significant bits).
inline double bf16_ulp(double v) {
  const double magnitude = std::max(std::abs(v), 0x1p-126);
  return std::ldexp(1.0, std::ilogb(magnitude) - 7);
}

inline bool is_bf16(float v) {
  return bf16_to_f32(f32_to_bf16(v)) == v;
}

struct Distance {
  double max_abs = 0.0;  // max |got − want|
  double peak = 0.0;     // max |want|
  // max |got − want| in bf16 ulps of the tensor's largest value: an error measured against the
  // tensor's scale, since an ulp of a value near 0 says nothing about the tensor.
  double peak_ulps = 0.0;
  // Elements that differ by more than one bf16 ulp of their own value, or are not bf16 values:
  // 0 means every difference is an adjacent bf16 value (a rounding landing the other way).
  std::size_t beyond_one_ulp = 0;
  std::size_t differing = 0;
  std::size_t count = 0;
  bool exact() const { return differing == 0; }
};

inline Distance distance(std::span<const float> got, std::span<const float> want) {
  Distance d;
  d.count = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < d.count; ++i) {
    const double diff = std::abs(static_cast<double>(got[i]) - want[i]);
    d.max_abs = std::max(d.max_abs, diff);
    d.peak = std::max(d.peak, std::abs(static_cast<double>(want[i])));
    d.differing += got[i] != want[i] ? 1 : 0;
    const double adjacent = bf16_ulp(std::max(std::abs(got[i]), std::abs(want[i])));
    d.beyond_one_ulp += diff > adjacent || !is_bf16(got[i]) ? 1 : 0;
  }
  d.peak_ulps = d.max_abs / bf16_ulp(d.peak);
  return d;
}

}  // namespace vlmrt::native::vision_testing
