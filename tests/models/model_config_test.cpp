#include "models/model_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace vlmrt {
namespace {

// The two real-layout configs live in samples/models/ (users start from them); the variants in
// tests/fixtures/configs/.
std::filesystem::path fixture(const std::string& name) {
  const auto sample = testing::sample_model(name);
  return std::filesystem::exists(sample) ? sample : testing::config_fixture(name);
}

ModelConfig load_fixture(const std::string& name) {
  return ModelConfig::load(fixture(name));
}

// Parses `text` as config.json content; the label "config.json" stands in for the path.
ModelConfig parse(const std::string& text) {
  return ModelConfig::from_json(json::parse(text, "config.json"), "config.json");
}

// Expects parsing to throw `kind` with every fragment in the message.
void expect_error(const json::Json& config, ErrorKind kind,
                  std::initializer_list<std::string> fragments) {
  try {
    ModelConfig::from_json(config, "config.json");
    FAIL() << "expected an error for " << config.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& fragment : fragments)
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

json::Json fixture_json(const std::string& name) {
  return json::read_file(fixture(name) / "config.json");
}

TEST(PaliGemmaConfig, ParsesPaliGemma3bWithClassDefaults) {
  const auto c = load_fixture("paligemma-3b-pt-224");
  EXPECT_EQ(c.family, ModelFamily::PaliGemma);
  EXPECT_EQ(c.dtype, DType::F32);
  EXPECT_EQ(c.dtype_field, "torch_dtype");
  EXPECT_EQ(c.vision.hidden_size, 1152);
  EXPECT_EQ(c.vision.intermediate_size, 4304);
  EXPECT_EQ(c.vision.num_hidden_layers, 27);
  EXPECT_EQ(c.vision.num_attention_heads, 16);
  EXPECT_EQ(c.vision.head_dim(), 72);
  EXPECT_EQ(c.vision.image_size, 224);  // omitted: SigLIP default
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_EQ(c.vision.num_patches(), 256);
  EXPECT_DOUBLE_EQ(c.vision.layer_norm_eps, 1e-6);
  EXPECT_EQ(c.text.architecture, TextArchitecture::Gemma);
  EXPECT_EQ(c.text.hidden_size, 2048);
  EXPECT_EQ(c.text.intermediate_size, 16384);
  EXPECT_EQ(c.text.num_hidden_layers, 18);
  EXPECT_EQ(c.text.num_attention_heads, 8);
  EXPECT_EQ(c.text.num_key_value_heads, 1);
  EXPECT_EQ(c.text.head_dim, 256);
  EXPECT_EQ(c.text.vocab_size, 257216);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.text.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.text.max_position_embeddings, 8192);
  EXPECT_EQ(c.text.hidden_act, "gelu_pytorch_tanh");
  EXPECT_FALSE(c.text.query_pre_attn_scalar.has_value());
  EXPECT_EQ(c.image_token_id, 257152);  // from image_token_index
  EXPECT_EQ(c.image_seq_len, 256);
  EXPECT_EQ(c.projection_dim, 2048);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 2);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{1});
  EXPECT_EQ(c.pad_token_id, 0);
}

TEST(PaliGemmaConfig, ParsesPaliGemma2SoftcapsAndIgnoresStaleHiddenSize) {
  const auto c = load_fixture("paligemma2-3b-pt-224");
  EXPECT_EQ(c.family, ModelFamily::PaliGemma2);
  EXPECT_EQ(c.dtype, DType::BF16);
  EXPECT_EQ(c.text.architecture, TextArchitecture::Gemma2);
  EXPECT_EQ(c.text.hidden_size, 2304);  // top-level hidden_size says 2048
  EXPECT_EQ(c.text.intermediate_size, 9216);
  EXPECT_EQ(c.text.num_hidden_layers, 26);
  EXPECT_EQ(c.text.num_key_value_heads, 4);
  EXPECT_EQ(c.text.head_dim, 256);
  EXPECT_EQ(c.text.query_pre_attn_scalar, 256.0);
  EXPECT_EQ(c.text.attn_logit_softcapping, 50.0);
  EXPECT_EQ(c.text.final_logit_softcapping, 30.0);
  EXPECT_EQ(c.text.sliding_window, 4096);
  EXPECT_EQ(c.projection_dim, 2304);
  EXPECT_EQ(c.image_seq_len, 256);
  ASSERT_FALSE(c.notes.empty());
  EXPECT_NE(c.notes.front().find("stale top-level hidden_size 2048"), std::string::npos)
      << c.notes.front();
}

TEST(PaliGemmaConfig, Gemma2NullSoftcapSwitchesItOff) {
  const auto c = load_fixture("tiny-paligemma2");
  EXPECT_EQ(c.text.attn_logit_softcapping, 50.0);
  EXPECT_FALSE(c.text.final_logit_softcapping.has_value());
  EXPECT_EQ(c.text.sliding_window, 16);
}

TEST(SmolVlmConfig, ParsesSmolVlm256MDespiteJunkTextKeys) {
  const auto c = load_fixture("SmolVLM-256M-Instruct");
  EXPECT_EQ(c.family, ModelFamily::Idefics3);
  EXPECT_EQ(c.dtype, DType::BF16);
  EXPECT_EQ(c.vision.model_type, "idefics3");
  EXPECT_EQ(c.vision.hidden_size, 768);
  EXPECT_EQ(c.vision.num_attention_heads, 12);
  EXPECT_EQ(c.vision.image_size, 512);
  EXPECT_EQ(c.vision.patch_size, 16);
  EXPECT_EQ(c.vision.patches_per_side(), 32);
  EXPECT_EQ(c.text.architecture, TextArchitecture::Llama);
  EXPECT_EQ(c.text.hidden_size, 576);
  EXPECT_EQ(c.text.intermediate_size, 1536);
  EXPECT_EQ(c.text.num_hidden_layers, 30);
  EXPECT_EQ(c.text.num_attention_heads, 9);
  EXPECT_EQ(c.text.num_key_value_heads, 3);
  EXPECT_EQ(c.text.head_dim, 64);
  EXPECT_EQ(c.text.vocab_size, 49280);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 100000.0);
  EXPECT_DOUBLE_EQ(c.text.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.text.hidden_act, "silu");
  EXPECT_EQ(c.scale_factor, 4);
  EXPECT_EQ(c.image_seq_len, 64);
  EXPECT_EQ(c.connector_input_dim(), 12288);
  EXPECT_EQ(c.image_token_id, 49190);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{2});  // not the stop id (errata 9)
  EXPECT_EQ(c.pad_token_id, 2);
}

TEST(SmolVlmConfig, OmittedVisionFieldsTakeIdefics3ClassDefaults) {
  const auto c = load_fixture("SmolVLM-500M-Instruct");
  EXPECT_EQ(c.vision.model_type, "siglip_vision_model");
  EXPECT_EQ(c.vision.intermediate_size, 3072);
  EXPECT_EQ(c.vision.num_hidden_layers, 12);
  EXPECT_EQ(c.vision.num_channels, 3);
  EXPECT_DOUBLE_EQ(c.vision.layer_norm_eps, 1e-6);
  EXPECT_EQ(c.vision.hidden_act, "gelu_pytorch_tanh");
  EXPECT_EQ(c.text.hidden_size, 960);
  EXPECT_EQ(c.text.num_hidden_layers, 32);
  EXPECT_EQ(c.text.num_attention_heads, 15);
  EXPECT_EQ(c.text.num_key_value_heads, 5);
  EXPECT_EQ(c.image_seq_len, 64);
}

TEST(SmolVlmConfig, Idefics3VisionDefaultsWhenEveryFieldIsOmitted) {
  auto config = fixture_json("tiny-smolvlm");
  config["vision_config"] = json::Json::object();
  config["scale_factor"] = 1;
  const auto c = ModelConfig::from_json(config, "config.json");
  EXPECT_EQ(c.vision.hidden_size, 1152);
  EXPECT_EQ(c.vision.intermediate_size, 3072);
  EXPECT_EQ(c.vision.num_hidden_layers, 12);
  EXPECT_EQ(c.vision.num_attention_heads, 16);
  EXPECT_EQ(c.vision.image_size, 224);
  EXPECT_EQ(c.vision.patch_size, 32);
  EXPECT_EQ(c.image_seq_len, 49);
}

TEST(SmolVlmConfig, ParsesSmolVlm2AndIgnoresStaleTopLevelPad) {
  const auto c = load_fixture("SmolVLM2-256M-Video-Instruct");
  EXPECT_EQ(c.family, ModelFamily::SmolVlm);
  EXPECT_EQ(c.vision.model_type, "smolvlm_vision");
  EXPECT_EQ(c.text.hidden_size, 576);
  EXPECT_EQ(c.pad_token_id, 2);  // text_config's, not the stale 128002
  bool noted = false;
  for (const auto& note : c.notes) noted |= note.find("128002") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(SmolVlmConfig, ParsesSmolVlm2_2BWithFlooredPatchGrid) {
  const auto c = load_fixture("SmolVLM2-2.2B-Instruct");
  EXPECT_EQ(c.vision.hidden_size, 1152);
  EXPECT_EQ(c.vision.intermediate_size, 4304);
  EXPECT_EQ(c.vision.num_hidden_layers, 27);
  EXPECT_EQ(c.vision.patches_per_side(), 27);  // 384 / 14, last 6 px ignored
  EXPECT_EQ(c.scale_factor, 3);
  EXPECT_EQ(c.image_seq_len, 81);
  EXPECT_EQ(c.connector_input_dim(), 10368);
  EXPECT_EQ(c.text.hidden_size, 2048);
  EXPECT_EQ(c.text.num_hidden_layers, 24);
  EXPECT_EQ(c.text.num_attention_heads, 32);
  EXPECT_EQ(c.text.num_key_value_heads, 32);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 273768.0);
  EXPECT_EQ(c.text.max_position_embeddings, 16384);
}

TEST(SmolVlmConfig, AcceptsTransformersV5DtypeAndRopeParameters) {
  const auto c = load_fixture("SmolVLM2-500M-Video-Instruct-v5");
  EXPECT_EQ(c.dtype, DType::F32);
  EXPECT_EQ(c.dtype_field, "dtype");
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 100000.0);
  EXPECT_EQ(c.text.rope_theta_field, "text_config.rope_parameters.rope_theta");
  EXPECT_EQ(c.text.hidden_size, 960);
}

TEST(ModelConfigErrors, MissingRequiredFieldNamesFileAndField) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"].erase("num_hidden_layers");
  expect_error(config, ErrorKind::Format,
               {"config.json", "text_config.num_hidden_layers", "missing"});
}

TEST(ModelConfigErrors, WrongTypeNamesFileAndField) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"]["hidden_size"] = "576";
  expect_error(config, ErrorKind::Format, {"config.json", "text_config.hidden_size", "integer"});
}

TEST(ModelConfigErrors, TextHiddenNotDivisibleByHeads) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"]["hidden_size"] = 577;
  expect_error(config, ErrorKind::Format,
               {"config.json", "text_config.hidden_size", "(577)", "num_attention_heads"});
}

TEST(ModelConfigErrors, VisionHiddenNotDivisibleByHeads) {
  auto config = fixture_json("paligemma-3b-pt-224");
  config["vision_config"]["num_attention_heads"] = 7;
  expect_error(config, ErrorKind::Format,
               {"vision_config.hidden_size", "vision_config.num_attention_heads"});
}

TEST(ModelConfigErrors, KvHeadsMustDivideHeads) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"]["num_key_value_heads"] = 4;
  expect_error(config, ErrorKind::Format,
               {"text_config.num_attention_heads", "text_config.num_key_value_heads"});
}

TEST(ModelConfigErrors, PaliGemmaPatchMustDivideImageSize) {
  auto config = fixture_json("paligemma-3b-pt-224");
  config["vision_config"]["image_size"] = 225;
  expect_error(config, ErrorKind::Format, {"vision_config.image_size", "vision_config.patch_size"});
}

TEST(ModelConfigErrors, ScaleFactorMustDividePatchesPerSide) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["scale_factor"] = 5;
  expect_error(config, ErrorKind::Format, {"config.json", "scale_factor", "32"});
}

TEST(ModelConfigErrors, RejectsNonPositiveAndAbsurdSizes) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"]["num_hidden_layers"] = 0;
  expect_error(config, ErrorKind::Format, {"text_config.num_hidden_layers", "positive"});
  config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"]["vocab_size"] = 1ll << 40;
  expect_error(config, ErrorKind::Format, {"text_config.vocab_size"});
}

TEST(ModelConfigErrors, UnknownModelTypeIsUnsupported) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["model_type"] = "llava";
  expect_error(config, ErrorKind::Unsupported, {"config.json", "llava"});
}

TEST(ModelConfigErrors, UnknownVisionModelTypeIsUnsupported) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["vision_config"]["model_type"] = "clip_vision_model";
  expect_error(config, ErrorKind::Unsupported, {"vision_config.model_type", "clip_vision_model"});
}

TEST(ModelConfigErrors, MissingImageTokenIdAndProjectionMismatch) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config.erase("image_token_id");
  expect_error(config, ErrorKind::Format, {"image_token_id", "missing"});
  config = fixture_json("paligemma2-3b-pt-224");
  config["projection_dim"] = 2048;
  expect_error(config, ErrorKind::Format, {"projection_dim", "text_config.hidden_size", "2304"});
}

TEST(ModelConfigErrors, ScaledRopeIsUnsupported) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["text_config"]["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  expect_error(config, ErrorKind::Unsupported, {"rope_scaling", "llama3"});
}

TEST(ModelConfigErrors, UnknownDtypeNamesField) {
  auto config = fixture_json("SmolVLM-256M-Instruct");
  config["torch_dtype"] = "int8";
  expect_error(config, ErrorKind::Format, {"torch_dtype", "int8"});
}

TEST(ModelConfigErrors, MissingVisionConfig) {
  auto config = fixture_json("paligemma-3b-pt-224");
  config.erase("vision_config");
  expect_error(config, ErrorKind::Format, {"vision_config", "missing"});
}

TEST(ModelConfigErrors, LoadNamesThePathOfAMissingFile) {
  try {
    ModelConfig::load(testing::source_dir() / "no-such-folder");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
  }
}

TEST(ModelConfigParse, EosMayBeAListAndDtypeFallsBackToFloat32) {
  const auto c = parse(R"({"model_type": "idefics3", "image_token_id": 5, "scale_factor": 1,
    "vision_config": {"hidden_size": 8, "num_attention_heads": 2, "image_size": 16, "patch_size": 8},
    "text_config": {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
                    "num_attention_heads": 2, "vocab_size": 10, "eos_token_id": [2, 3]}})");
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(c.dtype, DType::F32);
  EXPECT_TRUE(c.dtype_field.empty());
  EXPECT_EQ(c.text.num_key_value_heads, 2);  // Llama default: = heads
  EXPECT_EQ(c.text.head_dim, 4);             // hidden / heads
  EXPECT_EQ(c.image_seq_len, 4);
}

}  // namespace
}  // namespace vlmrt
