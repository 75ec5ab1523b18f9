// No FMA contraction: the accumulation order and rounding points are the spec (attention.hpp).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include "backends/native/cpu/attention.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>

#include "backends/native/cpu/attention_internal.hpp"
#include "backends/native/cpu/cpu_features.hpp"
#include "backends/native/cpu/isa_dispatch.hpp"
#include "backends/native/cpu/ops_math.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

using attention_detail::kLanes;
using attention_detail::lowest_of;
using attention_detail::round_up;
using attention_detail::softmax_row;

constexpr std::size_t kKeyBlock = 64;  // keys per transposed K tile

struct Layout {
  std::size_t strip_stride;  // floats per score row (kv_len rounded up to the lane count)
  std::size_t per_slot;      // floats of scratch per worker
};

Layout layout_of(const AttentionParams& p) {
  Layout layout{};
  layout.strip_stride = round_up(std::max<std::size_t>(p.kv_len, 1), kLanes);
  layout.per_slot = kQueryBlock * layout.strip_stride + p.head_dim * kKeyBlock;
  return layout;
}

// Short calls (decode) take a GQA group's heads × all tokens as one work item, so each K/V row
// is read once per group rather than once per head.
bool grouped_rows(const AttentionParams& p) {
  const std::size_t group = p.heads / p.kv_heads;
  return group > 1 && p.tokens * group <= kQueryBlock;
}

std::size_t task_count(const AttentionParams& p) {
  return grouped_rows(p) ? p.kv_heads : p.heads * ((p.tokens + kQueryBlock - 1) / kQueryBlock);
}

// Whether key j is visible to absolute query position i.
VLMRT_KERNEL_INLINE bool visible(const AttentionParams& p, std::size_t i, std::size_t j) {
  if (p.key_valid != nullptr && p.key_valid[j] == 0) return false;
  if (p.window > 0 && j + p.window <= i) return false;
  switch (p.mask) {
    case AttentionMask::None:
      return true;
    case AttentionMask::Causal:
      return j <= i;
    case AttentionMask::PrefixLm:
      return j <= i || (i < p.prefix_len && j < p.prefix_len);
  }
  return true;
}

constexpr std::size_t kRowsPerPass = 4;  // queries sharing each K^T / V load
constexpr std::size_t kDimChunk = 64;    // output columns accumulated in registers

// The rows of one work item: up to kQueryBlock queries that share a KV head, each with its
// query vector, output vector and absolute position. Normally one head × a block of tokens; for
// short calls (decode) all heads of a GQA group × the tokens, so K and V are read once per group.
struct RowSet {
  std::size_t count = 0;
  std::size_t kv_head = 0;
  const float* q[kQueryBlock];
  float* out[kQueryBlock];
  std::size_t position[kQueryBlock];
};

// One work item. Templated on the precision so the rounding inlines; every member is
// force-inlined into the with_best_isa() clone (isa_dispatch.hpp) so that it is compiled for that
// ISA.
template <Precision P>
struct BlockKernel {
  const AttentionParams& p;
  const float* q;
  const float* k_cache;
  const float* v_cache;
  float* out;
  std::size_t q_stride;
  std::size_t out_stride;
  Layout layout;
  bool grouped;        // rows = a GQA group's heads × all tokens
  std::size_t blocks;  // token blocks per head (ungrouped)

  VLMRT_KERNEL_INLINE static float r(float x) { return detail::round_to(P, x); }

  VLMRT_KERNEL_INLINE float finish_score(float dot) const {
    float s = r(r(dot) * static_cast<float>(p.scale));
    if (p.softcap > 0.0f) s = r(r(detail::fast_tanh(r(s / p.softcap))) * p.softcap);
    return s;
  }

  VLMRT_KERNEL_INLINE void rows_of(std::size_t task, RowSet& rows) const {
    const std::size_t d = p.head_dim;
    rows.count = 0;
    if (grouped) {
      const std::size_t group = p.heads / p.kv_heads;
      rows.kv_head = task;
      for (std::size_t g = 0; g < group; ++g) {
        const std::size_t head = task * group + g;
        for (std::size_t t = 0; t < p.tokens; ++t) {
          rows.q[rows.count] = q + t * q_stride + head * d;
          rows.out[rows.count] = out + t * out_stride + head * d;
          rows.position[rows.count++] = p.q_start + t;
        }
      }
      return;
    }
    // Last token blocks first: under a causal mask they see the most keys.
    const std::size_t block = blocks - 1 - task / p.heads;
    const std::size_t head = task % p.heads;
    rows.kv_head = head / (p.heads / p.kv_heads);
    const std::size_t t0 = block * kQueryBlock;
    const std::size_t end = std::min(p.tokens, t0 + kQueryBlock);
    for (std::size_t t = t0; t < end; ++t) {
      rows.q[rows.count] = q + t * q_stride + head * d;
      rows.out[rows.count] = out + t * out_stride + head * d;
      rows.position[rows.count++] = p.q_start + t;
    }
  }

  // Scores of rows [r0, r0 + n) against keys [lo, hi), rounded/scaled/softcapped (no mask), into
  // strip rows 0..n-1 (absolute key columns).
  VLMRT_KERNEL_INLINE void raw_scores(const RowSet& rows, std::size_t r0, std::size_t n,
                                      std::size_t lo, std::size_t hi, float* strip,
                                      float* kt) const {
    const std::size_t d = p.head_dim;
    const float* keys = k_cache + rows.kv_head * p.kv_capacity * d;
    for (std::size_t j0 = lo; j0 < hi; j0 += kKeyBlock) {
      const std::size_t count = std::min(kKeyBlock, hi - j0);
      // kt[dd][jj] = K[j0 + jj][dd]; the tail of a short block is zero.
      for (std::size_t jj = 0; jj < count; ++jj) {
        const float* key = keys + (j0 + jj) * d;
        for (std::size_t dd = 0; dd < d; ++dd) kt[dd * kKeyBlock + jj] = key[dd];
      }
      for (std::size_t jj = count; jj < kKeyBlock; ++jj) {
        for (std::size_t dd = 0; dd < d; ++dd) kt[dd * kKeyBlock + jj] = 0.0f;
      }
      std::size_t t = 0;
      for (; t + kRowsPerPass <= n; t += kRowsPerPass) {
        float acc[kRowsPerPass][kKeyBlock] = {};
        for (std::size_t dd = 0; dd < d; ++dd) {
          const float* kr = kt + dd * kKeyBlock;
          for (std::size_t row = 0; row < kRowsPerPass; ++row) {
            const float qv = rows.q[r0 + t + row][dd];
            for (std::size_t jj = 0; jj < kKeyBlock; ++jj)
              acc[row][jj] = acc[row][jj] + qv * kr[jj];
          }
        }
        for (std::size_t row = 0; row < kRowsPerPass; ++row) {
          float* out_row = strip + (t + row) * layout.strip_stride + j0;
          for (std::size_t jj = 0; jj < count; ++jj) out_row[jj] = finish_score(acc[row][jj]);
        }
      }
      for (; t < n; ++t) {
        const float* qt = rows.q[r0 + t];
        float acc[kKeyBlock] = {};
        for (std::size_t dd = 0; dd < d; ++dd) {
          const float qv = qt[dd];
          const float* kr = kt + dd * kKeyBlock;
          for (std::size_t jj = 0; jj < kKeyBlock; ++jj) acc[jj] = acc[jj] + qv * kr[jj];
        }
        float* out_row = strip + t * layout.strip_stride + j0;
        for (std::size_t jj = 0; jj < count; ++jj) out_row[jj] = finish_score(acc[jj]);
      }
    }
  }

  // o[row] = R(Σ_{j in [lo, hi)} p[row][j] · v_j) for `Rows` strip rows, ascending j (zero
  // probabilities add exact zeros). Columns in chunks of kDimChunk kept in registers.
  template <std::size_t Rows>
  VLMRT_KERNEL_INLINE void weighted_values(const float* probs, const float* values, std::size_t lo,
                                           std::size_t hi, float* const* outs) const {
    const std::size_t d = p.head_dim;
    for (std::size_t c0 = 0; c0 < d; c0 += kDimChunk) {
      const std::size_t width = std::min(kDimChunk, d - c0);
      float acc[Rows][kDimChunk] = {};
      if (width == kDimChunk) {
        for (std::size_t j = lo; j < hi; ++j) {
          const float* v = values + j * d + c0;
          for (std::size_t row = 0; row < Rows; ++row) {
            const float pj = probs[row * layout.strip_stride + j];
            for (std::size_t c = 0; c < kDimChunk; ++c) acc[row][c] = acc[row][c] + pj * v[c];
          }
        }
      } else {
        for (std::size_t j = lo; j < hi; ++j) {
          const float* v = values + j * d + c0;
          for (std::size_t row = 0; row < Rows; ++row) {
            const float pj = probs[row * layout.strip_stride + j];
            for (std::size_t c = 0; c < width; ++c) acc[row][c] = acc[row][c] + pj * v[c];
          }
        }
      }
      for (std::size_t row = 0; row < Rows; ++row) {
        float* o = outs[row] + c0;
        for (std::size_t c = 0; c < width; ++c) o[c] = r(acc[row][c]);
      }
    }
  }

  VLMRT_KERNEL_INLINE void run(std::size_t task, float* scratch) const {
    const std::size_t d = p.head_dim;
    RowSet rows;
    rows_of(task, rows);
    std::size_t i_first = rows.position[0];
    std::size_t i_last = rows.position[0];
    for (std::size_t t = 0; t < rows.count; ++t) {
      i_first = std::min(i_first, rows.position[t]);
      i_last = std::max(i_last, rows.position[t]);
    }
    // Keys outside [lo, hi) are masked for every row of the item.
    std::size_t hi = p.kv_len;
    if (p.mask == AttentionMask::Causal) hi = std::min(p.kv_len, i_last + 1);
    if (p.mask == AttentionMask::PrefixLm) {
      hi = std::min(p.kv_len, std::max(i_last + 1, i_first < p.prefix_len ? p.prefix_len : 0));
    }
    std::size_t lo = 0;
    if (p.window > 0 && i_first + 1 > p.window) lo = std::min(hi, i_first + 1 - p.window);
    float* strip = scratch;
    float* kt = scratch + kQueryBlock * layout.strip_stride;
    raw_scores(rows, 0, rows.count, lo, hi, strip, kt);

    const float lowest = lowest_of(P);
    const float* values = v_cache + rows.kv_head * p.kv_capacity * d;
    bool fully_masked[kQueryBlock] = {};
    bool any_fully_masked = false;
    for (std::size_t t = 0; t < rows.count; ++t) {
      float* row = strip + t * layout.strip_stride;
      const std::size_t i = rows.position[t];
      std::size_t visible_keys = 0;
      for (std::size_t j = lo; j < hi; ++j) {
        if (visible(p, i, j)) {
          ++visible_keys;
        } else {
          // HF adds finfo.min; with any visible key the result is e^(≈ −3e38) = 0 either way.
          row[j] = lowest;
        }
      }
      if (visible_keys == 0) {
        // Every key is masked: softmax over s + finfo.min for ALL keys — uniform in f32/bf16
        // (the sum rounds to finfo.min), nearly so in f16. Never NaN (§7.5). Rare (padding).
        any_fully_masked = fully_masked[t] = true;
        raw_scores(rows, t, 1, 0, p.kv_len, row, kt);
        for (std::size_t j = 0; j < p.kv_len; ++j) row[j] = r(row[j] + lowest);
        softmax_row<P>(row, 0, p.kv_len);
        weighted_values<1>(row, values, 0, p.kv_len, &rows.out[t]);
      } else {
        softmax_row<P>(row, lo, hi);
      }
    }
    std::size_t t = 0;
    if (!any_fully_masked) {
      for (; t + kRowsPerPass <= rows.count; t += kRowsPerPass) {
        weighted_values<kRowsPerPass>(strip + t * layout.strip_stride, values, lo, hi,
                                      &rows.out[t]);
      }
    }
    for (; t < rows.count; ++t) {
      if (fully_masked[t]) continue;  // written above
      weighted_values<1>(strip + t * layout.strip_stride, values, lo, hi, &rows.out[t]);
    }
  }
};

void check(const AttentionParams& p, std::size_t scratch_size, std::size_t threads) {
  auto fail = [](const std::string& what) {
    throw Error(ErrorKind::InvalidArgument, "attention: " + what);
  };
  if (p.heads == 0 || p.kv_heads == 0 || p.heads % p.kv_heads != 0) {
    fail("heads " + std::to_string(p.heads) + " is not a positive multiple of kv_heads " +
         std::to_string(p.kv_heads));
  }
  if (p.head_dim == 0) fail("head_dim is 0");
  if (p.kv_len > p.kv_capacity) {
    fail("kv_len " + std::to_string(p.kv_len) + " exceeds the cache capacity " +
         std::to_string(p.kv_capacity));
  }
  if (p.q_start + p.tokens > p.kv_len) {
    fail("queries [" + std::to_string(p.q_start) + ", " + std::to_string(p.q_start + p.tokens) +
         ") extend past kv_len " + std::to_string(p.kv_len));
  }
  const std::size_t width = p.heads * p.head_dim;
  if ((p.q_stride != 0 && p.q_stride < width) || (p.out_stride != 0 && p.out_stride < width)) {
    fail("q/out token stride is smaller than heads * head_dim = " + std::to_string(width));
  }
  if (p.softcap < 0.0f) fail("softcap must be positive (or 0 for none)");
  const std::size_t needed = attention_scratch_size(p, threads);
  if (scratch_size < needed) {
    fail("scratch holds " + std::to_string(scratch_size) + " floats, needs " +
         std::to_string(needed));
  }
}

// The work loop, instantiated per ISA: BlockKernel::run and everything it calls is inlined here
// and compiled for that ISA. No FMA contraction (see the pragma), so every ISA gives the same
// bits.
template <Precision P>
VLMRT_KERNEL_INLINE void work_loop(const BlockKernel<P>& kernel, std::atomic<std::size_t>& next,
                                   std::size_t tasks, float* scratch) {
  for (;;) {
    const std::size_t task = next.fetch_add(1, std::memory_order_relaxed);
    if (task >= tasks) break;
    kernel.run(task, scratch);
  }
}

template <Precision P>
void run_slots(const BlockKernel<P>& kernel, std::size_t slots, std::size_t tasks, float* scratch,
               ThreadPool& pool) {
  std::atomic<std::size_t> next{0};
  detail::parallel_for(pool, 0, slots, [&](std::size_t slot_begin, std::size_t slot_end) {
    for (std::size_t slot = slot_begin; slot < slot_end; ++slot)
      with_best_isa(
          [&] { work_loop(kernel, next, tasks, scratch + slot * kernel.layout.per_slot); });
  });
}

template <Precision P>
void dispatch(const float* q, const float* k_cache, const float* v_cache, float* out,
              const AttentionParams& p, float* scratch, ThreadPool& pool) {
  const std::size_t width = p.heads * p.head_dim;
  const BlockKernel<P> kernel{p,
                              q,
                              k_cache,
                              v_cache,
                              out,
                              p.q_stride != 0 ? p.q_stride : width,
                              p.out_stride != 0 ? p.out_stride : width,
                              layout_of(p),
                              grouped_rows(p),
                              (p.tokens + kQueryBlock - 1) / kQueryBlock};
  const std::size_t tasks = task_count(p);
  run_slots(kernel, std::min(pool.size(), tasks), tasks, scratch, pool);
}

}  // namespace

std::size_t attention_scratch_size(const AttentionParams& params, std::size_t threads) {
  // Both paths' needs, so that scratch sized for a long call also serves every shorter one
  // (callers size it once for their largest call).
  const std::size_t slots = std::max<std::size_t>(1, std::min(threads, task_count(params)));
  const std::size_t spec_order = slots * layout_of(params).per_slot;
  if (!attention_detail::gemm_path_applies(params)) return spec_order;
  return std::max(spec_order, attention_detail::gemm_scratch_floats(params, threads));
}

bool attention_uses_gemm(const AttentionParams& params) {
  return attention_detail::gemm_path_applies(params);
}

void attention(const float* q, const float* k_cache, const float* v_cache, float* out,
               const AttentionParams& params, std::span<float> scratch, ThreadPool& pool) {
  check(params, scratch.size(), pool.size());
  if (params.tokens == 0) return;
  if (attention_detail::gemm_path_applies(params)) {
    return attention_detail::attention_gemm(q, k_cache, v_cache, out, params, scratch.data(), pool);
  }
  switch (params.precision) {
    case Precision::F32:
      return dispatch<Precision::F32>(q, k_cache, v_cache, out, params, scratch.data(), pool);
    case Precision::Bf16:
      return dispatch<Precision::Bf16>(q, k_cache, v_cache, out, params, scratch.data(), pool);
    case Precision::F16:
      return dispatch<Precision::F16>(q, k_cache, v_cache, out, params, scratch.data(), pool);
  }
}

}  // namespace vlmrt::native
