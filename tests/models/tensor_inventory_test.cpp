#include "models/tensor_inventory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "test_support.hpp"
#include "tiny_checkpoint.hpp"

namespace vlmrt {
namespace {

using testing::make_model_folder;
using testing::TinyCheckpointOptions;

InventoryReport check_folder(const std::filesystem::path& dir) {
  return check_inventory(ModelConfig::load(dir), Checkpoint::open(dir));
}

const ExpectedTensor* find_expected(const std::vector<ExpectedTensor>& tensors,
                                    const std::string& name) {
  const auto it =
      std::find_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.name == name; });
  return it == tensors.end() ? nullptr : &*it;
}

TEST(ExpectedTensors, SmolVlm256MHas471TensorsWithSpecShapes) {
  const auto config = ModelConfig::load(testing::sample_model("SmolVLM-256M-Instruct"));
  const auto tensors = expected_tensors(config);
  EXPECT_EQ(tensors.size(), 471u);  // MODELS.md §2.2
  const auto* k = find_expected(tensors, "model.text_model.layers.0.self_attn.k_proj.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->shape, (std::vector<std::int64_t>{192, 576}));
  const auto* proj = find_expected(tensors, "model.connector.modality_projection.proj.weight");
  ASSERT_NE(proj, nullptr);
  EXPECT_EQ(proj->shape, (std::vector<std::int64_t>{576, 12288}));
  const auto* pos =
      find_expected(tensors, "model.vision_model.embeddings.position_embedding.weight");
  ASSERT_NE(pos, nullptr);
  EXPECT_EQ(pos->shape, (std::vector<std::int64_t>{1024, 768}));
  const auto* head = find_expected(tensors, "lm_head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_FALSE(head->optional);  // untied: lm_head.weight must be present
}

TEST(ExpectedTensors, PaliGemma2ShapesFollowTheSpec) {
  const auto config = ModelConfig::load(testing::config_fixture("paligemma2-3b-pt-224"));
  const auto tensors = expected_tensors(config);
  auto shape_of = [&](const std::string& name) {
    const auto* t = find_expected(tensors, name);
    return t ? t->shape : std::vector<std::int64_t>{};
  };
  const std::string layer = "model.language_model.layers.0.";
  EXPECT_EQ(shape_of(layer + "self_attn.q_proj.weight"), (std::vector<std::int64_t>{2048, 2304}));
  EXPECT_EQ(shape_of(layer + "self_attn.k_proj.weight"), (std::vector<std::int64_t>{1024, 2304}));
  EXPECT_EQ(shape_of(layer + "self_attn.o_proj.weight"), (std::vector<std::int64_t>{2304, 2048}));
  EXPECT_EQ(shape_of(layer + "mlp.down_proj.weight"), (std::vector<std::int64_t>{2304, 9216}));
  EXPECT_EQ(shape_of(layer + "pre_feedforward_layernorm.weight"),
            (std::vector<std::int64_t>{2304}));
  EXPECT_EQ(shape_of("model.multi_modal_projector.linear.weight"),
            (std::vector<std::int64_t>{2304, 1152}));
  EXPECT_EQ(shape_of("model.vision_tower.vision_model.embeddings.patch_embedding.weight"),
            (std::vector<std::int64_t>{1152, 3, 14, 14}));
  EXPECT_EQ(shape_of("model.language_model.embed_tokens.weight"),
            (std::vector<std::int64_t>{257216, 2304}));
  const auto* head = find_expected(tensors, "lm_head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_TRUE(head->optional);  // tied
}

TEST(TensorNames, MapsLegacyPaliGemmaPrefixesBothWays) {
  const std::pair<const char*, const char*> cases[] = {
      {"language_model.model.layers.0.mlp.up_proj.weight",
       "model.language_model.layers.0.mlp.up_proj.weight"},
      {"vision_tower.vision_model.post_layernorm.bias",
       "model.vision_tower.vision_model.post_layernorm.bias"},
      {"multi_modal_projector.linear.weight", "model.multi_modal_projector.linear.weight"},
      {"language_model.lm_head.weight", "lm_head.weight"},
  };
  for (const auto& [legacy, current] : cases) {
    EXPECT_EQ(canonical_tensor_name(ModelFamily::PaliGemma, legacy), current);
    EXPECT_EQ(canonical_tensor_name(ModelFamily::PaliGemma2, current), current);
    EXPECT_EQ(legacy_tensor_name(ModelFamily::PaliGemma, current), legacy);
  }
  // Idefics3 names never change.
  EXPECT_EQ(canonical_tensor_name(ModelFamily::Idefics3, "vision_tower.x"), "vision_tower.x");
}

TEST(TensorNames, IgnoresRotaryAndPositionIdBuffers) {
  EXPECT_TRUE(is_ignored_buffer("model.text_model.layers.0.self_attn.rotary_emb.inv_freq"));
  EXPECT_TRUE(is_ignored_buffer("vision_tower.vision_model.embeddings.position_ids"));
  EXPECT_FALSE(is_ignored_buffer("model.vision_model.embeddings.position_embedding.weight"));
}

TEST(Inventory, ExactSmolVlmCheckpointHasNoProblems) {
  const auto dir = make_model_folder("tiny-smolvlm", "inv-smol-exact", {.dtype = DType::BF16});
  const auto report = check_folder(dir);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.matched_count, report.expected_count);
  EXPECT_FALSE(report.lm_head_tied);
  ASSERT_EQ(report.dtypes.size(), 1u);
  EXPECT_EQ(report.dtypes[0].dtype, DType::BF16);
  EXPECT_FALSE(report.mixed_dtypes());
}

TEST(Inventory, ReportsAMissingTensor) {
  const std::string name = "model.text_model.layers.1.mlp.down_proj.weight";
  const auto report =
      check_folder(make_model_folder("tiny-smolvlm", "inv-smol-missing", {.drop = name}));
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.missing, std::vector<std::string>{name});
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(report.wrong_shape.empty());
}

TEST(Inventory, UntiedLmHeadIsRequired) {
  const auto report = check_folder(
      make_model_folder("tiny-smolvlm", "inv-smol-nohead", {.drop = "lm_head.weight"}));
  EXPECT_EQ(report.missing, std::vector<std::string>{"lm_head.weight"});
}

TEST(Inventory, ReportsAnUnexpectedTensor) {
  const auto report = check_folder(make_model_folder("tiny-smolvlm", "inv-smol-extra",
                                                     {.extra = "model.text_model.extra.weight"}));
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"model.text_model.extra.weight"});
  EXPECT_TRUE(report.missing.empty());
}

TEST(Inventory, ReportsAWrongShapeWithBothShapes) {
  const std::string name = "model.connector.modality_projection.proj.weight";
  const auto report =
      check_folder(make_model_folder("tiny-smolvlm", "inv-smol-shape", {.reshape = name}));
  ASSERT_EQ(report.wrong_shape.size(), 1u);
  EXPECT_EQ(report.wrong_shape[0].name, name);
  EXPECT_EQ(report.wrong_shape[0].expected, (std::vector<std::int64_t>{64, 128}));
  EXPECT_EQ(report.wrong_shape[0].found, (std::vector<std::int64_t>{65, 128}));
  const auto message = report.wrong_shape[0].message();
  EXPECT_NE(message.find("[65, 128]"), std::string::npos) << message;
  EXPECT_NE(message.find("config says [64, 128]"), std::string::npos) << message;
  EXPECT_NE(message.find(name), std::string::npos) << message;
}

TEST(Inventory, IgnoresBuffersWithoutReportingThem) {
  const auto report = check_folder(
      make_model_folder("tiny-smolvlm", "inv-smol-buffer",
                        {.buffer = "model.text_model.layers.0.self_attn.rotary_emb.inv_freq"}));
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.ignored.size(), 1u);
}

TEST(Inventory, AcceptsLegacyPaliGemmaNames) {
  const auto report =
      check_folder(make_model_folder("tiny-paligemma", "inv-pg-legacy", {.legacy_names = true}));
  EXPECT_TRUE(report.ok()) << (report.unexpected.empty() ? "" : report.unexpected.front());
  EXPECT_EQ(report.naming, TensorNaming::Legacy);
  EXPECT_TRUE(report.lm_head_tied);
}

TEST(Inventory, AcceptsCurrentPaliGemmaNames) {
  const auto report = check_folder(make_model_folder("tiny-paligemma", "inv-pg-current"));
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.naming, TensorNaming::Canonical);
  EXPECT_TRUE(report.lm_head_tied);
}

TEST(Inventory, AcceptsAPresentTiedLmHead) {
  const auto report = check_folder(make_model_folder(
      "tiny-paligemma", "inv-pg-head", {.legacy_names = true, .write_tied_lm_head = true}));
  EXPECT_TRUE(report.ok());
  EXPECT_FALSE(report.lm_head_tied);
}

TEST(Inventory, LegacyMissingNamesAreSpelledLegacy) {
  const auto report = check_folder(make_model_folder(
      "tiny-paligemma", "inv-pg-legacy-missing",
      {.legacy_names = true, .drop = "model.language_model.layers.0.self_attn.q_proj.weight"}));
  EXPECT_EQ(report.missing,
            std::vector<std::string>{"language_model.model.layers.0.self_attn.q_proj.weight"});
}

TEST(Inventory, ReportsATensorPresentUnderBothSpellings) {
  const auto report = check_folder(make_model_folder(
      "tiny-paligemma", "inv-pg-both", {.extra = "multi_modal_projector.linear.bias"}));
  // The extra is [4] f32 under the legacy name of a tensor also present under the current name.
  EXPECT_EQ(report.naming, TensorNaming::Mixed);
  EXPECT_FALSE(report.ok());
}

TEST(Inventory, PaliGemma2ExpectsFeedforwardNorms) {
  const auto report = check_folder(make_model_folder(
      "tiny-paligemma2", "inv-pg2-norm",
      {.drop = "model.language_model.layers.1.post_feedforward_layernorm.weight"}));
  EXPECT_EQ(report.missing, std::vector<std::string>{
                                "model.language_model.layers.1.post_feedforward_layernorm.weight"});
}

TEST(Inventory, ReadsShardedCheckpoints) {
  const auto dir = make_model_folder("tiny-smolvlm", "inv-smol-sharded", {.shards = 3});
  EXPECT_TRUE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  const auto checkpoint = Checkpoint::open(dir);
  EXPECT_EQ(checkpoint.shards().size(), 3u);
  const auto report = check_inventory(ModelConfig::load(dir), checkpoint);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.matched_count, report.expected_count);
}

TEST(Inventory, CountsDtypeMix) {
  auto config = ModelConfig::load(testing::config_fixture("tiny-smolvlm"));
  std::vector<TensorInfo> tensors;
  for (const auto& t : expected_tensors(config)) {
    TensorInfo info;
    info.name = t.name;
    info.shape = t.shape;
    info.dtype = t.name.find("norm") != std::string::npos ? DType::F32 : DType::BF16;
    tensors.push_back(info);
  }
  const auto report = check_inventory(config, tensors);
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report.mixed_dtypes());
  ASSERT_EQ(report.dtypes.size(), 2u);
  EXPECT_EQ(report.dtypes[0].dtype, DType::BF16);  // most tensors first
}

}  // namespace
}  // namespace vlmrt
