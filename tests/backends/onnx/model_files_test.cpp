// Locating the graphs of a published ONNX folder (ONNX-LAYOUT.md "Files"): variant suffixes,
// per-graph choices, and the errors for what is missing. Pure file naming: no ONNX Runtime run.
#ifdef VLMRT_WITH_ONNXRUNTIME
#include <gtest/gtest.h>

#include <fstream>

#include "backends/onnx/model_files.hpp"
#include "onnx_test_support.hpp"
#include "test_support.hpp"

namespace vlmrt::onnx {
namespace {

using testing::throws_error;

std::filesystem::path folder_with(const std::string& name, const std::vector<std::string>& graphs) {
  const auto dir = vlmrt::testing::scratch_dir(name);
  std::filesystem::create_directories(dir / "onnx");
  for (const auto& graph : graphs) std::ofstream(dir / "onnx" / graph) << "x";
  return dir;
}

const std::vector<std::string> kFp32 = {"vision_encoder.onnx", "embed_tokens.onnx",
                                        "decoder_model_merged.onnx"};

TEST(OnnxModelFiles, DefaultsEveryGraphToFp32) {
  const auto dir = folder_with("fp32_only", kFp32);
  const OnnxModelFiles files = locate_onnx_files(dir, {});
  EXPECT_EQ(files.at(Graph::Vision).path, dir / "onnx" / "vision_encoder.onnx");
  EXPECT_EQ(files.at(Graph::Embed).path, dir / "onnx" / "embed_tokens.onnx");
  EXPECT_EQ(files.at(Graph::Decoder).path, dir / "onnx" / "decoder_model_merged.onnx");
  EXPECT_EQ(files.at(Graph::Decoder).variant, "fp32");
}

TEST(OnnxModelFiles, PicksAVariantPerGraphByKeyOrGraphName) {
  auto graphs = kFp32;
  graphs.push_back("decoder_model_merged_q4.onnx");
  graphs.push_back("vision_encoder_quantized.onnx");
  const auto dir = folder_with("per_graph", graphs);
  const OnnxModelFiles files =
      locate_onnx_files(dir, {{"decoder_model_merged", "q4"}, {"vision", "quantized"}});
  EXPECT_EQ(files.at(Graph::Decoder).path.filename(), "decoder_model_merged_q4.onnx");
  EXPECT_EQ(files.at(Graph::Vision).path.filename(), "vision_encoder_quantized.onnx");
  EXPECT_EQ(files.at(Graph::Vision).variant, "q8");  // quantized is q8's alias
  EXPECT_EQ(files.at(Graph::Embed).path.filename(), "embed_tokens.onnx");
}

TEST(OnnxModelFiles, MissingVariantNamesTheFileAndTheVariantsFound) {
  auto graphs = kFp32;
  graphs.push_back("decoder_model_merged_fp16.onnx");
  graphs.push_back("decoder_model_merged_q4f16.onnx");
  const auto dir = folder_with("missing_variant", graphs);
  EXPECT_TRUE(throws_error(
      [&] {
        locate_onnx_files(dir, {{"decoder", "int8"}});
      },
      ErrorKind::NotFound,
      {"decoder_model_merged_int8.onnx", "variants found: fp32, fp16, q4f16"}));
}

TEST(OnnxModelFiles, MissingFp32GraphListsNoneWhenNoVariantExists) {
  const auto dir = folder_with("no_vision", {"embed_tokens.onnx", "decoder_model_merged.onnx"});
  EXPECT_TRUE(throws_error([&] { locate_onnx_files(dir, {}); }, ErrorKind::NotFound,
                           {"vision_encoder.onnx", "variants found: none"}));
}

TEST(OnnxModelFiles, MissingOnnxFolderIsNotFound) {
  const auto dir = vlmrt::testing::scratch_dir("no_onnx_folder");
  EXPECT_TRUE(throws_error([&] { locate_onnx_files(dir, {}); }, ErrorKind::NotFound,
                           {(dir / "onnx").string(), "export_onnx.py"}));
}

TEST(OnnxModelFiles, RejectsUnknownVariantNames) {
  const auto dir = folder_with("unknown_variant", kFp32);
  EXPECT_TRUE(throws_error(
      [&] {
        locate_onnx_files(dir, {{"decoder", "q3"}});
      },
      ErrorKind::InvalidArgument, {"'q3'", "fp32, fp16, q8, int8"}));
}

TEST(OnnxModelFiles, RejectsUnknownGraphKeysAndDuplicates) {
  const auto dir = folder_with("unknown_key", kFp32);
  EXPECT_TRUE(throws_error(
      [&] {
        locate_onnx_files(dir, {{"lm_head", "fp32"}});
      },
      ErrorKind::InvalidArgument, {"'lm_head'", "vision, embed or decoder"}));
  EXPECT_TRUE(throws_error(
      [&] {
        locate_onnx_files(dir, {{"decoder", "fp32"}, {"decoder_model_merged", "q4"}});
      },
      ErrorKind::InvalidArgument, {"given twice"}));
}

TEST(OnnxModelFiles, ListsTheVariantsPresentInPublishedOrder) {
  const auto dir = folder_with("listing", {"embed_tokens_q4.onnx", "embed_tokens.onnx",
                                           "embed_tokens_bnb4.onnx", "embed_tokens_fp16.onnx"});
  EXPECT_EQ(variants_present(dir / "onnx", Graph::Embed),
            (std::vector<std::string>{"fp32", "fp16", "q4", "bnb4"}));
}

}  // namespace
}  // namespace vlmrt::onnx
#else
#include <gtest/gtest.h>
TEST(OnnxBackend, NotBuilt) {
  GTEST_SKIP() << "ONNX Runtime is not installed (scripts/setup)";
}
#endif
