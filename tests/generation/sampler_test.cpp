// Sampler semantics pinned against transformers' logits processors (generation/logits_process.py),
// with expected values worked out by hand. Probabilities are chosen to be exact in float where a
// test sits on a boundary (equal logits give exactly 1/n).
#include "generation/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "vlmrt/errors.hpp"

namespace vlmrt::gen {
namespace {

using Ids = std::vector<TokenId>;
constexpr float kInf = std::numeric_limits<float>::infinity();

GenerationOptions sampling(std::int64_t top_k = 0, double top_p = 1.0, double min_p = 0.0) {
  GenerationOptions o;
  o.do_sample = true;
  o.top_k = top_k;
  o.top_p = top_p;
  o.min_p = min_p;
  return o;
}

// The ids that survive every filter, sorted by id.
Ids kept_ids(const GenerationOptions& options, const std::vector<float>& logits) {
  Sampler sampler(options, logits.size(), 1);
  Ids ids;
  for (const Candidate& c : sampler.filter(logits)) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Logits whose softmax is exactly `probs` up to float rounding.
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> out;
  for (const double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

ErrorKind select_error(Sampler& sampler, const std::vector<float>& logits) {
  try {
    sampler.select(logits);
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::Internal;
}

TEST(Greedy, PicksArgmaxWithTiesToLowestId) {
  GenerationOptions o;
  Sampler sampler(o, 5, 0);
  EXPECT_EQ(sampler.select(std::vector<float>{0.f, 3.f, 1.f, 3.f, 2.f}), 1);
  EXPECT_EQ(sampler.select(std::vector<float>{-1.f, -1.f, -1.f, -1.f, -1.f}), 0);
  EXPECT_EQ(sampler.select(std::vector<float>{-kInf, -kInf, 5.f, 5.f, kInf}), 4);
}

TEST(Greedy, IgnoresSamplingWarpers) {
  // transformers adds temperature/top-k/top-p only with do_sample; greedy sees raw logits.
  GenerationOptions o;
  o.temperature = 0.01;
  o.top_k = 1;
  o.top_p = 0.1;
  Sampler sampler(o, 3, 0);
  EXPECT_EQ(sampler.select(std::vector<float>{1.f, 2.f, 0.f}), 1);
}

TEST(RepetitionPenalty, DividesPositiveAndMultipliesNegativeLogitsOncePerId) {
  GenerationOptions o = sampling();
  o.repetition_penalty = 2.0;
  Sampler sampler(o, 5, 0);
  sampler.reset(Ids{0, 1, 1, 1});  // a repeated id is penalised once (gather/scatter)
  sampler.accept(3);
  std::map<TokenId, float> score;
  for (const Candidate& c : sampler.filter(std::vector<float>{2.f, -2.f, 1.f, 0.5f, -0.5f}))
    score[c.id] = c.score;
  EXPECT_FLOAT_EQ(score[0], 1.0f);   // 2 / 2
  EXPECT_FLOAT_EQ(score[1], -4.0f);  // -2 * 2
  EXPECT_FLOAT_EQ(score[2], 1.0f);   // unseen
  EXPECT_FLOAT_EQ(score[3], 0.25f);  // generated ids count too
  EXPECT_FLOAT_EQ(score[4], -0.5f);  // unseen
}

TEST(RepetitionPenalty, AppliesWithGreedy) {
  GenerationOptions o;
  o.repetition_penalty = 1.2;
  Sampler sampler(o, 2, 0);
  sampler.reset(Ids{0});
  // 1.0 / 1.2 = 0.833 < 0.9, so the unseen id wins (MODELS.md §6: HF applies it with greedy).
  EXPECT_EQ(sampler.select(std::vector<float>{1.0f, 0.9f}), 1);
  GenerationOptions plain;
  Sampler unpenalised(plain, 2, 0);
  unpenalised.reset(Ids{0});
  EXPECT_EQ(unpenalised.select(std::vector<float>{1.0f, 0.9f}), 0);
}

TEST(RepetitionPenalty, WindowSeesOnlyTheLastIds) {
  RepetitionHistory history(6, 3);
  for (const TokenId id : Ids{0, 1, 2, 2}) history.push(id);  // window: 1 2 2
  Ids seen(history.distinct_ids().begin(), history.distinct_ids().end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (Ids{1, 2}));
  history.push(5);  // window: 2 2 5
  history.push(7);  // window: 2 5 <out of vocab>: occupies a slot, never penalised
  seen.assign(history.distinct_ids().begin(), history.distinct_ids().end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (Ids{2, 5}));
  std::vector<float> scores{1.f, 1.f, 1.f, 1.f, 1.f, -1.f};
  history.apply(scores, 2.0f);
  EXPECT_EQ(scores, (std::vector<float>{1.f, 1.f, 0.5f, 1.f, 1.f, -2.f}));
  history.clear();
  EXPECT_TRUE(history.distinct_ids().empty());
}

TEST(RepetitionPenalty, WholeHistoryIncludesPromptWhenWindowIsZero) {
  RepetitionHistory history(4, 0);
  for (const TokenId id : Ids{3, 0, 0, -1, 9}) history.push(id);
  Ids seen(history.distinct_ids().begin(), history.distinct_ids().end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (Ids{0, 3}));
}

TEST(Temperature, DividesLogitsBeforeSoftmax) {
  GenerationOptions o = sampling();
  o.temperature = 2.0;
  Sampler sampler(o, 2, 0);
  const auto kept = sampler.filter(std::vector<float>{2.f, 0.f});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FLOAT_EQ(kept[0].score, 1.0f);
  EXPECT_NEAR(kept[0].prob / kept[1].prob, std::exp(1.0), 1e-5);
}

TEST(TopK, KeepsKHighestAndEveryTieWithTheKth) {
  const std::vector<float> logits{1.f, 3.f, 3.f, 2.f, 3.f, 0.f};
  EXPECT_EQ(kept_ids(sampling(1), logits), (Ids{1, 2, 4}));  // ties with the 1st survive
  EXPECT_EQ(kept_ids(sampling(2), logits), (Ids{1, 2, 4}));
  EXPECT_EQ(kept_ids(sampling(4), logits), (Ids{1, 2, 3, 4}));
  EXPECT_EQ(kept_ids(sampling(5), logits), (Ids{0, 1, 2, 3, 4}));
  EXPECT_EQ(kept_ids(sampling(0), logits), (Ids{0, 1, 2, 3, 4, 5}));    // off
  EXPECT_EQ(kept_ids(sampling(100), logits), (Ids{0, 1, 2, 3, 4, 5}));  // k > vocab
}

TEST(TopP, KeepsSmallestMostProbableSetReachingTopP) {
  const auto logits = logits_of({0.5, 0.3, 0.15, 0.05});
  EXPECT_EQ(kept_ids(sampling(0, 0.9), logits), (Ids{0, 1, 2}));
  EXPECT_EQ(kept_ids(sampling(0, 0.85), logits), (Ids{0, 1, 2}));
  EXPECT_EQ(kept_ids(sampling(0, 0.6), logits), (Ids{0, 1}));
  EXPECT_EQ(kept_ids(sampling(0, 0.4), logits), (Ids{0}));
  EXPECT_EQ(kept_ids(sampling(0, 1.0), logits), (Ids{0, 1, 2, 3}));
}

TEST(TopP, MassExactlyAtTopPIsEnough) {
  // Four equal logits: each prob is exactly 0.25 and the ascending cumsum 0.25, 0.5, 0.75, 1.
  // HF removes cumsum <= 1 - top_p, so top_p = 0.5 keeps exactly two tokens, the lowest ids.
  const std::vector<float> flat{0.f, 0.f, 0.f, 0.f};
  EXPECT_EQ(kept_ids(sampling(0, 0.5), flat), (Ids{0, 1}));
  EXPECT_EQ(kept_ids(sampling(0, 0.75), flat), (Ids{0, 1, 2}));
  EXPECT_EQ(kept_ids(sampling(0, 0.7), flat), (Ids{0, 1, 2}));
  EXPECT_EQ(kept_ids(sampling(0, 0.25), flat), (Ids{0}));
  EXPECT_EQ(kept_ids(sampling(0, 0.26), flat), (Ids{0, 1}));
}

TEST(TopP, AlwaysKeepsAtLeastOneToken) {
  EXPECT_EQ(kept_ids(sampling(0, 1e-9), std::vector<float>{0.f, 0.f, 0.f}), (Ids{0}));
  EXPECT_EQ(kept_ids(sampling(0, 1e-9), std::vector<float>{0.f, 9.f, 0.f}), (Ids{1}));
}

TEST(TopP, RunsAfterTopKOnTheRenormalisedSurvivors) {
  // top_k = 2 leaves 0.5 and 0.3 → renormalised 0.625 / 0.375; top_p 0.6 then keeps one.
  const auto logits = logits_of({0.5, 0.3, 0.15, 0.05});
  EXPECT_EQ(kept_ids(sampling(2, 0.6), logits), (Ids{0}));
  EXPECT_EQ(kept_ids(sampling(2, 0.7), logits), (Ids{0, 1}));
}

TEST(MinP, DropsTokensBelowMinPTimesTopProbability) {
  const auto logits = logits_of({0.5, 0.3, 0.15, 0.05});
  EXPECT_EQ(kept_ids(sampling(0, 1.0, 0.2), logits), (Ids{0, 1, 2}));  // threshold 0.1
  EXPECT_EQ(kept_ids(sampling(0, 1.0, 0.5), logits), (Ids{0, 1}));     // threshold 0.25
  EXPECT_EQ(kept_ids(sampling(0, 1.0, 0.9), logits), (Ids{0}));
  EXPECT_EQ(kept_ids(sampling(0, 1.0, 1.0), logits), (Ids{0}));
}

TEST(MinP, KeepsTokensExactlyAtTheThreshold) {
  // Equal probabilities: p == min_p * p_max with min_p = 1 is not "<", so all stay.
  EXPECT_EQ(kept_ids(sampling(0, 1.0, 1.0), std::vector<float>{0.f, 0.f, 0.f}), (Ids{0, 1, 2}));
}

TEST(Filter, ProbabilitiesAreRenormalisedOverSurvivors) {
  GenerationOptions o = sampling(2);
  Sampler sampler(o, 4, 0);
  const auto kept = sampler.filter(logits_of({0.5, 0.3, 0.15, 0.05}));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].id, 0);
  EXPECT_NEAR(kept[0].prob, 0.625, 1e-6);
  EXPECT_NEAR(kept[1].prob, 0.375, 1e-6);
}

TEST(Sampling, NeverPicksMinusInfinityLogits) {
  const std::vector<float> logits{-kInf, 0.f, -kInf, 0.f};
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Sampler sampler(sampling(), 4, seed);
    const TokenId t = sampler.select(logits);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(Sampling, SameSeedGivesSameTokens) {
  const std::vector<float> flat(64, 0.0f);
  Sampler a(sampling(), 64, 1234), b(sampling(), 64, 1234), c(sampling(), 64, 1235);
  Ids ta, tb, tc;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.select(flat));
    tb.push_back(b.select(flat));
    tc.push_back(c.select(flat));
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
}

TEST(Sampling, EmpiricalDistributionMatchesSoftmax) {
  const std::vector<float> logits{0.0f, 1.0f, 2.0f, 0.5f, -1.0f};
  std::vector<double> p;
  double sum = 0;
  for (const float l : logits) sum += std::exp(l);
  for (const float l : logits) p.push_back(std::exp(l) / sum);
  Sampler sampler(sampling(), logits.size(), 42);
  constexpr int kDraws = 20000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<std::size_t>(sampler.select(logits))];
  double chi2 = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double expected = kDraws * p[i];
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  // 4 degrees of freedom: P(chi2 > 18.47) = 0.001.
  EXPECT_LT(chi2, 18.47);
}

TEST(Rng, IsTheStandardMersenneTwister64) {
  // The C++ standard fixes mt19937_64's 10000th output for the default seed 5489.
  Rng rng(5489);
  std::uint64_t value = 0;
  for (int i = 0; i < 10000; ++i) value = rng.next_u64();
  EXPECT_EQ(value, 9981545732273789042ULL);
}

TEST(Rng, UniformStaysInUnitInterval) {
  Rng rng(7);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Sampler, RejectsUnusableLogits) {
  Sampler sampler(GenerationOptions{}, 3, 0);
  EXPECT_EQ(select_error(sampler, {1.f, 2.f}), ErrorKind::Backend);
  EXPECT_EQ(select_error(sampler, {1.f, std::nanf(""), 0.f}), ErrorKind::Backend);
  EXPECT_EQ(select_error(sampler, {-kInf, -kInf, -kInf}), ErrorKind::Backend);
  Sampler sampling_sampler(sampling(), 3, 0);
  EXPECT_EQ(select_error(sampling_sampler, {-kInf, -kInf, -kInf}), ErrorKind::Backend);
}

TEST(Sampling, PositiveInfinityLogitsShareAllTheMass) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    Sampler sampler(sampling(), 4, seed);
    const TokenId t = sampler.select(std::vector<float>{kInf, 100.f, kInf, 0.f});
    EXPECT_TRUE(t == 0 || t == 2) << t;
  }
}

}  // namespace
}  // namespace vlmrt::gen
