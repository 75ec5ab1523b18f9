// The many-query path of attention() (attention.hpp): per (head, block of queries) the score
// strip q·kᵀ and the product p·v run on the packed GEMM micro-kernels of gemm_kernels.hpp — the
// AVX512_BF16 vdpbf16ps kernel for Bf16 models where the CPU has it, the f32 FMA kernel
// otherwise — and everything between them (scale, softcap, mask, softmax) is the eager spec.
//
// Why this keeps the spec's numerics: in Bf16 mode q, k, p and v are bf16 values, so every
// product is exact in f32 (8 + 8 significant bits) and the kernels accumulate in f32 exactly as
// the spec does (PyTorch's bf16 matmul: f32 accumulation, rounded once); in F16 mode the products
// (11 + 11 bits) are exact too. Only the summation order differs (FMA chains, vdpbf16ps pairs),
// which moves a dot product by a few f32 ulps and so, rarely, flips a bf16 rounding of s or of
// the output by one ulp (attention_test.cpp bounds it). Everything else is as the spec: s =
// R(dot) then R(s·scale), softcap, mask, the 16-lane softmax sum, p rounded to the model dtype
// before ·V (the bf16 packer rounds to nearest even, a no-op on already rounded p), out = R(Σ).
// (vdpbf16ps and the packer treat subnormal inputs as zero: a p below 2^-126 then adds nothing
// instead of less than 2^-126·|v|, far below any output's ulp.)
//
// Work items are (head, query block) pairs, head-major so that a worker packs each K/V head
// once and reuses it for every block it takes of that head (and of the other heads of its GQA
// group); within a head the last blocks come first, as under a causal mask they are the largest.
// A result never depends on the thread count, the query blocking or the chunking of a prefill:
// every dot runs over the whole head_dim in one kernel call, and every p·v sum over the keys in
// one call that starts at a 16-aligned key before which the probabilities are exact zeros.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <string>

#include "backends/native/cpu/attention_internal.hpp"
#include "backends/native/cpu/cpu_features.hpp"
#include "backends/native/cpu/gemm_kernels.hpp"
#include "backends/native/cpu/isa_dispatch.hpp"
#include "backends/native/cpu/ops_math.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native::attention_detail {

namespace {

using detail::GemmKernels;

// Fewer queries than this (decode, speculative drafts) take attention.cpp's spec-order kernel,
// bit-exact and allocation-free. Measured on Zen 5 against 1100 keys (9/3 heads of 64, bf16, one
// thread; bench/attention_bench.cpp BM_Chunk1100), spec-order vs this path: 2 queries 143 vs
// 148 us, 4: 198 vs 152, 8: 335 vs 183, 12: 600 vs 201 (AVX2: 4 queries 377 vs 322, 8: 688 vs
// 551); below 8 the gain is too small to give up bit-exactness for.
constexpr std::size_t kMinTokens = 8;
// Queries per work item, rounded up to a whole number of micro-kernel rows (56 = 4 x 14 on
// AVX-512): enough rows to reuse each K panel, a strip (56 x kv_len f32) that stays in L2.
constexpr std::size_t kTargetRows = 56;
// Bounds on the micro-kernel tile of every kernel set (gemm_kernels.hpp), so the scratch size
// does not depend on the ISA picked at run time.
constexpr std::size_t kMaxMr = 16;
constexpr std::size_t kMaxNr = 32;
constexpr std::size_t kAlign = 16;  // floats: packed B panels are loaded 64-byte aligned

// Floats of scratch per worker slot, whatever the ISA chosen at run time: each region of
// layout() below for any tile mr <= kMaxMr, nr <= kMaxNr and step width, plus the alignment of
// the five regions and of the base.
std::size_t slot_floats(const AttentionParams& p) {
  const std::size_t d = p.head_dim, keys = std::max<std::size_t>(p.kv_len, 1);
  const std::size_t rows = kTargetRows + kMaxMr - 1;
  const std::size_t floats = (keys + kMaxNr - 1) * d + (d + kMaxNr - 1) * keys + rows * d +
                             rows * round_up(keys, kLanes) + rows * keys;
  return floats + 6 * kAlign;
}

VLMRT_KERNEL_INLINE std::uint32_t bf16_bits(float x) {
  return std::bit_cast<std::uint32_t>(detail::round_bf16(x)) >> 16;
}

// Sizes of one call for one kernel set; offsets in floats from a 64-byte aligned slot base.
struct Plan {
  bool bf16 = false;  // vdpbf16ps kernel: a k step is a pair of values
  std::size_t mr = 0, nr = 0;
  detail::MicroKernel micro = nullptr;
  detail::PackA pack_a = nullptr;
  detail::PackB pack_b_f32 = nullptr;
  std::size_t per_step = 1;  // k values per step
  std::size_t d_steps = 0;   // k steps of q·kᵀ
  std::size_t kv_steps = 0;  // k steps of p·v over all keys
  std::size_t k_panels = 0, v_panels = 0;
  std::size_t block_rows = 0, blocks = 0;
  std::size_t strip_stride = 0;
  std::size_t k_at = 0, v_at = 0, q_at = 0, strip_at = 0, p_at = 0, per_slot = 0;
};

// Rows of a block and the regions of a slot for tile mr x nr (slot_floats bounds them).
Plan layout(const AttentionParams& p, std::size_t mr, std::size_t nr, std::size_t per_step) {
  Plan plan;
  plan.mr = mr;
  plan.nr = nr;
  plan.per_step = per_step;
  plan.d_steps = (p.head_dim + per_step - 1) / per_step;
  plan.kv_steps = (p.kv_len + per_step - 1) / per_step;
  plan.k_panels = (p.kv_len + nr - 1) / nr;
  plan.v_panels = (p.head_dim + nr - 1) / nr;
  plan.block_rows = round_up(kTargetRows, mr);
  plan.blocks = (p.tokens + plan.block_rows - 1) / plan.block_rows;
  plan.strip_stride = round_up(std::max<std::size_t>(p.kv_len, 1), kLanes);
  std::size_t at = 0;
  const auto region = [&at](std::size_t floats) {
    const std::size_t start = at;
    at += round_up(floats, kAlign);
    return start;
  };
  plan.k_at = region(plan.k_panels * plan.d_steps * nr);
  plan.v_at = region(plan.v_panels * plan.kv_steps * nr);
  plan.q_at = region(plan.block_rows * plan.d_steps);
  plan.strip_at = region(plan.block_rows * plan.strip_stride);
  plan.p_at = region(plan.block_rows * plan.kv_steps);
  plan.per_slot = at + kAlign;  // room to align the slot base
  return plan;
}

Plan plan_for(const AttentionParams& p, const GemmKernels& kernels) {
  const bool bf16 = p.precision == Precision::Bf16 && kernels.bf16 != nullptr;
  const auto mr = static_cast<std::size_t>(bf16 ? kernels.bf16_mr : kernels.f32_mr);
  const auto nr = static_cast<std::size_t>(bf16 ? kernels.bf16_nr : kernels.f32_nr);
  if (mr == 0 || nr == 0 || mr > kMaxMr || nr > kMaxNr) {
    throw Error(ErrorKind::Internal, "attention: GEMM tile " + std::to_string(mr) + "x" +
                                         std::to_string(nr) + " exceeds the scratch bound " +
                                         std::to_string(kMaxMr) + "x" + std::to_string(kMaxNr));
  }
  Plan plan = layout(p, mr, nr, bf16 ? 2 : 1);
  if (plan.per_slot > slot_floats(p))
    throw Error(ErrorKind::Internal, "attention: GEMM scratch layout exceeds its bound");
  plan.bf16 = bf16;
  plan.micro = bf16 ? kernels.bf16 : kernels.f32;
  plan.pack_a = bf16 ? kernels.pack_a_bf16 : kernels.pack_a_f32;
  plan.pack_b_f32 = kernels.pack_b_f32;
  return plan;
}

// One call's work items. Every member is force-inlined into the with_best_isa() clone so that the
// loops between the GEMMs (packing of K/V, scores, softmax) are compiled for that ISA.
template <Precision P>
struct GemmAttention {
  const AttentionParams& p;
  const float* q;
  const float* k_cache;
  const float* v_cache;
  float* out;
  std::size_t q_stride;
  std::size_t out_stride;
  Plan plan;

  VLMRT_KERNEL_INLINE static float r(float x) { return detail::round_to(P, x); }

  VLMRT_KERNEL_INLINE float finish_score(float dot) const {
    float s = r(r(dot) * static_cast<float>(p.scale));
    if (p.softcap > 0.0f) s = r(r(detail::fast_tanh(r(s / p.softcap))) * p.softcap);
    return s;
  }

  // K as B panels [d_steps][nr] of q·kᵀ (n = keys), V as B panels [kv_steps][nr] of p·v
  // (n = head_dim, k = keys); zero past the edges.
  VLMRT_KERNEL_INLINE void pack_kv(std::size_t kv_head, float* slot) const {
    const std::size_t d = p.head_dim, nr = plan.nr;
    const float* keys = k_cache + kv_head * p.kv_capacity * d;
    const float* values = v_cache + kv_head * p.kv_capacity * d;
    float* k_panels = slot + plan.k_at;
    float* v_panels = slot + plan.v_at;
    if (!plan.bf16) {
      const detail::BSource source{DType::F32, keys, static_cast<std::int64_t>(d), true};
      for (std::size_t jp = 0; jp < plan.k_panels; ++jp) {
        plan.pack_b_f32(source, static_cast<std::int64_t>(p.kv_len), static_cast<std::int64_t>(d),
                        static_cast<std::int64_t>(jp * nr), 0, static_cast<std::int64_t>(d),
                        static_cast<int>(nr), k_panels + jp * d * nr);
      }
      for (std::size_t jv = 0; jv < plan.v_panels; ++jv) {
        float* dst = v_panels + jv * plan.kv_steps * nr;
        const std::size_t c0 = jv * nr, width = std::min(nr, d - c0);
        for (std::size_t s = 0; s < p.kv_len; ++s) {
          for (std::size_t c = 0; c < width; ++c) dst[s * nr + c] = values[s * d + c0 + c];
          for (std::size_t c = width; c < nr; ++c) dst[s * nr + c] = 0.0f;
        }
      }
      return;
    }
    // bf16 pairs: the low half holds the even k value (gemm_kernels.hpp).
    auto* k_pairs = reinterpret_cast<std::uint32_t*>(k_panels);
    for (std::size_t jp = 0; jp < plan.k_panels; ++jp) {
      std::uint32_t* dst = k_pairs + jp * plan.d_steps * nr;
      for (std::size_t c = 0; c < nr; ++c) {
        const std::size_t key = jp * nr + c;
        if (key >= p.kv_len) {
          for (std::size_t s = 0; s < plan.d_steps; ++s) dst[s * nr + c] = 0;
          continue;
        }
        const float* row = keys + key * d;
        for (std::size_t s = 0; s < d / 2; ++s)
          dst[s * nr + c] = bf16_bits(row[2 * s]) | bf16_bits(row[2 * s + 1]) << 16;
        if (d % 2 != 0) dst[(d / 2) * nr + c] = bf16_bits(row[d - 1]);
      }
    }
    auto* v_pairs = reinterpret_cast<std::uint32_t*>(v_panels);
    for (std::size_t jv = 0; jv < plan.v_panels; ++jv) {
      std::uint32_t* dst = v_pairs + jv * plan.kv_steps * nr;
      const std::size_t c0 = jv * nr, width = std::min(nr, d - c0);
      for (std::size_t s = 0; s < plan.kv_steps; ++s) {
        const float* even = values + 2 * s * d + c0;
        const float* odd = 2 * s + 1 < p.kv_len ? even + d : nullptr;
        for (std::size_t c = 0; c < width; ++c) {
          dst[s * nr + c] = bf16_bits(even[c]) | (odd != nullptr ? bf16_bits(odd[c]) << 16 : 0u);
        }
        for (std::size_t c = width; c < nr; ++c) dst[s * nr + c] = 0;
      }
    }
  }

  // A query that sees no key at all (padding): the spec's softmax over s + lowest for every
  // key, uniform in f32/bf16 (§7.5). Rare, so plain loops in the spec's order.
  VLMRT_KERNEL_INLINE void fully_masked_row(const float* qt, std::size_t kv_head, float* row,
                                            float* o) const {
    const std::size_t d = p.head_dim;
    const float* keys = k_cache + kv_head * p.kv_capacity * d;
    const float* values = v_cache + kv_head * p.kv_capacity * d;
    const float lowest = lowest_of(P);
    for (std::size_t j = 0; j < p.kv_len; ++j) {
      float acc = 0.0f;
      for (std::size_t dd = 0; dd < d; ++dd) acc = acc + qt[dd] * keys[j * d + dd];
      row[j] = r(finish_score(acc) + lowest);
    }
    softmax_row<P>(row, 0, p.kv_len);
    for (std::size_t c = 0; c < d; ++c) {
      float acc = 0.0f;
      for (std::size_t j = 0; j < p.kv_len; ++j) acc = acc + row[j] * values[j * d + c];
      o[c] = r(acc);
    }
  }

  // Scores of row[a, b) finished, masked keys at `lowest`, then the eager softmax; columns
  // [lo16, hi) outside [a, b) end up exact zeros. Returns false when no key is visible.
  VLMRT_KERNEL_INLINE bool softmax_strip_row(float* row, KeyRange keys, std::size_t lo16,
                                             std::size_t hi) const {
    const std::size_t a = keys.first, b = keys.end;
    const float scale = static_cast<float>(p.scale);
    for (std::size_t j = a; j < b; ++j) row[j] = r(r(row[j]) * scale);
    if (p.softcap > 0.0f) {
      const float cap = p.softcap;
      for (std::size_t j = a; j < b; ++j) row[j] = r(r(detail::fast_tanh(r(row[j] / cap))) * cap);
    }
    bool any = a < b;
    if (p.key_valid != nullptr) {
      // HF adds finfo.min: with any visible key the result is e^(≈ −3e38) = 0 either way.
      const float lowest = lowest_of(P);
      std::size_t visible = 0;
      for (std::size_t j = a; j < b; ++j) {
        visible += p.key_valid[j] != 0;
        row[j] = p.key_valid[j] != 0 ? row[j] : lowest;
      }
      any = visible > 0;
    }
    if (!any) return false;
    const float inv_sum = softmax_exp(row, a, b);  // also zeroes [a16, a) and [b, b16)
    const std::size_t a16 = a / kLanes * kLanes, b16 = round_up(b, kLanes);
    if (plan.bf16) {
      // The bf16 packer rounds p to nearest even (vcvtne2ps2bf16) on its way to the kernel.
      for (std::size_t j = a16; j < b16; ++j) row[j] = row[j] * inv_sum;
    } else {
      for (std::size_t j = a16; j < b16; ++j) row[j] = r(row[j] * inv_sum);
    }
    for (std::size_t j = lo16; j < a16; ++j) row[j] = 0.0f;
    for (std::size_t j = b16; j < hi; ++j) row[j] = 0.0f;
    return true;
  }

  VLMRT_KERNEL_INLINE void run(std::size_t task, float* slot, std::size_t& packed_kv_head) const {
    const std::size_t d = p.head_dim, mr = plan.mr, nr = plan.nr, ss = plan.strip_stride;
    const std::size_t head = task / plan.blocks;
    const std::size_t block = plan.blocks - 1 - task % plan.blocks;
    const std::size_t kv_head = head / (p.heads / p.kv_heads);
    if (packed_kv_head != kv_head) {
      pack_kv(kv_head, slot);
      packed_kv_head = kv_head;
    }
    const std::size_t t0 = block * plan.block_rows;
    const std::size_t n = std::min(plan.block_rows, p.tokens - t0);
    const std::size_t m_panels = (n + mr - 1) / mr;
    const std::size_t i_first = p.q_start + t0;
    // The key ranges grow with the query position (every mask kind), so the block's union is
    // [first of its first query, end of its last).
    const std::size_t lo = key_range(p, i_first).first;
    const std::size_t hi = key_range(p, i_first + n - 1).end;
    const std::size_t lo16 = lo / kLanes * kLanes;
    float* q_panels = slot + plan.q_at;
    float* strip = slot + plan.strip_at;
    float* p_panels = slot + plan.p_at;
    const float* k_panels = slot + plan.k_at;
    const float* v_panels = slot + plan.v_at;
    const auto micro = plan.micro;
    const auto i64 = [](std::size_t x) { return static_cast<std::int64_t>(x); };
    const auto valid_rows = [&](std::size_t i) {
      return static_cast<int>(std::min(mr, n - i * mr));
    };

    // S[t, j] = q_t · k_j for keys in the panels covering [lo, hi).
    const float* q_block = q + t0 * q_stride + head * d;
    for (std::size_t i = 0; i < m_panels; ++i) {
      plan.pack_a(q_block, i64(n), i64(d), i64(q_stride), i64(i * mr), 0, i64(plan.d_steps),
                  static_cast<int>(mr), q_panels + i * plan.d_steps * mr);
    }
    for (std::size_t jp = lo / nr; jp < (hi + nr - 1) / nr; ++jp) {
      const int n_valid = static_cast<int>(std::min(nr, p.kv_len - jp * nr));
      for (std::size_t i = 0; i < m_panels; ++i) {
        micro(i64(plan.d_steps), q_panels + i * plan.d_steps * mr,
              k_panels + jp * plan.d_steps * nr, strip + i * mr * ss + jp * nr, i64(ss),
              valid_rows(i), n_valid, nullptr, false);
      }
    }

    bool fully_masked[kTargetRows + kMaxMr] = {};
    bool any_fully_masked = false;
    for (std::size_t t = 0; t < n; ++t) {
      float* row = strip + t * ss;
      if (!softmax_strip_row(row, key_range(p, i_first + t), lo16, hi)) {
        any_fully_masked = fully_masked[t] = true;
        for (std::size_t j = lo16; j < hi; ++j) row[j] = 0.0f;
      }
    }

    // O[t] = Σ_j p[t, j] · v_j over keys [lo16, hi) in one call per tile (one sum per output).
    const std::size_t keys = hi - lo16;
    const std::size_t steps = (keys + plan.per_step - 1) / plan.per_step;
    for (std::size_t i = 0; i < m_panels; ++i) {
      plan.pack_a(strip + lo16, i64(n), i64(keys), i64(ss), i64(i * mr), 0, i64(steps),
                  static_cast<int>(mr), p_panels + i * steps * mr);
    }
    float* out_block = out + t0 * out_stride + head * d;
    for (std::size_t jv = 0; jv < plan.v_panels; ++jv) {
      const int n_valid = static_cast<int>(std::min(nr, d - jv * nr));
      const float* v_panel = v_panels + (jv * plan.kv_steps + lo16 / plan.per_step) * nr;
      for (std::size_t i = 0; i < m_panels; ++i) {
        micro(i64(steps), p_panels + i * steps * mr, v_panel,
              out_block + i * mr * out_stride + jv * nr, i64(out_stride), valid_rows(i), n_valid,
              nullptr, false);
      }
    }
    if constexpr (P != Precision::F32) {
      for (std::size_t t = 0; t < n; ++t) {
        float* o = out_block + t * out_stride;
        for (std::size_t c = 0; c < d; ++c) o[c] = r(o[c]);
      }
    }
    if (any_fully_masked) {
      for (std::size_t t = 0; t < n; ++t) {
        if (fully_masked[t]) {
          fully_masked_row(q_block + t * q_stride, kv_head, strip + t * ss,
                           out_block + t * out_stride);
        }
      }
    }
  }
};

template <Precision P>
VLMRT_KERNEL_INLINE void work_loop(const GemmAttention<P>& kernel, std::atomic<std::size_t>& next,
                                   std::size_t tasks, float* slot) {
  std::size_t packed_kv_head = static_cast<std::size_t>(-1);
  for (;;) {
    const std::size_t task = next.fetch_add(1, std::memory_order_relaxed);
    if (task >= tasks) break;
    kernel.run(task, slot, packed_kv_head);
  }
}

template <Precision P>
void dispatch(const float* q, const float* k_cache, const float* v_cache, float* out,
              const AttentionParams& p, float* scratch, ThreadPool& pool) {
  const CpuIsa isa = active_cpu_isa();
  const std::size_t width = p.heads * p.head_dim;
  const GemmAttention<P> kernel{p,
                                q,
                                k_cache,
                                v_cache,
                                out,
                                p.q_stride != 0 ? p.q_stride : width,
                                p.out_stride != 0 ? p.out_stride : width,
                                plan_for(p, detail::kernels_for(isa))};
  const std::size_t tasks = p.heads * kernel.plan.blocks;
  const std::size_t slots = std::min(pool.size(), tasks);
  const std::size_t per_slot = slot_floats(p);
  std::atomic<std::size_t> next{0};
  detail::parallel_for(pool, 0, slots, [&](std::size_t slot_begin, std::size_t slot_end) {
    for (std::size_t slot = slot_begin; slot < slot_end; ++slot) {
      // A 64-byte aligned base: the micro-kernels load B panels with aligned loads.
      float* base = scratch + slot * per_slot;
      const auto address = reinterpret_cast<std::uintptr_t>(base);
      base += (round_up(address, 64) - address) / sizeof(float);
      with_best_isa([&] { work_loop(kernel, next, tasks, base); });
    }
  });
}

}  // namespace

bool gemm_path_applies(const AttentionParams& p) {
  return p.tokens >= kMinTokens;
}

std::size_t gemm_scratch_floats(const AttentionParams& p, std::size_t threads) {
  // Blocks have at least kTargetRows queries, so this bounds the work items of every ISA.
  const std::size_t tasks = p.heads * ((p.tokens + kTargetRows - 1) / kTargetRows);
  return std::max<std::size_t>(1, std::min(threads, tasks)) * slot_floats(p);
}

void attention_gemm(const float* q, const float* k_cache, const float* v_cache, float* out,
                    const AttentionParams& p, float* scratch, ThreadPool& pool) {
  switch (p.precision) {
    case Precision::F32:
      return dispatch<Precision::F32>(q, k_cache, v_cache, out, p, scratch, pool);
    case Precision::Bf16:
      return dispatch<Precision::Bf16>(q, k_cache, v_cache, out, p, scratch, pool);
    case Precision::F16:
      return dispatch<Precision::F16>(q, k_cache, v_cache, out, p, scratch, pool);
  }
}

}  // namespace vlmrt::native::attention_detail
