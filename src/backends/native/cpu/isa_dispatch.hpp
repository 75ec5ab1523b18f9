// Runs a piece of kernel code compiled for the best vector ISA active_cpu_isa() allows, without
// writing one trampoline per ISA by hand: `with_best_isa([&] { loop(...); })`. The lambda and
// everything it calls in this translation unit are inlined (`flatten`) into a clone compiled for
// AVX-512 or AVX2, so the compiler vectorises the loops for that ISA; the portable path is the
// plain call. Calls that leave the translation unit (kernel function pointers) are unaffected.
#pragma once

#include "backends/native/cpu/cpu_features.hpp"

namespace vlmrt::native {

#if defined(__x86_64__) && defined(__GNUC__)
namespace detail {

template <typename Body>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c"), flatten)) void run_avx512(
    const Body& body) {
  body();
}

template <typename Body>
__attribute__((target("avx2,f16c"), flatten)) void run_avx2(const Body& body) {
  body();
}

}  // namespace detail
#endif

template <typename Body>
void with_best_isa(const Body& body) {
#if defined(__x86_64__) && defined(__GNUC__)
  const CpuIsa isa = active_cpu_isa();
  if (isa >= CpuIsa::Avx512) return detail::run_avx512(body);
  if (isa >= CpuIsa::Avx2) return detail::run_avx2(body);
#endif
  body();
}

}  // namespace vlmrt::native
