#include "core/thread_pool.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace vlmrt {

namespace {
// Set while this thread runs a chunk of some pool's loop: nested loops then run inline instead
// of waiting for workers that are busy with the outer loop.
thread_local bool t_inside_chunk = false;

struct InsideChunk {
  bool previous = std::exchange(t_inside_chunk, true);
  ~InsideChunk() { t_inside_chunk = previous; }
};

constexpr std::uint64_t kChunkCountBits = 16;
constexpr auto kSpinLimit = std::chrono::microseconds(50);

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

// Spins until `ready()` or kSpinLimit has passed; returns whether it became ready.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinLimit;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}
}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // The chunk count travels in the low kChunkCountBits of the ticket.
  threads = std::min<std::size_t>(threads, (std::size_t{1} << kChunkCountBits) - 1);
  workers_.reserve(threads - 1);
  for (std::size_t i = 0; i + 1 < threads; ++i)
    workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  { std::lock_guard lock(mutex_); }  // a worker between its check and its wait sees the flag
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool;
  return pool;
}

void ThreadPool::run_chunk(std::size_t chunk) noexcept {
  const std::size_t chunk_begin = begin_ + chunk * chunk_size_;
  const std::size_t chunk_end = std::min(end_, chunk_begin + chunk_size_);
  try {
    InsideChunk inside;
    (*body_)(chunk_begin, chunk_end);
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(std::size_t worker_index) {
  std::uint64_t seen = 0;
  const auto changed = [&] {
    return stopping_.load(std::memory_order_acquire) ||
           ticket_.load(std::memory_order_acquire) != seen;
  };
  for (;;) {
    if (!spin_until(changed)) {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, changed);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = ticket_.load(std::memory_order_acquire);
    const std::size_t chunk_count = seen & ((std::uint64_t{1} << kChunkCountBits) - 1);
    // Chunk 0 belongs to the caller; worker i takes chunk i + 1 when it exists.
    const std::size_t chunk = worker_index + 1;
    if (chunk >= chunk_count) continue;
    run_chunk(chunk);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);
      work_done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(std::size_t begin, std::size_t end,
                              const std::function<void(std::size_t, std::size_t)>& body,
                              std::size_t min_chunk) {
  if (begin >= end) return;
  const std::size_t count = end - begin;
  min_chunk = std::max<std::size_t>(min_chunk, 1);
  const std::size_t chunks = std::min(size(), (count + min_chunk - 1) / min_chunk);
  if (chunks <= 1 || t_inside_chunk) {
    body(begin, end);
    return;
  }
  std::lock_guard loop_lock(loop_mutex_);
  body_ = &body;
  begin_ = begin;
  end_ = end;
  chunk_size_ = (count + chunks - 1) / chunks;
  const std::size_t chunk_count = (count + chunk_size_ - 1) / chunk_size_;
  error_ = nullptr;
  pending_.store(chunk_count - 1, std::memory_order_relaxed);
  const std::uint64_t generation = (ticket_.load(std::memory_order_relaxed) >> kChunkCountBits) + 1;
  ticket_.store((generation << kChunkCountBits) | chunk_count, std::memory_order_release);
  { std::lock_guard lock(mutex_); }  // a worker between its check and its wait sees the ticket
  work_ready_.notify_all();

  run_chunk(0);
  const auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done)) {
    std::unique_lock lock(mutex_);
    work_done_.wait(lock, done);
  }
  body_ = nullptr;
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace vlmrt
