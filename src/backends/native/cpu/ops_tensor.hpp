// Tensor-shaped ops of the native CPU engine: token embedding gather, rotary position embedding,
// the Idefics3 pixel shuffle and the vision patch embedding (Conv2d as im2col + linear).
// Conventions and rounding as in ops.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "backends/native/cpu/gemm.hpp"
#include "backends/native/cpu/ops.hpp"
#include "core/dtype.hpp"
#include "core/thread_pool.hpp"

namespace vlmrt::native {

// out[i, :] = table[ids[i], :] for a [vocab, hidden] table stored as F32, BF16 or F16 (each row
// converted exactly to f32). Every id is checked before anything is written: an id outside
// [0, vocab) throws vlmrt::Error(InvalidArgument) naming it; another dtype throws Unsupported.
void embedding(const void* table, DType dtype, std::size_t vocab, std::size_t hidden,
               std::span<const std::int32_t> ids, float* out, std::size_t out_stride);

// RoPE frequencies as HF computes them in f32: inv_freq[j] = 1 / θ^(2j/d) for j < d/2, with
// 2j/d an f32 division, θ^e an f32 pow and the reciprocal in f32 (MODELS.md §3.5, §7.9).
// head_dim must be even.
void rope_inv_freq(double theta, std::size_t head_dim, float* inv_freq);

// The largest head_dim rope() accepts (its cos/sin row lives on the stack: no allocation).
inline constexpr std::size_t kMaxRopeHeadDim = 1024;

// Rotary embedding, half-rotation (rotate_half / NeoX) convention, in place on `heads` heads of
// `head_dim` values per token (head h of token t at x + t·token_stride + h·head_dim, so q or k
// inside a fused qkv row works). For token t, angle[j] = f32(float(positions[t]) · inv_freq[j])
// (one f32 product), c = round(cos(angle)), s = round(sin(angle)) (computed in f32, then cast
// to the model dtype), and with a = x[j], b = x[j + d/2]:
//   x[j]       = round(round(a·c) + round(−b·s))
//   x[j + d/2] = round(round(b·c) + round(a·s))
// — q·cos + rotate_half(q)·sin with every product and the sum materialised in the model dtype.
// Positions are given per token (PaliGemma's are 1-based: the caller adds the 1, §3.8).
// Throws vlmrt::Error(InvalidArgument) for an odd head_dim or one above kMaxRopeHeadDim.
void rope(float* x, std::size_t tokens, std::size_t heads, std::size_t head_dim,
          std::size_t token_stride, const std::int64_t* positions, const float* inv_freq,
          Precision precision, ThreadPool& pool);

// Idefics3 connector's pixel shuffle (space-to-depth, MODELS.md §3.4): x [n, G·G, E] →
// out [n, (G/s)², E·s²] with
//   out[n, hq·(G/s) + wq, hr·s·E + wr·E + e] = x[n, (hq·s + hr)·G + (wq·s + wr), e].
// Exact copy (no rounding). Throws vlmrt::Error(InvalidArgument) if s = 0 or G % s != 0.
void pixel_shuffle(const float* x, std::size_t n, std::size_t grid, std::size_t channels,
                   std::size_t scale, float* out);

// Conv2d(3 → D, kernel = stride = p, padding valid) over one [3, S, S] image, as im2col + linear:
// out [nh·nw, D] with nh = nw = S / p (floor: trailing rows/columns that do not fill a patch are
// ignored, as the valid conv does — the Idefics3 2.2B case), patch index = row·nw + col.
// `weight` is the conv kernel [D, 3, p, p] viewed as a matrix [D, 3·p·p] (that flattening order);
// `bias` has D values (or null). Pixels are cast to `precision` before the conv (MODELS.md §7.3)
// and the result (f32 accumulation + bias) is rounded once. `im2col` is caller scratch of
// patch_embed_scratch_size(S, p) floats (no allocation here).
std::size_t patch_embed_scratch_size(std::size_t image_size, std::size_t patch);
void patch_embed(const float* pixels, std::size_t image_size, std::size_t patch,
                 const WeightMatrix& weight, const float* bias, float* out, float* im2col,
                 Precision precision, ThreadPool& pool);

}  // namespace vlmrt::native
