// The portable kernels: always compiled, used on CPUs without AVX2 and on non-x86 builds. Plain
// loops the compiler can vectorise for its baseline target.
#include <cstring>

#include "backends/native/cpu/gemm_kernels.hpp"

namespace vlmrt::native::detail {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 16;

// GCC/Clang vector extensions: 4-lane vectors that become SSE or NEON registers without
// ISA-specific intrinsics, so the 16 accumulators stay in registers on every target.
using Vec4 = float __attribute__((vector_size(16)));
using U16x8 = std::uint16_t __attribute__((vector_size(16)));
using U32x4 = std::uint32_t __attribute__((vector_size(16)));
constexpr int kNv = kNr / 4;

void micro_f32_scalar(std::int64_t kc, const void* a_panel, const void* b_panel, float* c,
                      std::int64_t ldc, int m_valid, int n_valid, const float* bias,
                      bool accumulate) {
  const float* a = static_cast<const float*>(a_panel);
  const float* b = static_cast<const float*>(b_panel);
  Vec4 acc[kMr][kNv] = {};
  for (std::int64_t s = 0; s < kc; ++s) {
    Vec4 bv[kNv];
#pragma GCC unroll 4
    for (int v = 0; v < kNv; ++v) std::memcpy(&bv[v], b + s * kNr + 4 * v, sizeof(Vec4));
#pragma GCC unroll 4
    for (int r = 0; r < kMr; ++r) {
      const float av = a[s * kMr + r];
#pragma GCC unroll 4
      for (int v = 0; v < kNv; ++v) acc[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < m_valid; ++r) {
    float* row = c + r * ldc;
    for (int j = 0; j < n_valid; ++j) {
      const float start = accumulate ? row[j] : (bias != nullptr ? bias[j] : 0.0f);
      row[j] = start + acc[r][j / 4][j % 4];
    }
  }
}

template <DType D>
inline float weight_at(const void* data, std::int64_t index) {
  if constexpr (D == DType::F32) {
    float value;  // memcpy: mapped tensors need not be 4-byte aligned
    std::memcpy(&value, static_cast<const float*>(data) + index, sizeof value);
    return value;
  } else {
    std::uint16_t bits;
    std::memcpy(&bits, static_cast<const std::uint16_t*>(data) + index, sizeof bits);
    if constexpr (D == DType::F16) return f16_to_f32(bits);
    const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
  }
}

// Per weight row: eight partial sums per activation row (as 2 Vec4), so the loop vectorises
// without -ffast-math; the dtype is a template parameter so the conversion inlines.
template <DType D, int M>
void gemv_rows(const float* x, std::int64_t x_stride, const WeightMatrix& w, std::int64_t n_begin,
               std::int64_t n_end, const float* bias, float* y, std::int64_t y_stride) {
  const std::int64_t k = w.in_features;
  const std::int64_t ld = w.row_stride;
  for (std::int64_t n = n_begin; n < n_end; ++n) {
    Vec4 partial[M][2] = {};
    std::int64_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
      Vec4 wv[2];
      if constexpr (D == DType::BF16) {
        // bf16 -> f32 is a 16-bit shift: widen 8 lanes at once.
        U16x8 bits;
        std::memcpy(&bits, static_cast<const std::uint16_t*>(w.data) + n * ld + kk, sizeof bits);
        const U32x4 lo =
            __builtin_convertvector(__builtin_shufflevector(bits, bits, 0, 1, 2, 3), U32x4);
        const U32x4 hi =
            __builtin_convertvector(__builtin_shufflevector(bits, bits, 4, 5, 6, 7), U32x4);
        const U32x4 lo_shifted = lo << 16, hi_shifted = hi << 16;
        std::memcpy(&wv[0], &lo_shifted, sizeof(Vec4));
        std::memcpy(&wv[1], &hi_shifted, sizeof(Vec4));
      } else {
        float converted[8];
        for (int l = 0; l < 8; ++l) converted[l] = weight_at<D>(w.data, n * ld + kk + l);
        std::memcpy(wv, converted, sizeof wv);
      }
#pragma GCC unroll 4
      for (int r = 0; r < M; ++r) {
        Vec4 xv[2];
        std::memcpy(xv, x + r * x_stride + kk, sizeof xv);
        partial[r][0] += xv[0] * wv[0];
        partial[r][1] += xv[1] * wv[1];
      }
    }
    float tail[M] = {};
    for (; kk < k; ++kk) {
      const float wv = weight_at<D>(w.data, n * ld + kk);
      for (int r = 0; r < M; ++r) tail[r] += x[r * x_stride + kk] * wv;
    }
    for (int r = 0; r < M; ++r) {
      const Vec4 lanes = partial[r][0] + partial[r][1];
      const float sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail[r];
      y[r * y_stride + n] = (bias != nullptr ? bias[n] : 0.0f) + sum;
    }
  }
}

template <DType D>
void gemv_dtype(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
                std::int64_t n_begin, std::int64_t n_end, const float* bias, float* y,
                std::int64_t y_stride) {
  switch (m) {
    case 1:
      return gemv_rows<D, 1>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
    case 2:
      return gemv_rows<D, 2>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
    case 3:
      return gemv_rows<D, 3>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
    default:
      return gemv_rows<D, 4>(x, x_stride, w, n_begin, n_end, bias, y, y_stride);
  }
}

void gemv_scalar(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
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

const GemmKernels& scalar_kernels() {
  static const GemmKernels kernels{.isa = CpuIsa::Scalar,
                                   .f32_mr = kMr,
                                   .f32_nr = kNr,
                                   .f32 = micro_f32_scalar,
                                   .pack_a_f32 = pack_a_f32_portable,
                                   .pack_b_f32 = pack_b_f32_portable,
                                   .bf16_mr = 0,
                                   .bf16_nr = 0,
                                   .bf16 = nullptr,
                                   .pack_a_bf16 = nullptr,
                                   .pack_b_bf16 = nullptr,
                                   .gemv = gemv_scalar};
  return kernels;
}

const GemmKernels& kernels_for(CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Bf16)
    if (const GemmKernels* k = avx512bf16_kernels()) return *k;
  if (isa >= CpuIsa::Avx512)
    if (const GemmKernels* k = avx512_kernels()) return *k;
  if (isa >= CpuIsa::Avx2)
    if (const GemmKernels* k = avx2_kernels()) return *k;
  return scalar_kernels();
}

}  // namespace vlmrt::native::detail
