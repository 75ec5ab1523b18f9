// Byte-pair encoding as tokenizers/src/models/bpe does it: pieces start as one symbol per char
// (with byte fallback / unk), then the lowest-ranked adjacent pair is merged until none is left
// (ties: leftmost first).
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "tokenizer/model.hpp"

#include "core/utf8.hpp"
#include "tokenizer/unicode.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::tok {

std::uint64_t hash_bytes(std::string_view s) noexcept {
  // FNV-style mixing over 8-byte words, finished with a murmur3 avalanche.
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001B3ULL;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

VocabTable::VocabTable(const std::vector<std::pair<std::string_view, TokenId>>& entries,
                       const std::string& context) {
  TokenId max_id = -1;
  std::size_t bytes = 0;
  for (const auto& [token, id] : entries) {
    if (id < 0) {
      throw Error(ErrorKind::Format, context + ": vocab token '" + std::string(token) +
                                         "' has negative id " + std::to_string(id));
    }
    max_id = std::max(max_id, id);
    bytes += token.size();
  }
  // Ids are dense in every real vocabulary; a huge sparse id is a broken file, not a reason to
  // allocate gigabytes.
  if (max_id >= 0 && static_cast<std::size_t>(max_id) >= entries.size() * 2 + 1024) {
    throw Error(ErrorKind::Format, context + ": vocab id " + std::to_string(max_id) +
                                       " is far beyond the " + std::to_string(entries.size()) +
                                       " entries");
  }
  if (bytes >= kAbsent) throw Error(ErrorKind::LimitExceeded, context + ": vocab is too large");
  arena_.reserve(bytes);
  by_id_.resize(static_cast<std::size_t>(max_id + 1));
  std::size_t capacity = 16;
  while (capacity < entries.size() * 2) capacity <<= 1;
  slots_.resize(capacity);
  mask_ = capacity - 1;
  for (const auto& [token, id] : entries) {
    Span& span = by_id_[static_cast<std::size_t>(id)];
    if (span.length != kAbsent) {
      throw Error(ErrorKind::Format, context + ": vocab id " + std::to_string(id) +
                                         " is used by both '" + std::string(*this->token(id)) +
                                         "' and '" + std::string(token) + "'");
    }
    if (find(token)) {
      throw Error(ErrorKind::Format,
                  context + ": vocab token '" + std::string(token) + "' appears twice");
    }
    span.offset = static_cast<std::uint32_t>(arena_.size());
    span.length = static_cast<std::uint32_t>(token.size());
    arena_.append(token);
    std::uint64_t h = hash_bytes(token);
    std::size_t i = static_cast<std::size_t>(h) & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = {static_cast<std::uint32_t>(h >> 32), id};
    ++count_;
  }
}

std::optional<TokenId> VocabTable::find(std::string_view token) const noexcept {
  if (slots_.empty()) return std::nullopt;
  std::uint64_t h = hash_bytes(token);
  auto tag = static_cast<std::uint32_t>(h >> 32);
  std::size_t i = static_cast<std::size_t>(h) & mask_;
  while (true) {
    const Slot& slot = slots_[i];
    if (slot.id < 0) return std::nullopt;
    if (slot.hash == tag) {
      const Span& s = by_id_[static_cast<std::size_t>(slot.id)];
      if (s.length == token.size() &&
          std::memcmp(arena_.data() + s.offset, token.data(), token.size()) == 0) {
        return slot.id;
      }
    }
    i = (i + 1) & mask_;
  }
}

namespace {

// Open-addressing map from a (left id, right id) pair to (rank, merged id): the hot lookup.
class MergeTable {
 public:
  struct Value {
    std::uint32_t rank;
    TokenId merged;
  };
  explicit MergeTable(std::size_t n) {
    std::size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    values_.resize(cap);
    mask_ = cap - 1;
  }
  // Later duplicates overwrite earlier ones, as building a HashMap from the list does.
  void insert(TokenId a, TokenId b, Value v) {
    std::uint64_t key = make_key(a, b);
    std::size_t i = hash(key) & mask_;
    while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask_;
    keys_[i] = key;
    values_[i] = v;
  }
  const Value* find(TokenId a, TokenId b) const {
    std::uint64_t key = make_key(a, b);
    std::size_t i = hash(key) & mask_;
    while (true) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  static std::uint64_t make_key(TokenId a, TokenId b) {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32 |
           static_cast<std::uint32_t>(b);
  }
  static std::size_t hash(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<std::size_t>(k);
  }
  std::vector<std::uint64_t> keys_;
  std::vector<Value> values_;
  std::size_t mask_ = 0;
};

// Piece → ids memo. Sharded so concurrent encoders rarely contend.
class PieceCache {
 public:
  bool lookup(std::string_view piece, std::vector<TokenId>& out) const {
    Shard& shard = shard_for(piece);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.map.find(piece);
    if (it == shard.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void store(std::string_view piece, const TokenId* ids, std::size_t n) const {
    Shard& shard = shard_for(piece);
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.map.size() >= kShardCapacity) shard.map.clear();
    shard.map.emplace(std::string(piece), std::vector<TokenId>(ids, ids + n));
  }

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kShardCapacity = 8192;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> map;
  };
  Shard& shard_for(std::string_view piece) const { return shards_[StringHash{}(piece) % kShards]; }
  mutable std::array<Shard, kShards> shards_;
};

class Bpe final : public Model {
 public:
  Bpe(VocabTable vocab, const std::vector<std::pair<std::string_view, std::string_view>>& merges,
      BpeOptions options, const std::string& context)
      : vocab_(std::move(vocab)), options_(std::move(options)), merges_(merges.size()) {
    std::size_t prefix_len =
        options_.continuing_subword_prefix ? options_.continuing_subword_prefix->size() : 0;
    std::string joined;
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      auto [a, b] = merges[rank];
      auto a_id = vocab_.find(a);
      auto b_id = vocab_.find(b);
      if (!a_id || !b_id) {
        throw Error(ErrorKind::Format, context + ": model.merges[" + std::to_string(rank) +
                                           "] names token '" + std::string(!a_id ? a : b) +
                                           "' that is not in model.vocab");
      }
      joined.assign(a);
      if (b.size() >= prefix_len) joined.append(b.substr(prefix_len));
      auto merged = vocab_.find(joined);
      if (!merged) {
        throw Error(ErrorKind::Format, context + ": model.merges[" + std::to_string(rank) +
                                           "] makes '" + joined + "', which is not in model.vocab");
      }
      merges_.insert(*a_id, *b_id, {static_cast<std::uint32_t>(rank), *merged});
    }
    byte_ids_.fill(-1);
    if (options_.byte_fallback) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        if (auto id = vocab_.find(name)) byte_ids_[b] = *id;
      }
    }
    if (options_.unk_token) unk_id_ = vocab_.find(*options_.unk_token);
    if (options_.unk_token && !unk_id_) {
      throw Error(ErrorKind::Format, context + ": model.unk_token '" + *options_.unk_token +
                                         "' is not in model.vocab");
    }
  }

  const VocabTable& vocab() const override { return vocab_; }

  void tokenize(std::string_view piece, std::vector<TokenId>& out) const override {
    if (piece.empty()) return;
    if (options_.ignore_merges) {
      if (auto id = vocab_.find(piece)) {
        out.push_back(*id);
        return;
      }
    }
    bool cacheable = piece.size() < kMaxCachedLength;
    if (cacheable && cache_.lookup(piece, out)) return;
    std::size_t first = out.size();
    merge_word(piece, out);
    if (cacheable) cache_.store(piece, out.data() + first, out.size() - first);
  }

 private:
  static constexpr std::size_t kMaxCachedLength = 256;

  struct Symbol {
    TokenId id;
    int prev;
    int next;
    bool alive;
  };
  struct Candidate {
    std::uint32_t rank;
    int pos;
    TokenId merged;
    // std heap is a max-heap: "greater" means lower rank, then lower position.
    bool operator<(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  void add_symbol(std::vector<Symbol>& symbols, TokenId id) const {
    int index = static_cast<int>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  }

  void merge_word(std::string_view word, std::vector<TokenId>& out) const {
    thread_local std::vector<Symbol> symbols;
    thread_local std::vector<Candidate> heap;
    thread_local std::string scratch;
    symbols.clear();
    heap.clear();
    TokenId pending_unk = -1;  // an unk waiting to be fused or added
    bool affixes = options_.continuing_subword_prefix || options_.end_of_word_suffix;
    std::size_t pos = 0;
    while (pos < word.size()) {
      std::size_t start = pos;
      pos += utf8::sequence_length(static_cast<unsigned char>(word[pos]));
      pos = std::min(pos, word.size());
      std::string_view ch = word.substr(start, pos - start);
      std::string_view key = ch;
      if (affixes) {
        scratch.clear();
        if (start != 0 && options_.continuing_subword_prefix) {
          scratch += *options_.continuing_subword_prefix;
        }
        scratch += ch;
        if (pos == word.size() && options_.end_of_word_suffix)
          scratch += *options_.end_of_word_suffix;
        key = scratch;
      }
      if (auto id = vocab_.find(key)) {
        if (pending_unk >= 0) {
          add_symbol(symbols, pending_unk);
          pending_unk = -1;
        }
        add_symbol(symbols, *id);
        continue;
      }
      if (options_.byte_fallback) {
        bool all = true;
        for (char c : key) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          // Rust adds the byte symbols without flushing a pending unk first; keep that order.
          for (char c : key) add_symbol(symbols, byte_ids_[static_cast<unsigned char>(c)]);
          continue;
        }
      }
      if (unk_id_) {
        if (pending_unk >= 0 && !options_.fuse_unk) add_symbol(symbols, pending_unk);
        pending_unk = *unk_id_;
      }
    }
    if (pending_unk >= 0) add_symbol(symbols, pending_unk);
    if (symbols.empty()) return;
    symbols.back().next = -1;
    int n = static_cast<int>(symbols.size());
    for (int i = 0; i + 1 < n; ++i) {
      if (const auto* m = merges_.find(symbols[i].id, symbols[i + 1].id)) {
        heap.push_back({m->rank, i, m->merged});
      }
    }
    std::make_heap(heap.begin(), heap.end());
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end());
      Candidate top = heap.back();
      heap.pop_back();
      Symbol& left = symbols[top.pos];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = symbols[left.next];
      const auto* current = merges_.find(left.id, right.id);
      if (current == nullptr || current->merged != top.merged) continue;  // stale entry
      left.id = top.merged;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) symbols[left.next].prev = top.pos;
      if (left.prev >= 0) {
        if (const auto* m = merges_.find(symbols[left.prev].id, left.id)) {
          heap.push_back({m->rank, left.prev, m->merged});
          std::push_heap(heap.begin(), heap.end());
        }
      }
      if (left.next >= 0) {
        if (const auto* m = merges_.find(left.id, symbols[left.next].id)) {
          heap.push_back({m->rank, top.pos, m->merged});
          std::push_heap(heap.begin(), heap.end());
        }
      }
    }
    for (const Symbol& s : symbols) {
      if (s.alive) out.push_back(s.id);
    }
  }

  VocabTable vocab_;
  BpeOptions options_;
  MergeTable merges_;
  std::array<TokenId, 256> byte_ids_{};
  std::optional<TokenId> unk_id_;
  PieceCache cache_;
};

}  // namespace

ModelPtr make_bpe(VocabTable vocab,
                  const std::vector<std::pair<std::string_view, std::string_view>>& merges,
                  BpeOptions options, const std::string& context) {
  return std::make_unique<Bpe>(std::move(vocab), merges, std::move(options), context);
}

}  // namespace vlmrt::tok
