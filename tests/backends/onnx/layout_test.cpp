// What DecoderGraphs reads from the exported graphs' metadata: cache dtype (float16 for the fp16
// variant), the attention_mask / position base per family, and num_logits_to_keep as an input
// with a default (so only the last position's logits come back).
#ifdef VLMRT_WITH_ONNXRUNTIME
#include <gtest/gtest.h>

#include "backends/onnx/decoder_graphs.hpp"
#include "backends/onnx/model_files.hpp"
#include "backends/onnx/providers.hpp"
#include "onnx_test_support.hpp"

namespace vlmrt::onnx {
namespace {

DecoderLayout layout_of(const std::string& fixture, const std::string& variant) {
  const ModelFolder folder = ModelFolder::inspect(testing::exports_dir() / fixture);
  const OnnxModelFiles files =
      locate_onnx_files(folder.dir, {{"decoder", variant}, {"embed", variant}});
  auto env = std::make_shared<Ort::Env>(ORT_LOGGING_LEVEL_ERROR, "layout_test");
  const SessionFactory factory(*env, testing::cpu_options());
  DecoderGraphs graphs(env, factory.open(files.at(Graph::Embed).path),
                       factory.open(files.at(Graph::Decoder).path), folder.config,
                       factory.cache_memory());
  return graphs.layout;
}

TEST(OnnxDecoderLayout, SmolVlmHasAMaskZeroBasedPositionsAndTrimmedLogits) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  const DecoderLayout layout = layout_of("tiny-smolvlm-fp32", "fp32");
  EXPECT_TRUE(layout.has_attention_mask);
  EXPECT_TRUE(layout.has_position_ids);
  EXPECT_EQ(layout.position_base, 0);
  EXPECT_TRUE(layout.has_logits_to_keep);
  EXPECT_TRUE(layout.logits_to_keep_shape.empty());  // a scalar
  EXPECT_EQ(layout.cache_type, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
  ASSERT_EQ(layout.cache.size(), 6u);  // 3 layers × key, value
  EXPECT_EQ(layout.cache[3].past, "past_key_values.1.value");
  EXPECT_EQ(layout.cache[3].present, "present.1.value");
  EXPECT_EQ(layout.kv_heads, 2u);
  EXPECT_EQ(layout.head_dim, 16u);
  EXPECT_EQ(layout.vocab_size, 444u);
  EXPECT_EQ(layout.image_token_id, 438);
}

TEST(OnnxDecoderLayout, Fp16VariantKeepsAFloat16CacheAndFloat32Embeddings) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  const DecoderLayout layout = layout_of("tiny-smolvlm-fp32", "fp16");
  EXPECT_EQ(layout.cache_type, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
  EXPECT_EQ(layout.embeds_type, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
}

TEST(OnnxDecoderLayout, PaligemmaHasNoMaskAndOneBasedPositions) {
  VLMRT_REQUIRE_ONNX_EXPORTS();
  const DecoderLayout layout = layout_of("tiny-paligemma2-fp32", "fp32");
  EXPECT_FALSE(layout.has_attention_mask);
  EXPECT_EQ(layout.position_base, 1);
  EXPECT_EQ(layout.vocab_size, 1536u);
  EXPECT_EQ(layout.kv_heads, 2u);
}

}  // namespace
}  // namespace vlmrt::onnx
#endif
