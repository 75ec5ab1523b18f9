// The driver behind gemm.hpp: argument checks, the small-m (GEMV) and large-m (packed GEMM)
// paths, cache blocking and the split over threads. The arithmetic lives in kernels_*.cpp.
#include "backends/native/cpu/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <new>
#include <string>

#include "backends/native/cpu/gemm_kernels.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

using detail::BSource;
using detail::GemmKernels;

// k steps per block (a step is one k value for f32, a pair for bf16): a 32-column B micro-panel
// of 256 steps is 32 KiB and stays in L1 while the 16-panel A block (~224 KiB) streams from L2.
// (128..512 steps and 8..32 panels measured within noise of each other on Zen 5.)
constexpr std::int64_t kKcSteps = 256;
constexpr std::int64_t kMcPanels = 16;
constexpr std::int64_t kUnitPanels = 8;
// A GEMV unit reads at least this many weight bytes: below that, handing half a matrix to the
// other core costs more than it saves even with the pool's spinning hand-off (measured with
// vlmrt_gemm_bench: a 1536x576 bf16 GEMV from cache takes 24 us on one thread, 12.6 us on two;
// a 192x576 one, 2.7 us either way).
constexpr std::int64_t kGemvMinChunkBytes = 128 * 1024;

// A 64-byte aligned scratch buffer that only grows; one per thread (thread_local below), so the
// decode loop and repeated layers allocate nothing after the first call.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { release(); }

  void* get(std::size_t bytes) {
    if (bytes > capacity_) {
      release();
      data_ = ::operator new (bytes, std::align_val_t{64});
      capacity_ = bytes;
    }
    return data_;
  }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete (data_, std::align_val_t{64});
    data_ = nullptr;
    capacity_ = 0;
  }
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

Scratch& a_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

Scratch& b_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, "linear/gemm: " + message);
}

void fill_bias(std::int64_t m, std::int64_t n, const float* bias, float* y, std::int64_t y_stride) {
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < n; ++j) y[r * y_stride + j] = bias != nullptr ? bias[j] : 0.0f;
}

// Runs body(u) for every u in [0, units), each thread taking the next unit when it finishes
// one: on a machine shared with other processes a slowed core then delays the result by one
// unit, not by half of the work as a static split would.
template <typename Body>
void for_each_unit(ThreadPool& pool, std::int64_t units, const Body& body) {
  const auto workers = std::min<std::int64_t>(units, static_cast<std::int64_t>(pool.size()));
  if (workers <= 1) {
    for (std::int64_t u = 0; u < units; ++u) body(u);
    return;
  }
  // One captured pointer keeps the std::function that parallel_for takes in its small-object
  // buffer: no heap allocation per call (the decode loop calls this hundreds of times a token).
  struct Shared {
    std::atomic<std::int64_t> next{0};
    std::int64_t units;
    const Body* body;
  } shared{0, units, &body};
  pool.parallel_for(0, static_cast<std::size_t>(workers), [s = &shared](std::size_t, std::size_t) {
    for (std::int64_t u = s->next.fetch_add(1); u < s->units; u = s->next.fetch_add(1))
      (*s->body)(u);
  });
}

// y[m, n] = x[m, k] · op(B) + bias with packed panels: phase 1 packs all of A once (shared by
// the threads), phase 2 hands out units of a few B panels (output columns); a thread packs a
// unit's panels block by block into its own scratch and multiplies them with all of A. Every
// output is summed in the same order whichever thread computes it.
void packed_gemm(const GemmKernels& kernels, bool use_bf16, const float* x, std::int64_t m,
                 std::int64_t x_stride, std::int64_t k, const BSource& b, std::int64_t n,
                 const float* bias, float* y, std::int64_t y_stride, ThreadPool& pool) {
  const int mr = use_bf16 ? kernels.bf16_mr : kernels.f32_mr;
  const int nr = use_bf16 ? kernels.bf16_nr : kernels.f32_nr;
  const detail::MicroKernel micro = use_bf16 ? kernels.bf16 : kernels.f32;
  const detail::PackA pack_a = use_bf16 ? kernels.pack_a_bf16 : kernels.pack_a_f32;
  const detail::PackB pack_b = use_bf16 ? kernels.pack_b_bf16 : kernels.pack_b_f32;
  const std::int64_t steps = use_bf16 ? (k + 1) / 2 : k;
  const std::int64_t m_panels = (m + mr - 1) / mr;
  const std::int64_t n_panels = (n + nr - 1) / nr;
  const std::int64_t m_padded = m_panels * mr;
  // Both panel kinds hold 4-byte elements (f32, or a bf16 pair).
  auto* a_packed = static_cast<float*>(
      a_scratch().get(static_cast<std::size_t>(m_padded * steps) * sizeof(float)));
  // Block p0 of A starts at p0 * m_padded; panel i of it at i * kc * mr within the block.
  pool.parallel_for(
      0, static_cast<std::size_t>(m_panels),
      [&](std::size_t begin, std::size_t end) {
        for (std::int64_t p0 = 0; p0 < steps; p0 += kKcSteps) {
          const std::int64_t kc = std::min(kKcSteps, steps - p0);
          for (auto i = static_cast<std::int64_t>(begin); i < static_cast<std::int64_t>(end); ++i)
            pack_a(x, m, k, x_stride, i * mr, p0, kc, mr, a_packed + p0 * m_padded + i * kc * mr);
        }
      },
      4);

  // About four units per thread for balance, at most kUnitPanels panels (256 columns) each.
  const std::int64_t threads = static_cast<std::int64_t>(pool.size());
  const std::int64_t unit_panels =
      std::clamp<std::int64_t>(n_panels / (4 * threads), 1, kUnitPanels);
  const std::int64_t units = (n_panels + unit_panels - 1) / unit_panels;
  for_each_unit(pool, units, [&](std::int64_t unit) {
    const std::int64_t j0 = unit * unit_panels;
    const std::int64_t j1 = std::min(n_panels, j0 + unit_panels);
    const std::int64_t block_steps = std::min(kKcSteps, steps);
    auto* b_packed = static_cast<float*>(
        b_scratch().get(static_cast<std::size_t>(block_steps * nr * unit_panels) * sizeof(float)));
    for (std::int64_t p0 = 0; p0 < steps; p0 += kKcSteps) {
      const std::int64_t kc = std::min(kKcSteps, steps - p0);
      for (std::int64_t j = j0; j < j1; ++j)
        pack_b(b, n, k, j * nr, p0, kc, nr, b_packed + (j - j0) * kc * nr);
      const float* a_block = a_packed + p0 * m_padded;
      for (std::int64_t i0 = 0; i0 < m_panels; i0 += kMcPanels) {
        const std::int64_t i1 = std::min(m_panels, i0 + kMcPanels);
        for (std::int64_t j = j0; j < j1; ++j) {
          const int n_valid = static_cast<int>(std::min<std::int64_t>(nr, n - j * nr));
          const float* b_panel = b_packed + (j - j0) * kc * nr;
          const float* panel_bias = bias != nullptr ? bias + j * nr : nullptr;
          for (std::int64_t i = i0; i < i1; ++i) {
            const int m_valid = static_cast<int>(std::min<std::int64_t>(mr, m - i * mr));
            micro(kc, a_block + i * kc * mr, b_panel, y + i * mr * y_stride + j * nr, y_stride,
                  m_valid, n_valid, panel_bias, p0 > 0);
          }
        }
      }
    }
  });
}

}  // namespace

bool linear_rounds_activations(std::int64_t m, DType weight_dtype, const LinearOptions& options) {
  return options.precision == LinearPrecision::Bf16Activations && weight_dtype == DType::BF16 &&
         m > detail::kGemvMaxRows && detail::kernels_for(active_cpu_isa()).bf16 != nullptr;
}

void linear(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
            const float* bias, float* y, std::int64_t y_stride, ThreadPool& pool,
            const LinearOptions& options) {
  const std::int64_t n = w.out_features;
  const std::int64_t k = w.in_features;
  if (m < 0 || n < 0 || k < 0) invalid("negative size");
  if (w.dtype != DType::F32 && w.dtype != DType::BF16 && w.dtype != DType::F16)
    throw Error(ErrorKind::Unsupported, "linear: weight dtype " + std::string(dtype_name(w.dtype)) +
                                            " is not supported (expected F32, BF16 or F16)");
  if (w.row_scales != nullptr)
    throw Error(ErrorKind::Unsupported, "linear: per-row weight scales are not supported yet");
  if (m == 0 || n == 0) return;
  if (y == nullptr) invalid("output is null");
  if (y_stride < n)
    invalid("output row stride " + std::to_string(y_stride) + " < " + std::to_string(n) +
            " output features");
  if (k == 0) return fill_bias(m, n, bias, y, y_stride);
  if (x == nullptr || w.data == nullptr) invalid("input or weight data is null");
  if (x_stride < k)
    invalid("input row stride " + std::to_string(x_stride) + " < " + std::to_string(k) +
            " input features");
  WeightMatrix weights = w;
  if (weights.row_stride == 0) weights.row_stride = k;
  if (weights.row_stride < k) invalid("weight row stride < in_features");

  const GemmKernels& kernels = detail::kernels_for(active_cpu_isa());
  if (m <= detail::kGemvMaxRows) {
    const std::int64_t row_bytes = k * static_cast<std::int64_t>(dtype_size(w.dtype));
    const std::int64_t min_rows = std::max<std::int64_t>(16, kGemvMinChunkBytes / row_bytes);
    const std::int64_t threads = static_cast<std::int64_t>(pool.size());
    const std::int64_t unit_rows = (std::max(min_rows, n / (4 * threads)) + 7) / 8 * 8;
    const std::int64_t units = (n + unit_rows - 1) / unit_rows;
    for_each_unit(pool, units, [&](std::int64_t unit) {
      kernels.gemv(x, m, x_stride, weights, unit * unit_rows, std::min(n, (unit + 1) * unit_rows),
                   bias, y, y_stride);
    });
    return;
  }
  const bool use_bf16 = linear_rounds_activations(m, w.dtype, options);
  const BSource b{weights.dtype, weights.data, weights.row_stride, true};
  packed_gemm(kernels, use_bf16, x, m, x_stride, k, b, n, bias, y, y_stride, pool);
}

void gemm_f32(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
              const float* b, std::int64_t ldb, Transpose b_layout, float* c, std::int64_t ldc,
              ThreadPool& pool) {
  if (m < 0 || n < 0 || k < 0) invalid("negative size");
  if (m == 0 || n == 0) return;
  if (c == nullptr) invalid("output is null");
  if (ldc < n) invalid("C row stride < n");
  if (k == 0) return fill_bias(m, n, nullptr, c, ldc);
  if (a == nullptr || b == nullptr) invalid("input is null");
  if (lda < k) invalid("A row stride < k");
  const bool transposed = b_layout == Transpose::Transposed;
  if (ldb < (transposed ? k : n)) invalid("B row stride too small");
  if (transposed) {
    // Bᵀ is exactly a Linear weight matrix.
    const WeightMatrix w{DType::F32, b, n, k, ldb, nullptr};
    return linear(a, m, lda, w, nullptr, c, ldc, pool);
  }
  const GemmKernels& kernels = detail::kernels_for(active_cpu_isa());
  const BSource source{DType::F32, b, ldb, false};
  packed_gemm(kernels, false, a, m, lda, k, source, n, nullptr, c, ldc, pool);
}

}  // namespace vlmrt::native
