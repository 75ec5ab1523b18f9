// No FMA contraction: the rounding points are the spec (ops_math.hpp).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include "backends/native/cpu/ops.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "backends/native/cpu/cpu_features.hpp"
#include "backends/native/cpu/isa_dispatch.hpp"
#include "backends/native/cpu/ops_math.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

using detail::round_to;

// Rows per parallel chunk so that a chunk holds at least ~16k elements (below that the hand-off
// costs more than the work).
std::size_t rows_per_chunk(std::size_t cols) {
  return std::max<std::size_t>(1, (std::size_t{1} << 14) / std::max<std::size_t>(cols, 1));
}

// Calls body(tag) with the precision as a compile-time constant (tag.value), so that the
// rounding inlines into each loop and the loops vectorise.
template <Precision P>
using PrecisionTag = std::integral_constant<Precision, P>;

template <class Body>
void with_precision(Precision precision, Body body) {
  switch (precision) {
    case Precision::F32:
      return body(PrecisionTag<Precision::F32>{});
    case Precision::Bf16:
      return body(PrecisionTag<Precision::Bf16>{});
    case Precision::F16:
      return body(PrecisionTag<Precision::F16>{});
  }
}

// y[i] = round(fn(i)) for every i.
template <class Fn>
void for_each_rounded(float* y, std::size_t n, Precision precision, Fn fn) {
  with_precision(precision, [&](auto tag) {
    for (std::size_t i = 0; i < n; ++i) y[i] = round_to(tag.value, fn(i));
  });
}

// Runs body(begin, end) over [0, n) in chunks of at least 16k elements.
template <class Body>
void parallel_elements(std::size_t n, ThreadPool& pool, Body body) {
  detail::parallel_for(
      pool, 0, n, [&](std::size_t begin, std::size_t end) { body(begin, end); },
      std::size_t{1} << 14);
}

}  // namespace

float round_to_precision(float x, Precision precision) {
  return round_to(precision, x);
}

void round_to_precision(float* x, std::size_t n, Precision precision) {
  if (precision == Precision::F32) return;
  for_each_rounded(x, n, precision, [x](std::size_t i) { return x[i]; });
}

void layer_norm(const float* x, std::size_t rows, std::size_t cols, std::size_t x_stride,
                const float* weight, const float* bias, float eps, float* y, std::size_t y_stride,
                Precision precision, ThreadPool& pool) {
  if (cols == 0) return;
  detail::parallel_for(
      pool, 0, rows,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
          const float* xr = x + r * x_stride;
          float* yr = y + r * y_stride;
          // Moments in double: PyTorch's f32 Welford/cascade sums are within an f32 ulp of the
          // exact value, and the double sum makes the result independent of summation order.
          double sum = 0.0;
          for (std::size_t c = 0; c < cols; ++c) sum += xr[c];
          const double mean = sum / static_cast<double>(cols);
          double squares = 0.0;
          for (std::size_t c = 0; c < cols; ++c) {
            const double d = xr[c] - mean;
            squares += d * d;
          }
          const float mean_f = static_cast<float>(mean);
          const float var_f = static_cast<float>(squares / static_cast<double>(cols));
          const float rstd = 1.0f / std::sqrt(std::max(var_f, 0.0f) + eps);
          const float shift = -rstd * mean_f;
          for_each_rounded(yr, cols, precision, [&](std::size_t c) {
            return (xr[c] * rstd + shift) * weight[c] + bias[c];
          });
        }
      },
      rows_per_chunk(cols));
}

void rms_norm(const float* x, std::size_t rows, std::size_t cols, std::size_t x_stride,
              const float* weight, float eps, RmsNormForm form, float* y, std::size_t y_stride,
              Precision precision, ThreadPool& pool) {
  if (cols == 0) return;
  detail::parallel_for(
      pool, 0, rows,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
          const float* xr = x + r * x_stride;
          float* yr = y + r * y_stride;
          // x.pow(2) is an f32 tensor (each square rounded); its mean is summed in double.
          double sum = 0.0;
          for (std::size_t c = 0; c < cols; ++c) {
            const float square = xr[c] * xr[c];
            sum += square;
          }
          const float variance = static_cast<float>(sum / static_cast<double>(cols));
          // torch.rsqrt on CPU is 1/sqrt (two roundings), applied as a multiply.
          const float inv_rms = 1.0f / std::sqrt(variance + eps);
          with_precision(precision, [&](auto tag) {
            constexpr Precision kP = decltype(tag)::value;
            if (form == RmsNormForm::Gemma) {
              for (std::size_t c = 0; c < cols; ++c)
                yr[c] = round_to(kP, (xr[c] * inv_rms) * (1.0f + weight[c]));
            } else {
              for (std::size_t c = 0; c < cols; ++c)
                yr[c] = round_to(kP, round_to(kP, xr[c] * inv_rms) * weight[c]);
            }
          });
        }
      },
      rows_per_chunk(cols));
}

void add(const float* a, const float* b, float* y, std::size_t n, Precision precision) {
  for_each_rounded(y, n, precision, [=](std::size_t i) { return a[i] + b[i]; });
}

void mul(const float* a, const float* b, float* y, std::size_t n, Precision precision) {
  for_each_rounded(y, n, precision, [=](std::size_t i) { return a[i] * b[i]; });
}

void scale(float* x, std::size_t n, double s, Precision precision) {
  const float factor = static_cast<float>(s);
  for_each_rounded(x, n, precision, [=](std::size_t i) { return x[i] * factor; });
}

void divide(float* x, std::size_t n, double d, Precision precision) {
  const float divisor = static_cast<float>(d);
  for_each_rounded(x, n, precision, [=](std::size_t i) { return x[i] / divisor; });
}

namespace {

// The activation loops, the only compute-bound elementwise ops, compiled per ISA (the others
// are memory-bound). Same bits on every ISA: no FMA contraction (pragma above).
// Kind: 0 = gelu_tanh, 1 = silu, 2 = GeGLU, 3 = SwiGLU (gate = x, up = x2).
template <Precision P, int Kind>
VLMRT_OPS_INLINE void activation_loop(const float* x, const float* x2, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (Kind == 0) {
      y[i] = round_to(P, detail::gelu_tanh_f32(x[i]));
    } else if constexpr (Kind == 1) {
      y[i] = round_to(P, detail::silu_f32(x[i]));
    } else if constexpr (Kind == 2) {
      y[i] = round_to(P, round_to(P, detail::gelu_tanh_f32(x[i])) * x2[i]);
    } else {
      y[i] = round_to(P, round_to(P, detail::silu_f32(x[i])) * x2[i]);
    }
  }
}

using ActivationFn = void (*)(const float*, const float*, float*, std::size_t);

// The loop compiled for the best ISA this CPU allows (isa_dispatch.hpp).
template <Precision P, int Kind>
void activation_best_isa(const float* x, const float* x2, float* y, std::size_t n) {
  with_best_isa([&] { activation_loop<P, Kind>(x, x2, y, n); });
}

template <int Kind>
ActivationFn pick_activation(Precision precision) {
  switch (precision) {
    case Precision::F32:
      return &activation_best_isa<Precision::F32, Kind>;
    case Precision::Bf16:
      return &activation_best_isa<Precision::Bf16, Kind>;
    case Precision::F16:
      return &activation_best_isa<Precision::F16, Kind>;
  }
  return &activation_best_isa<Precision::F32, Kind>;
}

}  // namespace

void gelu_tanh(const float* x, float* y, std::size_t n, Precision precision, ThreadPool& pool) {
  const ActivationFn fn = pick_activation<0>(precision);
  parallel_elements(n, pool, [&](std::size_t begin, std::size_t end) {
    fn(x + begin, nullptr, y + begin, end - begin);
  });
}

void silu(const float* x, float* y, std::size_t n, Precision precision, ThreadPool& pool) {
  const ActivationFn fn = pick_activation<1>(precision);
  parallel_elements(n, pool, [&](std::size_t begin, std::size_t end) {
    fn(x + begin, nullptr, y + begin, end - begin);
  });
}

void gated_activation(const float* x, std::size_t rows, std::size_t inner, std::size_t x_stride,
                      GatedActivation activation, float* y, std::size_t y_stride,
                      Precision precision, ThreadPool& pool) {
  const ActivationFn fn = activation == GatedActivation::GeluTanh ? pick_activation<2>(precision)
                                                                  : pick_activation<3>(precision);
  detail::parallel_for(
      pool, 0, rows,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t r = begin; r < end; ++r) {
          const float* gate = x + r * x_stride;
          fn(gate, gate + inner, y + r * y_stride, inner);
        }
      },
      rows_per_chunk(inner));
}

void softcap(float* x, std::size_t n, float cap, Precision precision) {
  with_precision(precision, [&](auto tag) {
    constexpr Precision kP = decltype(tag)::value;
    for (std::size_t i = 0; i < n; ++i) {
      const float scaled = round_to(kP, x[i] / cap);
      x[i] = round_to(kP, round_to(kP, detail::fast_tanh(scaled)) * cap);
    }
  });
}

std::size_t argmax(const float* x, std::size_t n) {
  if (n == 0) throw Error(ErrorKind::InvalidArgument, "argmax: the logits row is empty");
  std::size_t best = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return i;
    if (x[i] > x[best]) best = i;
  }
  return best;
}

}  // namespace vlmrt::native
