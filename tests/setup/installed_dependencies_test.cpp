// Proves that scripts/setup installed what later modules build on.
#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

#ifdef VLMRT_HAVE_ONNXRUNTIME
#include <onnxruntime_c_api.h>
#endif

namespace vlmrt {
namespace {

TEST(Setup, OnnxRuntime129IsInstalledAndLoads) {
#ifdef VLMRT_HAVE_ONNXRUNTIME
  const OrtApiBase* base = OrtGetApiBase();
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(std::string(base->GetVersionString()), "1.29.0");
  EXPECT_NE(base->GetApi(ORT_API_VERSION), nullptr) << "library older than its headers";
#else
  FAIL() << "third_party/onnxruntime is missing: run scripts/setup";
#endif
}

TEST(Setup, DebianPythonSeesNumpyAndPil) {
  std::string output;
  ASSERT_EQ(testing::run_command(
                testing::python() + " -c 'import numpy, PIL; print(PIL.__version__)'", &output),
            0)
      << output;
  EXPECT_EQ(output.rfind("9.", 0), 0u) << "Pillow 9.x is the resize reference; found " << output;
}

}  // namespace
}  // namespace vlmrt
