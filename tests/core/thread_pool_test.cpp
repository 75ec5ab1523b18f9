#include "core/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <set>
#include <stdexcept>

namespace vlmrt {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  ThreadPool pool(4);
  for (std::size_t count : {1u, 2u, 3u, 7u, 100u, 1001u}) {
    std::vector<std::atomic<int>> hits(count);
    pool.parallel_for(0, count, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) hits[i]++;
    });
    for (std::size_t i = 0; i < count; ++i)
      EXPECT_EQ(hits[i].load(), 1) << "count " << count << " index " << i;
  }
}

TEST(ThreadPool, RespectsMinChunkAndOffsets) {
  ThreadPool pool(3);
  std::mutex mutex;
  std::set<std::pair<std::size_t, std::size_t>> chunks;
  pool.parallel_for(
      10, 20,
      [&](std::size_t b, std::size_t e) {
        std::lock_guard lock(mutex);
        chunks.insert({b, e});
      },
      6);
  // 10 items with chunks of at least 6 → two chunks covering [10, 20).
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks.begin()->first, 10u);
  EXPECT_EQ(chunks.rbegin()->second, 20u);
}

TEST(ThreadPool, RethrowsTheFirstErrorAfterAllChunksFinish) {
  ThreadPool pool(4);
  std::atomic<int> finished{0};
  EXPECT_THROW(pool.parallel_for(0, 4,
                                 [&](std::size_t b, std::size_t) {
                                   if (b == 2) throw std::runtime_error("chunk failed");
                                   finished++;
                                 }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 3);
  // The pool is still usable afterwards.
  std::atomic<long> sum{0};
  pool.parallel_for(0, 1000, [&](std::size_t b, std::size_t e) {
    long local = 0;
    for (std::size_t i = b; i < e; ++i) local += static_cast<long>(i);
    sum += local;
  });
  EXPECT_EQ(sum.load(), 999L * 1000 / 2);
}

TEST(ThreadPool, ManyShortLoopsDoNotDeadlock) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  for (int round = 0; round < 2000; ++round)
    pool.parallel_for(0, 2,
                      [&](std::size_t b, std::size_t e) { total += static_cast<int>(e - b); });
  EXPECT_EQ(total.load(), 4000);
}

TEST(ThreadPool, NestedLoopsRunInlineWithoutDeadlock) {
  ThreadPool pool(2);
  std::atomic<int> inner_items{0};
  pool.parallel_for(0, 4, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      pool.parallel_for(
          0, 10, [&](std::size_t ib, std::size_t ie) { inner_items += static_cast<int>(ie - ib); });
  });
  EXPECT_EQ(inner_items.load(), 40);
}

// Loops alternate between using every worker and only some, so workers that have no chunk in
// one loop must not touch it (nor miss the next one).
TEST(ThreadPool, AlternatingChunkCountsStayExact) {
  ThreadPool pool(4);
  long expected = 0;
  std::atomic<long> total{0};
  for (int round = 0; round < 3000; ++round) {
    const std::size_t count = 1 + static_cast<std::size_t>(round % 5);
    expected += static_cast<long>(count * (count - 1) / 2);
    pool.parallel_for(0, count, [&](std::size_t b, std::size_t e) {
      long local = 0;
      for (std::size_t i = b; i < e; ++i) local += static_cast<long>(i);
      total += local;
    });
  }
  EXPECT_EQ(total.load(), expected);
}

TEST(ThreadPool, SingleThreadPoolRunsInline) {
  ThreadPool pool(1);
  EXPECT_EQ(pool.size(), 1u);
  int calls = 0;
  pool.parallel_for(0, 50, [&](std::size_t b, std::size_t e) {
    ++calls;
    EXPECT_EQ(b, 0u);
    EXPECT_EQ(e, 50u);
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace vlmrt
