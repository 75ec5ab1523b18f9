// AVX2 + FMA + F16C kernels for x86-64 CPUs without AVX-512. Per-function target attributes keep
// the rest of the binary at the baseline ISA.
#include <algorithm>

#include "backends/native/cpu/gemm_kernels.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define VLMRT_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace vlmrt::native::detail {

namespace {

// 6 x 16 tile: 12 accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers.
constexpr int kMr = 6;
constexpr int kNv = 2;
constexpr int kNr = 8 * kNv;

VLMRT_TARGET_AVX2 void micro_f32_avx2(std::int64_t kc, const void* a_panel, const void* b_panel,
                                      float* c, std::int64_t ldc, int m_valid, int n_valid,
                                      const float* bias, bool accumulate) {
  const float* a = static_cast<const float*>(a_panel);
  const float* b = static_cast<const float*>(b_panel);
  // Edge tiles go through a full-size staging tile so the loop below needs no masks.
  const bool full = m_valid == kMr && n_valid == kNr;
  alignas(32) float staging[kMr * kNr];
  float* tile = c;
  std::int64_t ld = ldc;
  if (!full) {
    tile = staging;
    ld = kNr;
    if (accumulate)
      for (int r = 0; r < kMr; ++r)
        for (int j = 0; j < kNr; ++j)
          staging[r * kNr + j] = r < m_valid && j < n_valid ? c[r * ldc + j] : 0.0f;
  }
  __m256 acc[kMr][kNv];
  for (int v = 0; v < kNv; ++v) {
    __m256 start = _mm256_setzero_ps();
    if (!accumulate && bias != nullptr) {
      alignas(32) float lanes[8] = {};
      for (int j = 0; j < 8 && 8 * v + j < n_valid; ++j) lanes[j] = bias[8 * v + j];
      start = _mm256_load_ps(lanes);
    }
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
      acc[r][v] = accumulate ? _mm256_loadu_ps(tile + r * ld + 8 * v) : start;
  }
  for (std::int64_t s = 0; s < kc; ++s) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    a += kMr;
    b += kNr;
  }
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) _mm256_storeu_ps(tile + r * ld + 8 * v, acc[r][v]);
  if (!full)
    for (int r = 0; r < m_valid; ++r)
      for (int j = 0; j < n_valid; ++j) c[r * ldc + j] = staging[r * kNr + j];
}

template <DType D>
VLMRT_TARGET_AVX2 inline __m256 load_weights8(const void* base, std::int64_t index) {
  if constexpr (D == DType::F32) {
    return _mm256_loadu_ps(static_cast<const float*>(base) + index);
  } else {
    const __m128i half = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(base) + index));
    if constexpr (D == DType::F16) return _mm256_cvtph_ps(half);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
  }
}

template <DType D>
inline float load_weight1(const void* base, std::int64_t index) {
  if constexpr (D == DType::F32) {
    float value;
    __builtin_memcpy(&value, static_cast<const float*>(base) + index, sizeof value);
    return value;
  } else {
    std::uint16_t bits;
    __builtin_memcpy(&bits, static_cast<const std::uint16_t*>(base) + index, sizeof bits);
    if constexpr (D == DType::F16) return f16_to_f32(bits);
    return bf16_to_f32(bits);
  }
}

VLMRT_TARGET_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

constexpr std::int64_t kGemvPrefetchRows = 8;

template <int M, int ROWS, DType D>
VLMRT_TARGET_AVX2 void gemv_rows(const float* x, std::int64_t x_stride, const WeightMatrix& w,
                                 std::int64_t n0, int rows_valid, const float* bias, float* y,
                                 std::int64_t y_stride) {
  const std::int64_t k = w.in_features;
  std::int64_t offset[ROWS];
  for (int i = 0; i < ROWS; ++i)
    offset[i] = (n0 + (i < rows_valid ? i : rows_valid - 1)) * w.row_stride;
  __m256 acc[ROWS][M];
  for (int i = 0; i < ROWS; ++i)
    for (int r = 0; r < M; ++r) acc[i][r] = _mm256_setzero_ps();
  // Prefetch the rows kGemvPrefetchRows ahead: short rows defeat the hardware prefetcher (see
  // kernels_avx512.cpp).
  constexpr int kElem = D == DType::F32 ? 4 : 2;
  const char* base = static_cast<const char*>(w.data);
  const std::int64_t ahead = kGemvPrefetchRows * w.row_stride;
  std::int64_t kk = 0;
  for (; kk + 8 <= k; kk += 8) {
    if ((kk * kElem) % 64 == 0) {
#pragma GCC unroll 4
      for (int i = 0; i < ROWS; ++i)
        _mm_prefetch(base + (offset[i] + ahead + kk) * kElem, _MM_HINT_T0);
    }
    __m256 xv[M];
#pragma GCC unroll 4
    for (int r = 0; r < M; ++r) xv[r] = _mm256_loadu_ps(x + r * x_stride + kk);
#pragma GCC unroll 4
    for (int i = 0; i < ROWS; ++i) {
      const __m256 wv = load_weights8<D>(w.data, offset[i] + kk);
#pragma GCC unroll 4
      for (int r = 0; r < M; ++r) acc[i][r] = _mm256_fmadd_ps(wv, xv[r], acc[i][r]);
    }
  }
  for (int i = 0; i < rows_valid; ++i)
    for (int r = 0; r < M; ++r) {
      float tail = 0.0f;
      for (std::int64_t t = kk; t < k; ++t)
        tail += x[r * x_stride + t] * load_weight1<D>(w.data, offset[i] + t);
      y[r * y_stride + n0 + i] =
          (bias != nullptr ? bias[n0 + i] : 0.0f) + (horizontal_sum(acc[i][r]) + tail);
    }
}

template <int M, DType D>
VLMRT_TARGET_AVX2 void gemv_range(const float* x, std::int64_t x_stride, const WeightMatrix& w,
                                  std::int64_t n_begin, std::int64_t n_end, const float* bias,
                                  float* y, std::int64_t y_stride) {
  constexpr int kRows = M <= 2 ? 4 : 2;
  for (std::int64_t n = n_begin; n < n_end; n += kRows) {
    const int rows = static_cast<int>(std::min<std::int64_t>(kRows, n_end - n));
    gemv_rows<M, kRows, D>(x, x_stride, w, n, rows, bias, y, y_stride);
  }
}

template <DType D>
void gemv_dtype(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
                std::int64_t n_begin, std::int64_t n_end, const float* bias, float* y,
                std::int64_t y_stride) {
  switch (m) {
    case 1:
      return gemv_range<1, D>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
    case 2:
      return gemv_range<2, D>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
    case 3:
      return gemv_range<3, D>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
    default:
      return gemv_range<4, D>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
  }
}

void gemv_avx2(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
               std::int64_t n_begin, std::int64_t n_end, const float* bias, float* y,
               std::int64_t y_stride) {
  switch (w.dtype) {
    case DType::BF16:
      return gemv_dtype<DType::BF16>(x, m, x_stride, w, n_begin, n_end, bias, y, y_stride);
    case DType::F16:
      return gemv_dtype<DType::F16>(x, m, x_stride, w, n_begin, n_end, bias, y, y_stride);
    default:
      return gemv_dtype<DType::F32>(x, m, x_stride, w, n_begin, n_end, bias, y, y_stride);
  }
}

}  // namespace

const GemmKernels* avx2_kernels() {
  static const GemmKernels kernels{.isa = CpuIsa::Avx2,
                                   .f32_mr = kMr,
                                   .f32_nr = kNr,
                                   .f32 = micro_f32_avx2,
                                   .pack_a_f32 = pack_a_f32_portable,
                                   .pack_b_f32 = pack_b_f32_portable,
                                   .bf16_mr = 0,
                                   .bf16_nr = 0,
                                   .bf16 = nullptr,
                                   .pack_a_bf16 = nullptr,
                                   .pack_b_bf16 = nullptr,
                                   .gemv = gemv_avx2};
  return &kernels;
}

}  // namespace vlmrt::native::detail

#else  // not x86-64

namespace vlmrt::native::detail {
const GemmKernels* avx2_kernels() {
  return nullptr;
}
}  // namespace vlmrt::native::detail

#endif
