// Which SIMD instruction sets the native CPU kernels may use on this machine, decided once at run
// time so one binary runs on any x86-64 (and builds and runs on aarch64 with the portable path).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace vlmrt::native {

// Ordered: each level implies the ones before it.
enum class CpuIsa {
  Scalar,      // portable C++ (auto-vectorised for the compiler's baseline)
  Avx2,        // AVX2 + FMA + F16C
  Avx512,      // AVX-512 F/BW/VL/DQ + FMA + F16C
  Avx512Bf16,  // Avx512 + AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16)
};

std::string_view cpu_isa_name(CpuIsa isa) noexcept;  // "scalar", "avx2", "avx512", "avx512bf16"
std::optional<CpuIsa> cpu_isa_from_name(std::string_view name) noexcept;

// The best level this CPU supports (cpuid, including OS support for the wide registers).
CpuIsa detected_cpu_isa() noexcept;

// Every level this CPU can run, from Scalar up to detected_cpu_isa().
std::vector<CpuIsa> supported_cpu_isas();

// The level the kernels use: detected_cpu_isa(), lowered by the environment variable
// VLMRT_CPU_ISA=scalar|avx2|avx512|avx512bf16 (read once; a level above the detected one is
// clamped, since running it would fault), or by set_cpu_isa_override().
CpuIsa active_cpu_isa() noexcept;

// For tests and benchmarks: forces a level (clamped to the detected one) or, with nullopt, goes
// back to the default. Not thread-safe against concurrent kernel calls; returns the previous
// override.
std::optional<CpuIsa> set_cpu_isa_override(std::optional<CpuIsa> isa) noexcept;

}  // namespace vlmrt::native
