// A fixed set of worker threads for data-parallel loops (the engine's GEMMs, attention heads,
// image resampling rows). The calling thread takes part in every loop, so a pool of N threads
// runs N-1 workers. A parallel_for called from inside a chunk (a nested loop) runs inline on
// that thread, so library code may use the pool without knowing whether its caller does.
//
// Workers and the caller spin briefly before sleeping: a decode step issues hundreds of short
// loops (a GEMV over a 576×192 weight takes ~3 µs), and waking a sleeping thread costs tens of
// microseconds on a VM. The spin is bounded so an idle pool does not hold the CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vlmrt {

class ThreadPool {
 public:
  // threads = 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(std::size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const noexcept { return workers_.size() + 1; }

  // Splits [begin, end) into at most size() contiguous chunks of at least `min_chunk` items and
  // calls body(chunk_begin, chunk_end) for each, concurrently; returns when all are done. The
  // first exception thrown by a chunk is rethrown here after every chunk has finished.
  void parallel_for(std::size_t begin, std::size_t end,
                    const std::function<void(std::size_t, std::size_t)>& body,
                    std::size_t min_chunk = 1);

  // A process-wide pool sized to the machine (created on first use).
  static ThreadPool& global();

 private:
  void worker_loop(std::size_t worker_index);
  void run_chunk(std::size_t chunk) noexcept;

  std::vector<std::thread> workers_;
  std::mutex mutex_;       // guards sleeping: work_ready_ / work_done_ waits, error_
  std::mutex loop_mutex_;  // serialises concurrent parallel_for callers
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  std::atomic<bool> stopping_{false};
  // (generation << 16) | chunk_count, published with release after the loop fields below: a
  // worker learns from one load whether it has a chunk in this loop. Only a worker with a chunk
  // reads the fields, and the caller does not start the next loop before that chunk is done.
  std::atomic<std::uint64_t> ticket_{0};
  std::atomic<std::size_t> pending_{0};

  // The loop being run.
  const std::function<void(std::size_t, std::size_t)>* body_ = nullptr;
  std::size_t begin_ = 0;
  std::size_t chunk_size_ = 0;
  std::size_t end_ = 0;
  std::exception_ptr error_;
};

}  // namespace vlmrt
