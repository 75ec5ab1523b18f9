// Logits → token, with transformers' logits processors in its order and semantics
// (generation/logits_process.py): repetition penalty (also with greedy), then — only when
// sampling — temperature, top-k, top-p, min-p, then a categorical draw from the softmax.
// All buffers are sized once per Sampler; selecting a token allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "generation/decoder_session.hpp"
#include "generation/options.hpp"

namespace vlmrt::gen {

// A deterministic random source: std::mt19937_64's output sequence is fixed by the C++ standard,
// but the std distributions are not, so the float conversion is done here.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();

 private:
  std::mt19937_64 engine_;
};

// The ids seen so far (prompt and generated), optionally only the last `window` of them, with
// each distinct id penalised once per step as transformers' gather/scatter does.
class RepetitionHistory {
 public:
  RepetitionHistory(std::size_t vocab_size, std::size_t window);
  void clear();
  // Ids outside [0, vocab_size) occupy a window slot but are never penalised.
  void push(TokenId id);
  // logit < 0 ? logit * penalty : logit / penalty, for each distinct id in the history.
  void apply(std::span<float> scores, float penalty) const;
  std::span<const TokenId> distinct_ids() const { return distinct_; }

 private:
  std::size_t window_;
  std::vector<std::uint32_t> counts_;  // per id, occurrences inside the window
  std::vector<std::int32_t> slot_;     // per id, its index in distinct_, or -1
  std::vector<TokenId> distinct_;      // ids with counts_ > 0 (order irrelevant)
  std::vector<TokenId> ring_;          // the window's ids, when window_ > 0
  std::size_t ring_next_ = 0;
  std::size_t ring_size_ = 0;
};

// One surviving token of the sampling filters with its probability among the survivors.
struct Candidate {
  TokenId id = 0;
  float score = 0.0F;  // logit after penalty and temperature
  float prob = 0.0F;
};

class Sampler {
 public:
  // `options` must have passed validate(). The Sampler keeps no reference to it.
  Sampler(const GenerationOptions& options, std::size_t vocab_size, std::uint64_t seed);

  // Starts a new sequence: the repetition history becomes `input_ids` (the prompt).
  void reset(std::span<const TokenId> input_ids);
  // Records a generated token in the repetition history.
  void accept(TokenId token);

  // Picks the next token from a position's logits (size vocab_size()). Throws Error(Backend)
  // when the logits have the wrong size, contain NaN or are all -inf.
  TokenId select(std::span<const float> logits);

  // Sampling path only: applies penalty, temperature, top-k, top-p and min-p and returns the
  // survivors, most probable first (ties: lower id first), probabilities renormalised over them.
  // Valid until the next call. Exposed so tests can pin exactly which ids each filter keeps.
  std::span<const Candidate> filter(std::span<const float> logits);

  std::size_t vocab_size() const noexcept { return vocab_size_; }

 private:
  void load_scores(std::span<const float> logits);
  TokenId argmax() const;
  void normalize(std::size_t count);

  std::size_t vocab_size_;
  bool do_sample_;
  float temperature_;
  std::size_t top_k_;
  double top_p_;
  float min_p_;
  float repetition_penalty_;
  RepetitionHistory history_;
  Rng rng_;
  std::vector<float> scores_;
  std::vector<Candidate> candidates_;
};

}  // namespace vlmrt::gen
