// `cmake --install`: the installed CLI runs on its own, finding the bundled models under
// share/vlmrt/models and (when built with it) ONNX Runtime under lib/ of the prefix.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& path) {
  return testing::shell_quote(path.string());
}

TEST(Install, TheInstalledCliRunsTheInstalledBundledModel) {
  const fs::path prefix = testing::scratch_dir("install");
  std::string output;
  ASSERT_EQ(testing::run_command(quoted(testing::cmake_command()) + " --install " +
                                     quoted(testing::binary_dir()) + " --prefix " + quoted(prefix),
                                 &output),
            0)
      << output;
  const fs::path cli = prefix / "bin" / "vlmrt";
  const fs::path model = prefix / "share" / "vlmrt" / "models" / "tiny-smolvlm";
  ASSERT_TRUE(fs::exists(cli)) << output;
  ASSERT_TRUE(fs::exists(model / "model.safetensors")) << output;
  EXPECT_FALSE(fs::exists(prefix / "share" / "vlmrt" / "models" / "README.md"));
#ifdef VLMRT_WITH_ONNXRUNTIME
  // The CLI links ONNX Runtime: it starts only if its run path leads to the prefix's copy.
  EXPECT_TRUE(fs::exists(prefix / "lib" / "libonnxruntime.so.1")) << output;
#endif

  const std::string run = quoted(cli) + " run --image " +
                          quoted(testing::source_dir() / "samples" / "images" / "three_shapes.png");
  ASSERT_EQ(testing::run_command("env -u VLMRT_MODELS_DIR " + run + " 2>&1", &output), 0) << output;
  EXPECT_FALSE(output.empty());

  // Without the installed weights the same command fails naming the installed folder: that is
  // the copy it uses (not the checkout's).
  fs::rename(model / "model.safetensors", prefix / "moved.safetensors");
  EXPECT_NE(testing::run_command("env -u VLMRT_MODELS_DIR " + run + " 2>&1", &output), 0);
  EXPECT_NE(output.find(model.string()), std::string::npos) << output;
}

}  // namespace
}  // namespace vlmrt
