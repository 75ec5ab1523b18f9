// Load-time errors of the ONNX backend on broken model folders (made by make_onnx_exports.py):
// each names the file at fault and what was expected.
#ifdef VLMRT_WITH_ONNXRUNTIME
#include <gtest/gtest.h>

#include "onnx_test_support.hpp"
#include "test_support.hpp"

namespace vlmrt::onnx {
namespace {

using testing::cpu_options;
using testing::exports_dir;
using testing::open_export;
using testing::throws_error;

TEST(OnnxGraphErrors, TruncatedOnnxIsAFormatErrorWithThePath) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  EXPECT_TRUE(throws_error([&] { open_export("broken-truncated", cpu_options()); },
                           ErrorKind::Format,
                           {(exports_dir() / "broken-truncated/onnx/vision_encoder.onnx").string(),
                            "truncated or corrupt", "Protobuf parsing failed"}));
}

TEST(OnnxGraphErrors, WrongInputNameIsAFormatErrorListingTheGraphsInputs) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  EXPECT_TRUE(throws_error(
      [&] { open_export("broken-names", cpu_options()); }, ErrorKind::Format,
      {"onnx/decoder_model_merged.onnx", "no input named 'inputs_embeds'", "input_embeds"}));
}

TEST(OnnxGraphErrors, WrongInputRankIsAFormatError) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  EXPECT_TRUE(throws_error([&] { open_export("broken-rank", cpu_options()); }, ErrorKind::Format,
                           {"onnx/decoder_model_merged.onnx", "'inputs_embeds'", "rank 3"}));
}

TEST(OnnxGraphErrors, VariantThatDoesNotExistNamesTheVariantsFound) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  OnnxBackendOptions options = cpu_options();
  options.dtypes = {{"decoder", "bnb4"}};
  EXPECT_TRUE(throws_error([&] { open_export("tiny-smolvlm-fp32", options); }, ErrorKind::NotFound,
                           {"decoder_model_merged_bnb4.onnx", "fp32, fp16, int8, q4"}));
  options.dtypes = {{"decoder", "fp8"}};
  EXPECT_TRUE(throws_error([&] { open_export("tiny-smolvlm-fp32", options); },
                           ErrorKind::InvalidArgument, {"unknown ONNX variant 'fp8'"}));
}

TEST(OnnxGraphErrors, FolderWithoutOnnxGraphsIsNotFound) {
  // A Hugging Face folder with safetensors only.
  const auto fixture = vlmrt::testing::source_dir() / "tests/fixtures/models/tiny-smolvlm-fp32";
  EXPECT_TRUE(throws_error([&] { open_onnx_backend(ModelFolder::inspect(fixture), cpu_options()); },
                           ErrorKind::NotFound, {(fixture / "onnx").string(), "no such folder"}));
}

TEST(OnnxGraphErrors, MissingModelFolderIsNotFound) {
  const auto missing = vlmrt::testing::scratch_dir("missing_model") / "nothing-here";
  EXPECT_TRUE(throws_error([&] { open_onnx_backend(ModelFolder::inspect(missing), cpu_options()); },
                           ErrorKind::NotFound, {missing.string()}));
}

TEST(OnnxGraphErrors, GraphsOfAnotherModelDisagreeWithConfigJson) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  // SmolVLM2's config (GQA 4/1) over SmolVLM's graphs (2 KV heads): the cache shapes disagree.
  const auto dir = vlmrt::testing::scratch_dir("mismatched_config");
  std::filesystem::copy(exports_dir() / "tiny-smolvlm-fp32", dir,
                        std::filesystem::copy_options::recursive);
  std::filesystem::copy_file(exports_dir() / "tiny-smolvlm2-fp32/config.json", dir / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_TRUE(throws_error([&] { open_onnx_backend(ModelFolder::inspect(dir), cpu_options()); },
                           ErrorKind::Format, {"config.json"}));
}

}  // namespace
}  // namespace vlmrt::onnx
#endif
