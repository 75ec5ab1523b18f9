#include "core/thread_pool.hpp"

#include <algorithm>
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
}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads - 1);
  for (std::size_t i = 0; i + 1 < threads; ++i)
    workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
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
  std::size_t seen_generation = 0;
  for (;;) {
    std::size_t chunk = 0;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
      if (stopping_) return;
      seen_generation = generation_;
      // Chunk 0 belongs to the caller; worker i takes chunk i + 1 when it exists.
      chunk = worker_index + 1;
      if (chunk >= chunk_count_) continue;
    }
    run_chunk(chunk);
    std::lock_guard lock(mutex_);
    if (--pending_ == 0) work_done_.notify_one();
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
  {
    std::lock_guard lock(mutex_);
    body_ = &body;
    begin_ = begin;
    end_ = end;
    chunk_size_ = (count + chunks - 1) / chunks;
    chunk_count_ = (count + chunk_size_ - 1) / chunk_size_;
    pending_ = chunk_count_ - 1;
    error_ = nullptr;
    ++generation_;
  }
  work_ready_.notify_all();
  run_chunk(0);
  std::unique_lock lock(mutex_);
  work_done_.wait(lock, [&] { return pending_ == 0; });
  body_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace vlmrt
