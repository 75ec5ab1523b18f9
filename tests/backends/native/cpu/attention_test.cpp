// Fused attention vs (a) a naive double-precision softmax attention (F32 mode, tight tolerance)
// and (b) the eager spec of attention.hpp implemented naively — one query, one key at a time,
// the whole [T, kv_len] score row, HF's finfo.min mask added to every masked score — which the
// blocked implementation must equal bit for bit in every precision.
#pragma GCC optimize("fp-contract=off")

#include "backends/native/cpu/attention.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/native/cpu/ops_math.hpp"
#include "ops_test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {
namespace {

using ops_testing::random_vector;
using ops_testing::ref_round;

ThreadPool& pool() {
  static ThreadPool instance(3);
  return instance;
}

struct Case {
  AttentionParams p;
  std::vector<float> q, k, v;        // q [T, q_stride], caches [kv_heads, capacity, d]
  std::vector<std::uint8_t> valid;  // key_valid storage (empty = none)
};

Case make_case(AttentionParams p, std::uint32_t seed, float q_sigma = 1.0f) {
  Case c;
  if (p.kv_capacity == 0) p.kv_capacity = p.kv_len + 3;
  const std::size_t q_stride = p.q_stride != 0 ? p.q_stride : p.heads * p.head_dim;
  // Model tensors are representable in the model dtype.
  c.q = random_vector(p.tokens * q_stride, seed, q_sigma, p.precision);
  c.k = random_vector(p.kv_heads * p.kv_capacity * p.head_dim, seed + 1, 1.0f, p.precision);
  c.v = random_vector(p.kv_heads * p.kv_capacity * p.head_dim, seed + 2, 1.0f, p.precision);
  c.p = p;
  return c;
}

// The mask rules of attention.hpp, written out independently.
bool ref_visible(const AttentionParams& p, std::size_t i, std::size_t j) {
  bool allowed = true;
  if (p.mask == AttentionMask::Causal) allowed = j <= i;
  if (p.mask == AttentionMask::PrefixLm) allowed = j <= i || (i < p.prefix_len && j < p.prefix_len);
  if (p.window > 0 && static_cast<long>(i) - static_cast<long>(j) >= static_cast<long>(p.window))
    allowed = false;
  if (p.key_valid != nullptr && !p.key_valid[j]) allowed = false;
  return allowed;
}

std::size_t q_stride_of(const AttentionParams& p) {
  return p.q_stride != 0 ? p.q_stride : p.heads * p.head_dim;
}

std::vector<float> run(const Case& c, std::size_t out_stride = 0) {
  AttentionParams p = c.p;
  p.out_stride = out_stride;
  if (!c.valid.empty()) p.key_valid = c.valid.data();
  const std::size_t stride = out_stride != 0 ? out_stride : p.heads * p.head_dim;
  std::vector<float> out(p.tokens * stride, -7.0f);
  std::vector<float> scratch(attention_scratch_size(p, pool().size()));
  attention(c.q.data(), c.k.data(), c.v.data(), out.data(), p, scratch, pool());
  return out;
}

// The eager spec (attention.hpp), one query row at a time over ALL keys.
std::vector<float> eager_spec(const Case& c) {
  AttentionParams p = c.p;
  if (!c.valid.empty()) p.key_valid = c.valid.data();
  const Precision P = p.precision;
  const auto r = [P](float x) { return ref_round(P, x); };
  const float lowest = P == Precision::F32    ? std::numeric_limits<float>::lowest()
                       : P == Precision::Bf16 ? bf16_to_f32(0xff7f)
                                              : -65504.0f;
  const std::size_t d = p.head_dim, width = p.heads * d;
  std::vector<float> out(p.tokens * width);
  std::vector<float> s(p.kv_len);
  for (std::size_t t = 0; t < p.tokens; ++t) {
    const std::size_t i = p.q_start + t;
    for (std::size_t h = 0; h < p.heads; ++h) {
      const std::size_t kvh = h / (p.heads / p.kv_heads);
      const float* qv = &c.q[t * q_stride_of(p) + h * d];
      for (std::size_t j = 0; j < p.kv_len; ++j) {
        const float* kv = &c.k[(kvh * p.kv_capacity + j) * d];
        float acc = 0.0f;
        for (std::size_t dd = 0; dd < d; ++dd) acc = acc + qv[dd] * kv[dd];
        float score = r(r(acc) * static_cast<float>(p.scale));
        if (p.softcap > 0)
          score = r(r(detail::fast_tanh(r(score / p.softcap))) * p.softcap);
        if (!ref_visible(p, i, j)) score = r(score + lowest);
        s[j] = score;
      }
      float max_value = s[0];
      for (float x : s) max_value = std::max(max_value, x);
      float lanes[16] = {};
      for (std::size_t j = 0; j < p.kv_len; ++j) {
        s[j] = detail::fast_exp(s[j] - max_value);
        lanes[j % 16] = lanes[j % 16] + s[j];
      }
      for (std::size_t w = 8; w > 0; w /= 2)
        for (std::size_t l = 0; l < w; ++l) lanes[l] = lanes[l] + lanes[l + w];
      const float inv = 1.0f / lanes[0];
      for (std::size_t dd = 0; dd < d; ++dd) {
        float acc = 0.0f;
        for (std::size_t j = 0; j < p.kv_len; ++j)
          acc = acc + r(s[j] * inv) * c.v[(kvh * p.kv_capacity + j) * d + dd];
        out[t * width + h * d + dd] = r(acc);
      }
    }
  }
  return out;
}

// Textbook attention in double: masked keys excluded, a fully masked row uniform over all keys.
std::vector<double> naive_double(const Case& c) {
  AttentionParams p = c.p;
  if (!c.valid.empty()) p.key_valid = c.valid.data();
  const std::size_t d = p.head_dim, width = p.heads * d;
  std::vector<double> out(p.tokens * width, 0.0), s(p.kv_len);
  for (std::size_t t = 0; t < p.tokens; ++t)
    for (std::size_t h = 0; h < p.heads; ++h) {
      const std::size_t kvh = h / (p.heads / p.kv_heads);
      bool any = false;
      for (std::size_t j = 0; j < p.kv_len; ++j) any |= ref_visible(p, p.q_start + t, j);
      double max_value = -1e300;
      for (std::size_t j = 0; j < p.kv_len; ++j) {
        double acc = 0;
        for (std::size_t dd = 0; dd < d; ++dd)
          acc += double(c.q[t * q_stride_of(p) + h * d + dd]) * c.k[(kvh * p.kv_capacity + j) * d + dd];
        acc *= p.scale;
        if (p.softcap > 0) acc = p.softcap * std::tanh(acc / p.softcap);
        s[j] = acc;
        if (ref_visible(p, p.q_start + t, j) || !any) max_value = std::max(max_value, acc);
      }
      double sum = 0;
      for (std::size_t j = 0; j < p.kv_len; ++j) {
        s[j] = any ? (ref_visible(p, p.q_start + t, j) ? std::exp(s[j] - max_value) : 0.0) : 1.0;
        sum += s[j];
      }
      for (std::size_t j = 0; j < p.kv_len; ++j)
        for (std::size_t dd = 0; dd < d; ++dd)
          out[t * width + h * d + dd] += s[j] / sum * c.v[(kvh * p.kv_capacity + j) * d + dd];
    }
  return out;
}

void expect_matches_naive(const Case& c, double tol = 3e-6) {
  const std::vector<float> got = run(c);
  const std::vector<double> want = naive_double(c);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << "element " << i;
}

void expect_equals_spec(const Case& c) {
  const std::vector<float> got = run(c);
  const std::vector<float> want = eager_spec(c);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i], want[i]) << "element " << i << " (token " << i / (c.p.heads * c.p.head_dim)
                               << ")";
}

AttentionParams params(std::size_t tokens, std::size_t heads, std::size_t kv_heads, std::size_t d,
                       AttentionMask mask, Precision precision) {
  AttentionParams p;
  p.tokens = tokens;
  p.heads = heads;
  p.kv_heads = kv_heads;
  p.head_dim = d;
  p.kv_len = tokens;
  p.scale = 1.0 / std::sqrt(static_cast<double>(d));
  p.mask = mask;
  p.precision = precision;
  return p;
}

// Runs one configuration in F32 (vs double) and in Bf16 and F16 (vs the spec, exactly).
void check_all_precisions(AttentionParams p, std::uint32_t seed,
                          const std::vector<std::uint8_t>& valid = {}) {
  for (Precision precision : {Precision::F32, Precision::Bf16, Precision::F16}) {
    p.precision = precision;
    Case c = make_case(p, seed);
    c.valid = valid;
    SCOPED_TRACE("precision " + std::to_string(static_cast<int>(precision)));
    if (precision == Precision::F32) expect_matches_naive(c);
    expect_equals_spec(c);
  }
}

TEST(Attention, VisionNoMaskHeadDimNotMultipleOf16) {
  auto p = params(40, 4, 4, 72, AttentionMask::None, Precision::F32);
  p.scale = std::pow(72.0, -0.5);
  check_all_precisions(p, 100);
}

TEST(Attention, CausalGqaAcrossQueryBlocks) {
  check_all_precisions(params(70, 9, 3, 64, AttentionMask::Causal, Precision::F32), 200);
}

TEST(Attention, MqaPrefixLmWithSoftcap) {
  auto p = params(70, 8, 1, 32, AttentionMask::PrefixLm, Precision::F32);
  p.prefix_len = 45;
  p.softcap = 50.0f;
  p.scale = 1.0 / 16;
  check_all_precisions(p, 300);
  // The prefix really is bidirectional: query 0 depends on key 44.
  p.precision = Precision::F32;
  Case c = make_case(p, 300);
  const auto before = run(c);
  for (std::size_t dd = 0; dd < 32; ++dd) c.v[44 * 32 + dd] += 1.0f;
  EXPECT_NE(run(c)[0], before[0]);
}

TEST(Attention, SoftcapBitesOnLargeScores) {
  auto p = params(33, 2, 2, 16, AttentionMask::Causal, Precision::F32);
  p.softcap = 5.0f;
  p.scale = 1.0;
  for (Precision precision : {Precision::F32, Precision::Bf16}) {
    p.precision = precision;
    Case c = make_case(p, 350, 3.0f);  // scores far beyond the cap
    if (precision == Precision::F32) expect_matches_naive(c);
    expect_equals_spec(c);
  }
}

TEST(Attention, SlidingWindowCausalAndPrefix) {
  auto p = params(100, 4, 2, 32, AttentionMask::Causal, Precision::F32);
  p.window = 16;
  check_all_precisions(p, 400);
  p.mask = AttentionMask::PrefixLm;
  p.prefix_len = 40;
  check_all_precisions(p, 401);
}

TEST(Attention, KeyPaddingAndFullyMaskedRowsGiveUniformSoftmax) {
  // Vision patch mask: no mask kind, some keys invalid.
  std::vector<std::uint8_t> valid(50, 1);
  for (std::size_t j = 30; j < 50; ++j) valid[j] = 0;
  check_all_precisions(params(50, 3, 3, 16, AttentionMask::None, Precision::F32), 500, valid);
  // Causal with key 0..2 invalid: queries 0..2 see nothing (uniform over all keys, not NaN).
  std::vector<std::uint8_t> left_pad(40, 1);
  left_pad[0] = left_pad[1] = left_pad[2] = 0;
  check_all_precisions(params(40, 2, 1, 16, AttentionMask::Causal, Precision::F32), 501,
                       left_pad);
  auto p = params(40, 2, 1, 16, AttentionMask::Causal, Precision::Bf16);
  Case c = make_case(p, 502);
  c.valid = left_pad;
  const auto out = run(c);
  for (std::size_t dd = 0; dd < 16; ++dd) {
    double mean = 0;
    for (std::size_t j = 0; j < 40; ++j) mean += c.v[j * 16 + dd];
    EXPECT_NEAR(out[dd], mean / 40, 0.02) << dd;  // bf16 probabilities 1/40 and output
    EXPECT_FALSE(std::isnan(out[dd]));
  }
}

TEST(Attention, DecodeStepEqualsTheRowOfTheFullPrefill) {
  for (Precision precision : {Precision::F32, Precision::Bf16}) {
    auto p = params(50, 9, 3, 64, AttentionMask::Causal, precision);
    p.kv_capacity = 64;
    const Case full = make_case(p, 600);
    const auto whole = run(full);
    const std::size_t width = p.heads * p.head_dim;
    // Decode of the last token, and a chunked prefill (30 then 20 tokens) over the same cache.
    for (auto [start, count] : {std::pair<std::size_t, std::size_t>{49, 1}, {30, 20}, {0, 30}}) {
      Case part = full;
      part.p.tokens = count;
      part.p.q_start = start;
      part.p.kv_len = start + count;
      part.q.assign(full.q.begin() + start * width, full.q.begin() + (start + count) * width);
      const auto got = run(part);
      for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], whole[start * width + i]) << "start " << start << " element " << i;
    }
  }
}

TEST(Attention, PrefixLmDecodeIsCausalOverTheWholePrefix) {
  auto p = params(60, 4, 1, 32, AttentionMask::PrefixLm, Precision::Bf16);
  p.prefix_len = 50;
  const Case full = make_case(p, 650);
  const auto whole = run(full);
  Case step = full;
  step.p.tokens = 1;
  step.p.q_start = 55;
  step.p.kv_len = 56;
  step.q.assign(full.q.begin() + 55 * 128, full.q.begin() + 56 * 128);
  const auto got = run(step);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], whole[55 * 128 + i]);
}

TEST(Attention, StridedQueriesAndOutputs) {
  // q inside a fused [q | k | v] row of 3·heads·d, output rows padded.
  auto p = params(35, 4, 2, 16, AttentionMask::Causal, Precision::Bf16);
  Case dense = make_case(p, 700);
  Case fused = dense;
  fused.p.q_stride = 3 * 64;
  fused.q.assign(35 * 192, 9.0f);
  for (std::size_t t = 0; t < 35; ++t)
    std::copy(dense.q.begin() + t * 64, dense.q.begin() + (t + 1) * 64, fused.q.begin() + t * 192);
  const auto want = run(dense);
  const auto got = run(fused, 70);
  for (std::size_t t = 0; t < 35; ++t) {
    for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(got[t * 70 + i], want[t * 64 + i]);
    for (std::size_t i = 64; i < 70; ++i) ASSERT_EQ(got[t * 70 + i], -7.0f);  // untouched
  }
}

TEST(Attention, LongSmolVlmPromptMatchesNaive) {
  // T = 1100 (the SmolVLM-256M prompt), 9/3 heads of 64.
  auto p = params(1100, 9, 3, 64, AttentionMask::Causal, Precision::F32);
  expect_matches_naive(make_case(p, 800));
  p.precision = Precision::Bf16;
  expect_equals_spec(make_case(p, 801));
}

TEST(Attention, RejectsInconsistentShapesAndSmallScratch) {
  const auto check_throws = [](AttentionParams p, std::size_t scratch_size) {
    std::vector<float> q(64 * 64, 0.0f), k(64 * 64, 0.0f), v(64 * 64, 0.0f), out(64 * 64);
    std::vector<float> scratch(scratch_size);
    EXPECT_THROW(attention(q.data(), k.data(), v.data(), out.data(), p, scratch, pool()), Error);
  };
  auto p = params(4, 3, 2, 8, AttentionMask::Causal, Precision::F32);  // 3 % 2 != 0
  p.kv_capacity = 8;
  check_throws(p, 1 << 16);
  p.kv_heads = 1;
  p.q_start = 2;  // queries 2..5 past kv_len 4
  check_throws(p, 1 << 16);
  p.q_start = 0;
  p.kv_len = 9;  // beyond capacity
  check_throws(p, 1 << 16);
  p.kv_len = 4;
  check_throws(p, attention_scratch_size(p, pool().size()) - 1);
}

}  // namespace
}  // namespace vlmrt::native
