// Counting replacements of the global operator new/delete (see allocation_counter.hpp). In their
// own file so the compiler never sees them next to an inlined allocator call.
#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

// These replacements pair operator new with malloc and operator delete with free by design; GCC's
// -Wmismatched-new-delete cannot see that pairing once inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

namespace vlmrt::testing {
std::size_t allocation_count() {
  return g_allocations.load(std::memory_order_relaxed);
}
}  // namespace vlmrt::testing

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
// The nothrow forms must be replaced too: otherwise the runtime's nothrow new (used by simdjson,
// for one) would be paired with the free() above.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
