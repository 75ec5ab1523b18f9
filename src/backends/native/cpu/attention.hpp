// Fused multi-head attention of the native CPU engine: softmax(mask(softcap(q·kᵀ·scale)))·v for
// every head, over a KV cache, with GQA/MQA, HF eager semantics and the model-dtype rounding of
// MODELS.md §7 — without materialising a [T, T] score matrix.
//
// Algorithm (why not flash): per (head, block of queries) a worker computes the block's score
// strip [block, keys] in caller-provided scratch, takes each row's max and sum, turns the strip
// into probabilities and multiplies by V. Memory is O(block · kv_len) per thread, never O(T²).
// An online (flash) softmax would rescale running sums and apply 1/sum after ·V; that is fine in
// f32 (~1e-6 relative) but cannot reproduce eager bf16, where the probabilities are rounded to
// bf16 BEFORE ·V and that rounding needs the final row max and sum. Keeping the eager order in
// every precision makes F32 and Bf16 one code path.
//
// Two paths compute that, chosen by the number of queries (attention_uses_gemm):
//  - Short calls (decode, drafts: tokens < 8) run the spec-order kernel (attention.cpp): blocks
//    of kQueryBlock queries, or one item per KV head holding all its query heads when tokens ×
//    heads-per-KV-head <= kQueryBlock (each K/V row read once per GQA group), no FMA, the
//    accumulation order below; bit-exact with a reference that rounds at the same points, and
//    the same bits on AVX-512, AVX2 and the portable build. Scratch ≈140 KB/thread at kv 1100.
//  - Many queries (vision tower, prefill) run the GEMM path (attention_gemm.cpp): q·kᵀ and p·v
//    on the packed GEMM micro-kernels (vdpbf16ps for Bf16 where the CPU has AVX512_BF16, f32 FMA
//    otherwise), with the same rounding points and softmax but the kernels' summation order for
//    the two products. In Bf16/F16 every product is exact, so this only moves sums by f32 ulps:
//    rarely (~0.01% of bf16 outputs at T = 1100) a score or output rounds one ulp the other way,
//    as PyTorch's own bf16 matmuls do against any other order; in F32 results differ from the
//    spec order by a few f32 ulps. The bits then depend on the ISA's kernel, but never on the
//    thread count or on how a prefill is split into calls (of >= 8 queries). SmolVLM vision tile
//    (1024 patches, 12 heads of 64) on 2 Zen 5 cores: bf16 28 -> 7 ms, f32 23 -> 9.5 ms. Scratch ≈
//    (2·71 + 2·head_dim + 32)·kv_len floats per thread (≈1.35 MB at kv_len 1100, head_dim 64).
//
// Accumulation order of the spec-order kernel (identical on every ISA: no FMA contraction):
//   dot(q, k): f32, ascending over d; softmax sum: 16 f32 lanes, lane = key index mod 16,
//   ascending, then folded as lane[l] += lane[l + w] for w = 8, 4, 2, 1 (l < w); ·V: f32,
//   ascending over keys. e^x is detail::fast_exp (~1 ulp, like PyTorch's SLEEF expf). The GEMM
//   path shares the softmax sum and e^x.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "backends/native/cpu/ops.hpp"
#include "core/thread_pool.hpp"

namespace vlmrt::native {

// Which keys a query sees, in absolute indices: query t of this call is position
// i = q_start + t of the key sequence; key j is allowed when
//   None:     always (vision tower);
//   Causal:   j <= i;
//   PrefixLm: j <= i, or both i < prefix_len and j < prefix_len (PaliGemma, MODELS.md §3.8);
// and, on top, i − j < window when window > 0 (Gemma2 sliding layers) and key_valid[j] != 0 when
// key_valid is given (vision patch mask). Masked scores take finfo(dtype).min as HF adds it, so
// a row with every key masked gets a uniform softmax, not NaN (§7.5).
enum class AttentionMask { None, Causal, PrefixLm };

struct AttentionParams {
  std::size_t tokens = 0;  // T: queries in this call (1 for a decode step)
  std::size_t heads = 0;   // query heads; a multiple of kv_heads (GQA/MQA)
  std::size_t kv_heads = 0;
  std::size_t head_dim = 0;
  std::size_t kv_len = 0;       // valid keys in the cache; q_start + tokens <= kv_len
  std::size_t kv_capacity = 0;  // rows per head in the cache buffers (>= kv_len)
  std::size_t q_start = 0;      // absolute position of query 0 (kv_len − tokens when appending)
  std::size_t q_stride = 0;     // elements between tokens in q; 0 = heads · head_dim
  std::size_t out_stride = 0;   // elements between tokens in out; 0 = heads · head_dim
  double scale = 1.0;           // multiplies the scores (1/sqrt(d), query_pre_attn_scalar^-0.5)
  float softcap = 0.0f;         // > 0: s = c·tanh(s/c) after scaling, before the mask (Gemma2)
  AttentionMask mask = AttentionMask::None;
  std::size_t prefix_len = 0;               // PrefixLm only
  std::size_t window = 0;                   // 0 = no sliding window
  const std::uint8_t* key_valid = nullptr;  // kv_len flags, or null (all valid)
  Precision precision = Precision::F32;
};

// Queries per work item of the spec-order kernel (its scratch holds a [kQueryBlock, kv_len]
// score strip per thread).
inline constexpr std::size_t kQueryBlock = 32;

// Whether attention() runs these params on the GEMM path (many queries; attention_gemm.cpp),
// whose sums are ordered differently from the spec above (see there), rather than on the
// spec-order kernel (decode, short chunks). Tests use it to know which numerics they get.
bool attention_uses_gemm(const AttentionParams& params);

// Floats of scratch attention() needs for these params when run on a pool of `threads`.
// Allocate once for the largest kv_len (e.g. the cache capacity) and reuse: decode then never
// allocates.
std::size_t attention_scratch_size(const AttentionParams& params, std::size_t threads);

// out[t, h, :] = Σ_j softmax_j(...) · v[h / (heads / kv_heads), j, :].
// q: [T, heads, head_dim] (token stride q_stride), post-RoPE. k_cache, v_cache:
// [kv_heads, kv_capacity, head_dim] (K post-RoPE), rows [0, kv_len) valid. out: [T, heads,
// head_dim] (token stride out_stride); must not overlap the inputs.
// Rounding with precision P (identity for F32), PyTorch eager op by op:
//   s = R(dot(q, k)); s = R(s · f32(scale)); [softcap: s = R(R(tanh(R(s / c))) · c)];
//   masked: s = R(s + lowest(P)); p = R(e^{s − max} · (1 / Σ e)) in f32; out = R(Σ p · v).
// Throws vlmrt::Error(InvalidArgument) on inconsistent sizes or scratch too small.
void attention(const float* q, const float* k_cache, const float* v_cache, float* out,
               const AttentionParams& params, std::span<float> scratch, ThreadPool& pool);

}  // namespace vlmrt::native
