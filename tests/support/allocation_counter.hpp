// Heap-allocation counting for tests that prove a hot path allocates nothing: linking the
// vlmrt_allocation_counter library replaces the test executable's global operator new/delete
// with counting ones (memory still comes from malloc). Only executables whose folder links it
// (test_deps.cmake) are affected.
#pragma once

#include <cstddef>

namespace vlmrt::testing {

// Allocations made through operator new so far, by every thread.
std::size_t allocation_count();

}  // namespace vlmrt::testing
