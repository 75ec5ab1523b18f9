#include "backends/native/cpu/cpu_features.hpp"

#include <gtest/gtest.h>

namespace vlmrt::native {
namespace {

TEST(CpuFeatures, NamesRoundTrip) {
  for (CpuIsa isa : {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512, CpuIsa::Avx512Bf16})
    EXPECT_EQ(cpu_isa_from_name(cpu_isa_name(isa)), isa);
  EXPECT_FALSE(cpu_isa_from_name("sse9").has_value());
}

TEST(CpuFeatures, SupportedLevelsRunFromScalarToDetected) {
  const auto isas = supported_cpu_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), CpuIsa::Scalar);
  EXPECT_EQ(isas.back(), detected_cpu_isa());
}

TEST(CpuFeatures, OverrideIsClampedToDetectedAndRestorable) {
  const auto before = set_cpu_isa_override(CpuIsa::Scalar);
  EXPECT_EQ(active_cpu_isa(), CpuIsa::Scalar);
  set_cpu_isa_override(CpuIsa::Avx512Bf16);
  EXPECT_EQ(active_cpu_isa(), detected_cpu_isa());  // never above what the CPU runs
  set_cpu_isa_override(before);
}

}  // namespace
}  // namespace vlmrt::native
