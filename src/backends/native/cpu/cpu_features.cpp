#include "backends/native/cpu/cpu_features.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace vlmrt::native {

namespace {

constexpr int kNoOverride = -1;
std::atomic<int> g_override{kNoOverride};

CpuIsa detect() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks XCR0, so a kernel that masks AVX-512 state off reads as
  // unsupported here.
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx2) return CpuIsa::Scalar;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (!avx512) return CpuIsa::Avx2;
#if defined(__clang__) && __clang_major__ < 16
  // Older clang does not know the "avx512bf16" feature name; read cpuid leaf 7 subleaf 1 EAX[5].
  unsigned eax = 7, ebx = 0, ecx = 1, edx = 0;
  __asm__("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
  const bool bf16 = (eax >> 5) & 1u;
#else
  const bool bf16 = __builtin_cpu_supports("avx512bf16");
#endif
  return bf16 ? CpuIsa::Avx512Bf16 : CpuIsa::Avx512;
#else
  return CpuIsa::Scalar;
#endif
}

CpuIsa from_environment(CpuIsa detected) noexcept {
  const char* value = std::getenv("VLMRT_CPU_ISA");
  if (value == nullptr) return detected;
  const auto requested = cpu_isa_from_name(value);
  if (!requested) return detected;
  return std::min(*requested, detected);
}

}  // namespace

std::string_view cpu_isa_name(CpuIsa isa) noexcept {
  switch (isa) {
    case CpuIsa::Scalar:
      return "scalar";
    case CpuIsa::Avx2:
      return "avx2";
    case CpuIsa::Avx512:
      return "avx512";
    case CpuIsa::Avx512Bf16:
      return "avx512bf16";
  }
  return "scalar";
}

std::optional<CpuIsa> cpu_isa_from_name(std::string_view name) noexcept {
  for (CpuIsa isa : {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Bf16})
    if (cpu_isa_name(isa) == name) return isa;
  return std::nullopt;
}

CpuIsa detected_cpu_isa() noexcept {
  static const CpuIsa detected = detect();
  return detected;
}

std::vector<CpuIsa> supported_cpu_isas() {
  std::vector<CpuIsa> isas;
  for (CpuIsa isa : {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Bf16})
    if (isa <= detected_cpu_isa()) isas.push_back(isa);
  return isas;
}

CpuIsa active_cpu_isa() noexcept {
  const int forced = g_override.load(std::memory_order_relaxed);
  if (forced != kNoOverride) return static_cast<CpuIsa>(forced);
  static const CpuIsa from_env = from_environment(detected_cpu_isa());
  return from_env;
}

std::optional<CpuIsa> set_cpu_isa_override(std::optional<CpuIsa> isa) noexcept {
  const int value = isa ? static_cast<int>(std::min(*isa, detected_cpu_isa())) : kNoOverride;
  const int previous = g_override.exchange(value);
  if (previous == kNoOverride) return std::nullopt;
  return static_cast<CpuIsa>(previous);
}

}  // namespace vlmrt::native
