#include "generation/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "vlmrt/errors.hpp"

namespace vlmrt::gen {

namespace {

// Most probable first; equal scores in id order, so greedy and the filters prefer the lowest id
// (torch.argmax returns the first maximum — MODELS.md §6).
bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

}  // namespace

Rng::Rng(std::uint64_t seed) : engine_(seed) {}

std::uint64_t Rng::next_u64() {
  return engine_();
}

double Rng::uniform() {
  // The top 53 bits scaled by 2^-53: exact in a double, the same on every platform.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

RepetitionHistory::RepetitionHistory(std::size_t vocab_size, std::size_t window)
    : window_(window), counts_(vocab_size, 0), slot_(vocab_size, -1), ring_(window) {
  distinct_.reserve(vocab_size);
}

void RepetitionHistory::clear() {
  for (const TokenId id : distinct_) {
    counts_[static_cast<std::size_t>(id)] = 0;
    slot_[static_cast<std::size_t>(id)] = -1;
  }
  distinct_.clear();
  ring_next_ = ring_size_ = 0;
}

void RepetitionHistory::push(TokenId id) {
  const bool in_vocab = id >= 0 && static_cast<std::size_t>(id) < counts_.size();
  if (window_ > 0) {
    if (ring_size_ == window_) {
      // The oldest id leaves the window.
      const TokenId old = ring_[ring_next_];
      if (old >= 0 && static_cast<std::size_t>(old) < counts_.size()) {
        const auto o = static_cast<std::size_t>(old);
        if (--counts_[o] == 0) {
          const auto s = static_cast<std::size_t>(slot_[o]);
          const TokenId moved = distinct_.back();
          distinct_[s] = moved;
          slot_[static_cast<std::size_t>(moved)] = static_cast<std::int32_t>(s);
          distinct_.pop_back();
          slot_[o] = -1;
        }
      }
    } else {
      ++ring_size_;
    }
    ring_[ring_next_] = in_vocab ? id : -1;
    ring_next_ = (ring_next_ + 1) % window_;
  }
  if (!in_vocab) return;
  const auto i = static_cast<std::size_t>(id);
  if (counts_[i]++ == 0) {
    slot_[i] = static_cast<std::int32_t>(distinct_.size());
    distinct_.push_back(id);
  }
}

void RepetitionHistory::apply(std::span<float> scores, float penalty) const {
  for (const TokenId id : distinct_) {
    float& s = scores[static_cast<std::size_t>(id)];
    s = s < 0.0F ? s * penalty : s / penalty;
  }
}

Sampler::Sampler(const GenerationOptions& options, std::size_t vocab_size, std::uint64_t seed)
    : vocab_size_(vocab_size),
      do_sample_(options.do_sample),
      temperature_(static_cast<float>(options.temperature)),
      top_k_(static_cast<std::size_t>(std::max<std::int64_t>(options.top_k, 0))),
      top_p_(options.top_p),
      min_p_(static_cast<float>(options.min_p)),
      repetition_penalty_(static_cast<float>(options.repetition_penalty)),
      history_(vocab_size, options.repetition_window),
      rng_(seed),
      scores_(vocab_size),
      candidates_(vocab_size) {}

void Sampler::reset(std::span<const TokenId> input_ids) {
  history_.clear();
  for (const TokenId id : input_ids) history_.push(id);
}

void Sampler::accept(TokenId token) {
  history_.push(token);
}

void Sampler::load_scores(std::span<const float> logits) {
  if (logits.size() != vocab_size_) {
    throw Error(ErrorKind::Backend, "decoder returned " + std::to_string(logits.size()) +
                                        " logits, expected vocab_size " +
                                        std::to_string(vocab_size_));
  }
  bool any_above_minus_inf = false;
  for (std::size_t i = 0; i < vocab_size_; ++i) {
    const float v = logits[i];
    if (std::isnan(v)) {
      throw Error(ErrorKind::Backend,
                  "decoder returned a NaN logit (token id " + std::to_string(i) + ")");
    }
    any_above_minus_inf = any_above_minus_inf || v > -std::numeric_limits<float>::infinity();
    scores_[i] = v;
  }
  if (!any_above_minus_inf) {
    throw Error(ErrorKind::Backend, "decoder returned only -inf logits; no token can be chosen");
  }
  if (repetition_penalty_ != 1.0F) history_.apply(scores_, repetition_penalty_);
}

TokenId Sampler::argmax() const {
  std::size_t best = 0;
  for (std::size_t i = 1; i < vocab_size_; ++i) {
    if (scores_[i] > scores_[best]) best = i;  // strict: ties keep the lowest id
  }
  return static_cast<TokenId>(best);
}

// Softmax over candidates_[0, count), which are sorted, so the first holds the maximum.
void Sampler::normalize(std::size_t count) {
  const float max_score = candidates_[0].score;
  double sum = 0.0;
  if (std::isinf(max_score)) {
    // +inf logits share all the mass (exp(inf - inf) would be NaN).
    for (std::size_t i = 0; i < count; ++i) {
      candidates_[i].prob = candidates_[i].score == max_score ? 1.0F : 0.0F;
      sum += candidates_[i].prob;
    }
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      candidates_[i].prob = std::exp(candidates_[i].score - max_score);
      sum += candidates_[i].prob;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    candidates_[i].prob = static_cast<float>(candidates_[i].prob / sum);
  }
}

std::span<const Candidate> Sampler::filter(std::span<const float> logits) {
  load_scores(logits);
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  // TemperatureLogitsWarper: scores / temperature (skipped at 1, as transformers does).
  std::size_t count = 0;
  for (std::size_t i = 0; i < vocab_size_; ++i) {
    float s = scores_[i];
    if (temperature_ != 1.0F) s /= temperature_;
    // -inf has probability 0 in every later softmax; dropping it now changes no outcome.
    if (s > kMinusInf) candidates_[count++] = Candidate{static_cast<TokenId>(i), s, 0.0F};
  }
  const auto begin = candidates_.begin();
  // TopKLogitsWarper: remove scores < the k-th largest score, so ties with it survive.
  if (top_k_ > 0 && top_k_ < count) {
    const auto kth = begin + static_cast<std::ptrdiff_t>(top_k_ - 1);
    std::nth_element(begin, kth, begin + static_cast<std::ptrdiff_t>(count), ranks_before);
    const float threshold = kth->score;
    std::size_t kept = top_k_;
    for (std::size_t i = top_k_; i < count; ++i) {
      if (candidates_[i].score == threshold) std::swap(candidates_[kept++], candidates_[i]);
    }
    count = kept;
  }
  std::sort(begin, begin + static_cast<std::ptrdiff_t>(count), ranks_before);
  normalize(count);
  // TopPLogitsWarper: in ascending order, drop tokens whose cumulative probability is
  // <= 1 - top_p; the most probable token always stays. So the kept set is the smallest
  // most-probable-first prefix whose mass reaches top_p. Among equal scores the higher id is
  // dropped first. torch compares a float32 cumsum with (1 - top_p) rounded to float32.
  if (top_p_ < 1.0) {
    const auto threshold = static_cast<float>(1.0 - top_p_);
    double cumulative = 0.0;
    while (count > 1) {
      cumulative += candidates_[count - 1].prob;
      if (static_cast<float>(cumulative) > threshold) break;
      --count;
    }
    normalize(count);
  }
  // MinPLogitsWarper: drop tokens whose probability is below min_p times the top probability
  // (probabilities of the already-filtered distribution); the top token always stays.
  if (min_p_ > 0.0F) {
    const float threshold = min_p_ * candidates_[0].prob;
    while (count > 1 && candidates_[count - 1].prob < threshold) --count;
    normalize(count);
  }
  return {candidates_.data(), count};
}

TokenId Sampler::select(std::span<const float> logits) {
  if (!do_sample_) {
    load_scores(logits);
    return argmax();
  }
  const std::span<const Candidate> kept = filter(logits);
  double total = 0.0;
  for (const Candidate& c : kept) total += c.prob;
  // Walk the cumulative distribution in the fixed most-probable-first order: the same uniform
  // draw picks the same token on every platform.
  const double target = rng_.uniform() * total;
  double cumulative = 0.0;
  for (const Candidate& c : kept) {
    cumulative += c.prob;
    if (target < cumulative) return c.id;
  }
  // Rounding can leave target == total; the last token with any mass is the answer then.
  for (std::size_t i = kept.size(); i-- > 0;) {
    if (kept[i].prob > 0.0F) return kept[i].id;
  }
  return kept.front().id;
}

}  // namespace vlmrt::gen
