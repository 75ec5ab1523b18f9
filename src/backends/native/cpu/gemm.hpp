// Matrix multiplication for the native CPU engine: Linear layers (x · Wᵀ + b with W in its
// stored dtype, straight from a memory-mapped checkpoint) and a plain f32 GEMM for attention.
// Every entry point accumulates in f32 and picks the best kernel for this CPU at run time
// (cpu_features.hpp); the portable path is always compiled.
#pragma once

#include <cstdint>

#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace vlmrt::native {

// A weight matrix W [out_features, in_features] (PyTorch Linear layout, rows contiguous) in its
// stored dtype: F32, BF16 or F16. Usually a view into a memory-mapped safetensors file; never
// copied, and needing no alignment (safetensors does not promise any). `row_stride` is in
// elements; 0 means in_features. (I8 with per-row f32 scales is the planned next dtype:
// `row_scales` is reserved for it and must be null today.)
struct WeightMatrix {
  DType dtype = DType::F32;
  const void* data = nullptr;
  std::int64_t out_features = 0;
  std::int64_t in_features = 0;
  std::int64_t row_stride = 0;
  const float* row_scales = nullptr;
};

// How the activations enter the products.
enum class LinearPrecision {
  // x is used as f32: the result equals an f32 accumulation of x · W up to reassociation.
  Exact,
  // The kernel may round x to bf16 (round to nearest even) before multiplying, when W is BF16
  // and the CPU has a bf16 dot-product instruction (~2x faster for large m). Exact for bf16
  // models, whose activations are bf16 already (Hugging Face runs the matmul in bf16). Small m
  // (decode) and non-BF16 weights still take the f32 path: this is a permission, not a request.
  // (vdpbf16ps also treats bf16 subnormal inputs as zero; irrelevant at activation scales.)
  Bf16Activations,
};

struct LinearOptions {
  LinearPrecision precision = LinearPrecision::Exact;
};

// Whether linear() with these arguments rounds x to bf16 on this CPU (the active ISA): BF16
// weights, Bf16Activations, m above the GEMV threshold and a CPU with AVX512_BF16. Callers and
// tests use it to know which numerics they get.
bool linear_rounds_activations(std::int64_t m, DType weight_dtype, const LinearOptions& options);

// y[m, out] = x[m, in] · Wᵀ + bias. x and y are f32, row-major, strides in elements
// (x_stride >= in_features, y_stride >= out_features); bias is null or out_features f32 values.
// y must not overlap x, W or bias. m = 0 does nothing; in_features = 0 writes bias (or zeros).
// Throws vlmrt::Error: ErrorKind::Unsupported for a dtype other than F32/BF16/F16 or non-null
// row_scales, ErrorKind::InvalidArgument for negative sizes, short strides or null data.
// m <= 4 streams W once (GEMV, no allocation); larger m packs x and W into panels in a per-thread
// scratch that grows to ~4·m·in_features bytes and is kept for reuse. Every output is summed in
// the same order whatever the thread count, so results do not depend on the pool size.
void linear(const float* x, std::int64_t m, std::int64_t x_stride, const WeightMatrix& w,
            const float* bias, float* y, std::int64_t y_stride, ThreadPool& pool,
            const LinearOptions& options = {});

// Whether B is stored [k, n] (Normal) or [n, k] (Transposed, i.e. the product uses Bᵀ).
enum class Transpose { Normal, Transposed };

// C[m, n] = A[m, k] · op(B) where op(B) is B [k, n] or Bᵀ for B [n, k]; all f32, row-major,
// strides in elements. C must not overlap A or B. k = 0 writes zeros.
void gemm_f32(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
              const float* b, std::int64_t ldb, Transpose b_layout, float* c, std::int64_t ldc,
              ThreadPool& pool);

}  // namespace vlmrt::native
