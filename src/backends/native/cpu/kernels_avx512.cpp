// AVX-512 kernels (F/BW/VL/DQ + FMA + F16C), and the AVX512_BF16 variant whose large-m path
// multiplies bf16 pairs with vdpbf16ps. Compiled with per-function target attributes so the rest
// of the binary keeps the baseline ISA; only called after cpu_features.cpp detected the CPU.
#include <algorithm>

#include "backends/native/cpu/gemm_kernels.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// GCC 12's AVX-512 headers self-initialise "undefined" vectors (__Y = __Y), which trips
// -Wmaybe-uninitialized (and, at -O1 as in the sanitizer build, -Wuninitialized) once inlined
// into these kernels; a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#define VLMRT_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define VLMRT_TARGET_AVX512BF16 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c,avx512bf16")))

namespace vlmrt::native::detail {

namespace {

// 14 x 32 tile: 28 accumulators + 2 B vectors + 1 broadcast fill the 32 zmm registers, and the
// 14 broadcasts + 2 loads per step stay under the load ports' rate for 28 FMAs.
constexpr int kMr = 14;
constexpr int kNv = 2;
constexpr int kNr = 16 * kNv;

VLMRT_TARGET_AVX512 inline __mmask16 column_mask(int n_valid, int v) {
  const int rem = n_valid - 16 * v;
  if (rem >= 16) return static_cast<__mmask16>(0xFFFF);
  if (rem <= 0) return 0;
  return static_cast<__mmask16>((1u << rem) - 1u);
}

// Starts the accumulators at the bias (or zero) for the first k block; later blocks start at
// zero and add C at the end (store_tile), so the C rows can be prefetched while the k loop runs
// instead of stalling on them up front.
template <int MR, int NV>
VLMRT_TARGET_AVX512 inline void start_tile(__m512 (&acc)[MR][NV], const float* c, std::int64_t ldc,
                                           int m_valid, const __mmask16 (&mask)[NV],
                                           const float* bias, bool accumulate) {
  if (accumulate) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      if (r < m_valid) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
      }
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __m512 start = !accumulate && bias != nullptr
                             ? _mm512_maskz_loadu_ps(mask[v], bias + 16 * v)
                             : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[r][v] = start;
  }
}

template <int MR, int NV>
VLMRT_TARGET_AVX512 inline void store_tile(const __m512 (&acc)[MR][NV], float* c, std::int64_t ldc,
                                           int m_valid, const __mmask16 (&mask)[NV],
                                           bool accumulate) {
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r < m_valid) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* at = c + r * ldc + 16 * v;
        const __m512 sum =
            accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(mask[v], at), acc[r][v]) : acc[r][v];
        _mm512_mask_storeu_ps(at, mask[v], sum);
      }
    }
  }
}

template <int MR, int NV>
VLMRT_TARGET_AVX512 void micro_f32(std::int64_t kc, const void* a_panel, const void* b_panel,
                                   float* c, std::int64_t ldc, int m_valid, int n_valid,
                                   const float* bias, bool accumulate) {
  const float* a = static_cast<const float*>(a_panel);
  const float* b = static_cast<const float*>(b_panel);
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = column_mask(n_valid, v);
  __m512 acc[MR][NV];
  start_tile<MR, NV>(acc, c, ldc, m_valid, mask, bias, accumulate);
  for (std::int64_t s = 0; s < kc; ++s) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += 16 * NV;
  }
  store_tile<MR, NV>(acc, c, ldc, m_valid, mask, accumulate);
}

template <int MR, int NV>
VLMRT_TARGET_AVX512BF16 void micro_bf16(std::int64_t kc, const void* a_panel, const void* b_panel,
                                        float* c, std::int64_t ldc, int m_valid, int n_valid,
                                        const float* bias, bool accumulate) {
  const std::int32_t* a = static_cast<const std::int32_t*>(a_panel);
  const std::int32_t* b = static_cast<const std::int32_t*>(b_panel);
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = column_mask(n_valid, v);
  __m512 acc[MR][NV];
  start_tile<MR, NV>(acc, c, ldc, m_valid, mask, bias, accumulate);
  for (std::int64_t s = 0; s < kc; ++s) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_load_si512(b + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
    a += MR;
    b += 16 * NV;
  }
  store_tile<MR, NV>(acc, c, ldc, m_valid, mask, accumulate);
}

// In-register transpose of a 16 x 16 block of 32-bit elements (rows[i] lane j -> rows[j] lane
// i); the packers move f32 values and bf16 pairs alike, as raw bits.
VLMRT_TARGET_AVX512 inline void transpose16(__m512 (&rows)[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
  }
  // u[4q + c], 128-bit lane L: column 4L + c of rows 4q..4q+3.
  __m512 u[16];
  for (int q = 0; q < 4; ++q) {
    const __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 2]);
    const __m512d c = _mm512_castps_pd(t[4 * q + 1]), d = _mm512_castps_pd(t[4 * q + 3]);
    u[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
    u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
  }
  __m512 v[16];
  for (int c = 0; c < 4; ++c) {
    v[c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
    v[4 + c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    v[8 + c] = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    v[12 + c] = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
  }
  for (int c = 0; c < 4; ++c) {
    rows[c] = _mm512_shuffle_f32x4(v[c], v[8 + c], 0x88);
    rows[c + 8] = _mm512_shuffle_f32x4(v[c], v[8 + c], 0xDD);
    rows[c + 4] = _mm512_shuffle_f32x4(v[4 + c], v[12 + c], 0x88);
    rows[c + 12] = _mm512_shuffle_f32x4(v[4 + c], v[12 + c], 0xDD);
  }
}

inline __mmask16 prefix_mask16(std::int64_t count) {
  if (count >= 16) return static_cast<__mmask16>(0xFFFF);
  if (count <= 0) return 0;
  return static_cast<__mmask16>((1u << count) - 1u);
}

inline __mmask32 prefix_mask32(std::int64_t count) {
  if (count >= 32) return 0xFFFFFFFFu;
  if (count <= 0) return 0;
  return (1u << count) - 1u;
}

// A panel [kc][mr] (mr <= 16) from mr rows of x, 16 k at a time through transpose16.
VLMRT_TARGET_AVX512 void pack_a_f32_avx512(const float* x, std::int64_t m, std::int64_t k,
                                           std::int64_t x_stride, std::int64_t row0,
                                           std::int64_t step0, std::int64_t kc, int mr, void* dst) {
  float* out = static_cast<float*>(dst);
  const __mmask16 row_mask = prefix_mask16(mr);
  for (std::int64_t s0 = 0; s0 < kc; s0 += 16) {
    const __mmask16 k_mask = prefix_mask16(k - (step0 + s0));
    __m512 rows[16];
    for (int r = 0; r < 16; ++r)
      rows[r] = r < mr && row0 + r < m
                    ? _mm512_maskz_loadu_ps(k_mask, x + (row0 + r) * x_stride + step0 + s0)
                    : _mm512_setzero_ps();
    transpose16(rows);
    const int count = static_cast<int>(std::min<std::int64_t>(16, kc - s0));
    for (int c = 0; c < count; ++c) _mm512_mask_storeu_ps(out + (s0 + c) * mr, row_mask, rows[c]);
  }
}

template <DType D>
VLMRT_TARGET_AVX512 inline __m512 load_weights(const void* base, std::int64_t index,
                                               __mmask16 mask);

// B panel [kc][nr] (nr a multiple of 16) of f32 from a weight matrix [n][k] in any dtype.
template <DType D>
VLMRT_TARGET_AVX512 void pack_b_f32_rows(const BSource& b, std::int64_t n, std::int64_t k,
                                         std::int64_t col0, std::int64_t step0, std::int64_t kc,
                                         int nr, float* out) {
  for (int g = 0; g < nr; g += 16) {
    for (std::int64_t s0 = 0; s0 < kc; s0 += 16) {
      const __mmask16 k_mask = prefix_mask16(k - (step0 + s0));
      __m512 rows[16];
      for (int r = 0; r < 16; ++r) {
        const std::int64_t col = col0 + g + r;
        rows[r] = col < n ? load_weights<D>(b.data, col * b.ld + step0 + s0, k_mask)
                          : _mm512_setzero_ps();
      }
      transpose16(rows);
      const int count = static_cast<int>(std::min<std::int64_t>(16, kc - s0));
      for (int c = 0; c < count; ++c) _mm512_storeu_ps(out + (s0 + c) * nr + g, rows[c]);
    }
  }
}

VLMRT_TARGET_AVX512 void pack_b_f32_avx512(const BSource& b, std::int64_t n, std::int64_t k,
                                           std::int64_t col0, std::int64_t step0, std::int64_t kc,
                                           int nr, void* dst) {
  float* out = static_cast<float*>(dst);
  if (!b.n_major || nr % 16 != 0) return pack_b_f32_portable(b, n, k, col0, step0, kc, nr, dst);
  switch (b.dtype) {
    case DType::BF16:
      return pack_b_f32_rows<DType::BF16>(b, n, k, col0, step0, kc, nr, out);
    case DType::F16:
      return pack_b_f32_rows<DType::F16>(b, n, k, col0, step0, kc, nr, out);
    default:
      return pack_b_f32_rows<DType::F32>(b, n, k, col0, step0, kc, nr, out);
  }
}

// B panel [kc][nr] of bf16 pairs from a BF16 weight matrix [n][k]: a pair is 32 bits of a row,
// so this is the same transpose; a last odd k value gets a zero partner (16-bit mask).
VLMRT_TARGET_AVX512 void pack_b_bf16_avx512(const BSource& b, std::int64_t n, std::int64_t k,
                                            std::int64_t col0, std::int64_t step0, std::int64_t kc,
                                            int nr, void* dst) {
  if (!b.n_major || nr % 16 != 0) return pack_b_bf16_portable(b, n, k, col0, step0, kc, nr, dst);
  float* out = static_cast<float*>(dst);
  const auto* base = static_cast<const std::uint16_t*>(b.data);
  for (int g = 0; g < nr; g += 16) {
    for (std::int64_t s0 = 0; s0 < kc; s0 += 16) {
      const std::int64_t first = 2 * (step0 + s0);
      const __mmask32 k_mask = prefix_mask32(k - first);
      __m512 rows[16];
      for (int r = 0; r < 16; ++r) {
        const std::int64_t col = col0 + g + r;
        rows[r] =
            col < n
                ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(k_mask, base + col * b.ld + first))
                : _mm512_setzero_ps();
      }
      transpose16(rows);
      const int count = static_cast<int>(std::min<std::int64_t>(16, kc - s0));
      for (int c = 0; c < count; ++c) _mm512_storeu_ps(out + (s0 + c) * nr + g, rows[c]);
    }
  }
}

// Converts and packs x rows into a bf16-pair A panel: 32 floats of a row become 16 pairs with
// one vcvtne2ps2bf16 (round to nearest even, like pack_a_bf16_portable), then transpose16.
VLMRT_TARGET_AVX512BF16 void pack_a_bf16_avx512(const float* x, std::int64_t m, std::int64_t k,
                                                std::int64_t x_stride, std::int64_t row0,
                                                std::int64_t step0, std::int64_t kc, int mr,
                                                void* dst) {
  float* out = static_cast<float*>(dst);
  const __mmask16 row_mask = prefix_mask16(mr);
  for (std::int64_t s0 = 0; s0 < kc; s0 += 16) {
    const std::int64_t first = 2 * (step0 + s0);
    const __mmask16 lo_mask = prefix_mask16(k - first);
    const __mmask16 hi_mask = prefix_mask16(k - first - 16);
    __m512 rows[16];
    for (int r = 0; r < 16; ++r) {
      if (r < mr && row0 + r < m) {
        const float* src = x + (row0 + r) * x_stride + first;
        const __m512 lo = _mm512_maskz_loadu_ps(lo_mask, src);
        const __m512 hi = _mm512_maskz_loadu_ps(hi_mask, src + 16);
        rows[r] = (__m512)_mm512_cvtne2ps_pbh(hi, lo);
      } else {
        rows[r] = _mm512_setzero_ps();
      }
    }
    transpose16(rows);
    const int count = static_cast<int>(std::min<std::int64_t>(16, kc - s0));
    for (int c = 0; c < count; ++c) _mm512_mask_storeu_ps(out + (s0 + c) * mr, row_mask, rows[c]);
  }
}

template <DType D>
VLMRT_TARGET_AVX512 inline __m512 load_weights(const void* base, std::int64_t index,
                                               __mmask16 mask) {
  if constexpr (D == DType::F32) {
    return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(base) + index);
  } else {
    const __m256i half =
        _mm256_maskz_loadu_epi16(mask, static_cast<const std::uint16_t*>(base) + index);
    if constexpr (D == DType::F16) return _mm512_cvtph_ps(half);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
  }
}

template <int M, int ROWS, DType D>
VLMRT_TARGET_AVX512 inline __attribute__((always_inline)) void gemv_step(
    __m512 (&acc)[ROWS][M], const float* x, std::int64_t x_stride, const void* w,
    const std::int64_t (&offset)[ROWS], std::int64_t kk, __mmask16 mask) {
  __m512 xv[M];
#pragma GCC unroll 4
  for (int r = 0; r < M; ++r) xv[r] = _mm512_maskz_loadu_ps(mask, x + r * x_stride + kk);
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i) {
    const __m512 wv = load_weights<D>(w, offset[i] + kk, mask);
#pragma GCC unroll 4
    for (int r = 0; r < M; ++r) acc[i][r] = _mm512_fmadd_ps(wv, xv[r], acc[i][r]);
  }
}

constexpr std::int64_t kGemvPrefetchRows = 8;

// ROWS weight rows at a time against M activation rows: ROWS * M independent FMA chains and
// ROWS sequential weight streams for the prefetchers.
template <int M, int ROWS, DType D>
VLMRT_TARGET_AVX512 void gemv_rows(const float* x, std::int64_t x_stride, const WeightMatrix& w,
                                   std::int64_t n0, int rows_valid, const float* bias, float* y,
                                   std::int64_t y_stride) {
  const std::int64_t k = w.in_features;
  std::int64_t offset[ROWS];
  for (int i = 0; i < ROWS; ++i)
    offset[i] = (n0 + (i < rows_valid ? i : rows_valid - 1)) * w.row_stride;
  __m512 acc[ROWS][M];
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
    for (int r = 0; r < M; ++r) acc[i][r] = _mm512_setzero_ps();
  std::int64_t kk = 0;
  // Decode rows are short (576 bf16 = 18 cache lines), too short for the hardware prefetcher to
  // ramp up on each; prefetching the rows kGemvPrefetchRows ahead tripled single-core DRAM
  // throughput (13.5 -> 44 GB/s, same load, k = 576 bf16).
  constexpr int kElem = D == DType::F32 ? 4 : 2;
  const char* base = static_cast<const char*>(w.data);
  const std::int64_t ahead = kGemvPrefetchRows * w.row_stride;
  for (; kk + 16 <= k; kk += 16) {
    if ((kk * kElem) % 64 == 0) {
#pragma GCC unroll 8
      for (int i = 0; i < ROWS; ++i)
        _mm_prefetch(base + (offset[i] + ahead + kk) * kElem, _MM_HINT_T0);
    }
    gemv_step<M, ROWS, D>(acc, x, x_stride, w.data, offset, kk, static_cast<__mmask16>(0xFFFF));
  }
  if (kk < k)
    gemv_step<M, ROWS, D>(acc, x, x_stride, w.data, offset, kk,
                          static_cast<__mmask16>((1u << (k - kk)) - 1u));
  for (int i = 0; i < rows_valid; ++i)
    for (int r = 0; r < M; ++r)
      y[r * y_stride + n0 + i] =
          (bias != nullptr ? bias[n0 + i] : 0.0f) + _mm512_reduce_add_ps(acc[i][r]);
}

template <int M, DType D>
VLMRT_TARGET_AVX512 void gemv_range(const float* x, std::int64_t x_stride, const WeightMatrix& w,
                                    std::int64_t n_begin, std::int64_t n_end, const float* bias,
                                    float* y, std::int64_t y_stride) {
  constexpr int kRows = M <= 2 ? 8 : 4;
  for (std::int64_t n = n_begin; n < n_end; n += kRows) {
    const int rows = static_cast<int>(std::min<std::int64_t>(kRows, n_end - n));
    gemv_rows<M, kRows, D>(x, x_stride, w, n, rows, bias, y, y_stride);
  }
}

template <DType D>
VLMRT_TARGET_AVX512 void gemv_dtype(const float* x, std::int64_t m, std::int64_t x_stride,
                                    const WeightMatrix& w, std::int64_t n_begin, std::int64_t n_end,
                                    const float* bias, float* y, std::int64_t y_stride) {
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

void gemv_avx512(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
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

const GemmKernels* avx512_kernels() {
  static const GemmKernels kernels{.isa = CpuIsa::Avx512,
                                   .f32_mr = kMr,
                                   .f32_nr = kNr,
                                   .f32 = micro_f32<kMr, kNv>,
                                   .pack_a_f32 = pack_a_f32_avx512,
                                   .pack_b_f32 = pack_b_f32_avx512,
                                   .bf16_mr = 0,
                                   .bf16_nr = 0,
                                   .bf16 = nullptr,
                                   .pack_a_bf16 = nullptr,
                                   .pack_b_bf16 = nullptr,
                                   .gemv = gemv_avx512};
  return &kernels;
}

const GemmKernels* avx512bf16_kernels() {
  static const GemmKernels kernels{.isa = CpuIsa::Avx512Bf16,
                                   .f32_mr = kMr,
                                   .f32_nr = kNr,
                                   .f32 = micro_f32<kMr, kNv>,
                                   .pack_a_f32 = pack_a_f32_avx512,
                                   .pack_b_f32 = pack_b_f32_avx512,
                                   .bf16_mr = kMr,
                                   .bf16_nr = kNr,
                                   .bf16 = micro_bf16<kMr, kNv>,
                                   .pack_a_bf16 = pack_a_bf16_avx512,
                                   .pack_b_bf16 = pack_b_bf16_avx512,
                                   .gemv = gemv_avx512};
  return &kernels;
}

}  // namespace vlmrt::native::detail

#else  // not x86-64

namespace vlmrt::native::detail {
const GemmKernels* avx512_kernels() {
  return nullptr;
}
const GemmKernels* avx512bf16_kernels() {
  return nullptr;
}
}  // namespace vlmrt::native::detail

#endif
