// Internal: the per-ISA kernels behind gemm.hpp and the packed-panel layouts they share with the
// driver (gemm.cpp). Not for use outside src/backends/native/cpu/.
//
// Packed layouts (Goto/BLIS style). For one k block of `kc` steps:
//  - f32: an A panel is [kc][mr] floats (mr rows of A, k-major), a B panel [kc][nr] floats.
//  - bf16: a "step" is a pair of k values. An A panel is [kc][mr] uint32 (bf16 of k even in the
//    low half, k odd in the high half), a B panel [kc][nr] uint32 likewise, so one vdpbf16ps
//    multiplies a broadcast A pair with 16 B pairs.
// Rows/columns past the matrix edge and k past the end are zero in the panels.
#pragma once

#include <cstdint>

#include "backends/native/cpu/cpu_features.hpp"
#include "backends/native/cpu/gemm.hpp"

namespace vlmrt::native::detail {

// c[0..m_valid)[0..n_valid) (row stride ldc) = (accumulate ? c : bias-or-zero) + A·B over kc
// steps. bias (n_valid values, may be null) is only read when !accumulate.
using MicroKernel = void (*)(std::int64_t kc, const void* a_panel, const void* b_panel, float* c,
                             std::int64_t ldc, int m_valid, int n_valid, const float* bias,
                             bool accumulate);

// y[r][n] = x[r] · W[n] + bias[n] for r < m (m <= kGemvMaxRows), n in [n_begin, n_end).
using GemvKernel = void (*)(const float* x, std::int64_t m, std::int64_t x_stride,
                            const WeightMatrix& w, std::int64_t n_begin, std::int64_t n_end,
                            const float* bias, float* y, std::int64_t y_stride);

// Packs rows [row0, row0 + mr) x k-steps [step0, step0 + kc) of x into one A panel.
using PackA = void (*)(const float* x, std::int64_t m, std::int64_t k, std::int64_t x_stride,
                       std::int64_t row0, std::int64_t step0, std::int64_t kc, int mr, void* dst);

inline constexpr std::int64_t kGemvMaxRows = 4;

struct BSource;
// Packs columns [col0, col0 + nr) x k-steps [step0, step0 + kc) of op(B) into one B panel.
using PackB = void (*)(const BSource& b, std::int64_t n, std::int64_t k, std::int64_t col0,
                       std::int64_t step0, std::int64_t kc, int nr, void* dst);

struct GemmKernels {
  CpuIsa isa;
  int f32_mr, f32_nr;
  MicroKernel f32;
  PackA pack_a_f32;
  PackB pack_b_f32;
  // Null when the ISA has no bf16 dot product.
  int bf16_mr, bf16_nr;
  MicroKernel bf16;
  PackA pack_a_bf16;
  PackB pack_b_bf16;
  GemvKernel gemv;
};

// Where B comes from: element (kk, j) of op(B) is at data[j * ld + kk] when n_major (a weight
// matrix, or Bᵀ), else data[kk * ld + j].
struct BSource {
  DType dtype;
  const void* data;
  std::int64_t ld;
  bool n_major;
};

// Portable packers (gemm_pack.cpp).
void pack_a_f32_portable(const float* x, std::int64_t m, std::int64_t k, std::int64_t x_stride,
                         std::int64_t row0, std::int64_t step0, std::int64_t kc, int mr, void* dst);
void pack_a_bf16_portable(const float* x, std::int64_t m, std::int64_t k, std::int64_t x_stride,
                          std::int64_t row0, std::int64_t step0, std::int64_t kc, int mr,
                          void* dst);
// Packs columns [col0, col0 + nr) x k-steps [step0, step0 + kc) of op(B) (n x k logical) into
// one f32 panel (any source dtype) or one bf16-pair panel (BF16 source only).
void pack_b_f32_portable(const BSource& b, std::int64_t n, std::int64_t k, std::int64_t col0,
                         std::int64_t step0, std::int64_t kc, int nr, void* dst);
void pack_b_bf16_portable(const BSource& b, std::int64_t n, std::int64_t k, std::int64_t col0,
                          std::int64_t step0, std::int64_t kc, int nr, void* dst);

// The kernel sets; null where the ISA is not compiled in (non-x86 builds).
const GemmKernels& scalar_kernels();
const GemmKernels* avx2_kernels();
const GemmKernels* avx512_kernels();
const GemmKernels* avx512bf16_kernels();

// The set for `isa`, falling back to the next lower compiled-in level.
const GemmKernels& kernels_for(CpuIsa isa);

}  // namespace vlmrt::native::detail
