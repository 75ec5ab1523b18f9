#include "models/model_folder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "test_support.hpp"
#include "tiny_checkpoint.hpp"

namespace vlmrt {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void expect_message(const std::function<void()>& action, ErrorKind kind,
                    std::initializer_list<std::string> fragments) {
  try {
    action();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& fragment : fragments)
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(RealSmolVlmFolder, ReadsConfigGenerationAndChatTemplate) {
  const auto dir = testing::shared_data_dir() / "SmolVLM-256M-Instruct";
  if (!std::filesystem::exists(dir / "config.json"))
    GTEST_SKIP() << "real SmolVLM-256M-Instruct configs not found at " << dir;
  const auto folder = ModelFolder::inspect(dir);
  EXPECT_EQ(folder.config.family, ModelFamily::Idefics3);
  EXPECT_EQ(folder.config.text.hidden_size, 576);
  EXPECT_EQ(folder.config.text.num_hidden_layers, 30);
  EXPECT_EQ(folder.config.text.head_dim, 64);
  EXPECT_EQ(folder.config.image_seq_len, 64);
  EXPECT_EQ(folder.config.text.vocab_size, 49280);
  EXPECT_DOUBLE_EQ(folder.config.text.rope_theta, 100000.0);
  ASSERT_TRUE(folder.generation.has_value());
  EXPECT_EQ(folder.generation->eos_token_ids, std::vector<std::int64_t>{49279});
  EXPECT_EQ(folder.stop_token_ids(), std::vector<std::int64_t>{49279});  // not text_config's 2
  EXPECT_EQ(folder.stop_token_source(), "generation_config.json");
  EXPECT_EQ(folder.tokenizer.chat_template_source, ChatTemplateSource::JsonFile);
  EXPECT_NE(folder.tokenizer.chat_template.find("<end_of_utterance>"), std::string::npos);
  EXPECT_EQ(folder.tokenizer.eos_token, "<end_of_utterance>");
  EXPECT_EQ(folder.tokenizer.bos_token, "<|im_start|>");
  EXPECT_FALSE(folder.has_weights());
  EXPECT_TRUE(contains(folder.missing_files, "model.safetensors"));
  EXPECT_TRUE(contains(folder.present_files, "tokenizer.json"));
}

TEST(ModelFolder, ListsPresentAndMissingFiles) {
  const auto folder = ModelFolder::inspect(testing::config_fixture("SmolVLM-500M-Instruct"));
  EXPECT_TRUE(contains(folder.present_files, "config.json"));
  EXPECT_TRUE(contains(folder.present_files, "generation_config.json"));
  EXPECT_TRUE(contains(folder.missing_files, "tokenizer.json"));
  EXPECT_TRUE(contains(folder.missing_files, "chat_template.json"));
  EXPECT_TRUE(contains(folder.missing_files, "model.safetensors"));
  EXPECT_EQ(folder.tokenizer.chat_template_source, ChatTemplateSource::None);
}

TEST(ModelFolder, PaliGemmaDoesNotExpectAChatTemplate) {
  const auto folder = ModelFolder::inspect(testing::sample_model("paligemma-3b-pt-224"));
  EXPECT_FALSE(contains(folder.missing_files, "chat_template.json"));
  EXPECT_EQ(folder.stop_token_ids(), std::vector<std::int64_t>{1});
  EXPECT_EQ(folder.tokenizer.add_bos_token, true);
  EXPECT_EQ(folder.tokenizer.add_eos_token, false);
  EXPECT_EQ(folder.tokenizer.pad_token, "<pad>");
}

TEST(ModelFolder, FindsChatTemplateJinjaFile) {
  const auto folder = ModelFolder::inspect(testing::config_fixture("SmolVLM2-256M-Video-Instruct"));
  EXPECT_EQ(folder.tokenizer.chat_template_source, ChatTemplateSource::JinjaFile);
  EXPECT_TRUE(contains(folder.present_files, "chat_template.jinja"));
  EXPECT_NE(folder.tokenizer.chat_template.find("Assistant:"), std::string::npos);
}

TEST(ModelFolder, ListsShardedWeightFiles) {
  const auto dir = testing::make_model_folder("tiny-smolvlm", "folder-sharded", {.shards = 2});
  const auto folder = ModelFolder::inspect(dir);
  EXPECT_TRUE(folder.has_weights());
  EXPECT_EQ(folder.weight_files.size(), 3u);
  EXPECT_TRUE(contains(folder.present_files, "model.safetensors.index.json"));
  EXPECT_FALSE(contains(folder.missing_files, "model.safetensors"));
}

TEST(ModelFolder, MissingConfigIsNotFound) {
  const auto dir = testing::scratch_dir("folder-empty");
  expect_message([&] { ModelFolder::inspect(dir); }, ErrorKind::NotFound, {"config.json"});
  expect_message([&] { ModelFolder::inspect(dir / "absent"); }, ErrorKind::NotFound, {"absent"});
}

TEST(ModelFolder, MalformedGenerationConfigNamesFileAndField) {
  const auto dir = testing::copy_fixture("tiny-smolvlm", "folder-bad-generation");
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": "49279"})";
  expect_message([&] { ModelFolder::inspect(dir); }, ErrorKind::Format,
                 {"generation_config.json", "eos_token_id"});
}

TEST(GenerationConfig, ParsesEveryOptionalField) {
  const auto g = GenerationConfig::from_json(
      json::parse(
          R"({"bos_token_id": 0, "eos_token_id": [49279, 2], "pad_token_id": 2, "max_length": 20,
        "max_new_tokens": 64, "do_sample": true, "temperature": 0.7, "top_k": 50, "top_p": 0.9,
        "repetition_penalty": 1.1})",
          "generation_config.json"),
      "generation_config.json");
  EXPECT_EQ(g.bos_token_id, 0);
  EXPECT_EQ(g.eos_token_ids, (std::vector<std::int64_t>{49279, 2}));
  EXPECT_EQ(g.pad_token_id, 2);
  EXPECT_EQ(g.max_length, 20);
  EXPECT_EQ(g.max_new_tokens, 64);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_DOUBLE_EQ(*g.temperature, 0.7);
  EXPECT_EQ(g.top_k, 50);
  EXPECT_DOUBLE_EQ(*g.top_p, 0.9);
  EXPECT_DOUBLE_EQ(*g.repetition_penalty, 1.1);
}

TEST(GenerationConfig, EmptyObjectLeavesEverythingUnset) {
  const auto g = GenerationConfig::from_json(json::Json::object(), "generation_config.json");
  EXPECT_TRUE(g.eos_token_ids.empty());
  EXPECT_FALSE(g.max_length || g.max_new_tokens || g.do_sample || g.temperature || g.top_k ||
               g.top_p || g.repetition_penalty || g.bos_token_id || g.pad_token_id);
}

TEST(GenerationConfig, RejectsOutOfRangeValuesNamingTheField) {
  const auto parse = [](const char* text) {
    return GenerationConfig::from_json(json::parse(text, "g.json"), "generation_config.json");
  };
  expect_message([&] { parse(R"({"top_p": 1.5})"); }, ErrorKind::Format,
                 {"generation_config.json", "top_p"});
  expect_message([&] { parse(R"({"temperature": -1})"); }, ErrorKind::Format, {"temperature"});
  expect_message([&] { parse(R"({"do_sample": "yes"})"); }, ErrorKind::Format,
                 {"do_sample", "boolean"});
  expect_message([&] { parse(R"({"eos_token_id": [1, "x"]})"); }, ErrorKind::Format,
                 {"eos_token_id"});
}

TEST(TokenizerConfig, AcceptsTokenObjectsAndTemplateLists) {
  const auto t = TokenizerConfig::from_json(
      json::parse(R"({"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>",
        "pad_token": null, "add_bos_token": false,
        "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})",
                  "tokenizer_config.json"),
      "tokenizer_config.json");
  EXPECT_EQ(t.bos_token, "<s>");
  EXPECT_EQ(t.eos_token, "</s>");
  EXPECT_FALSE(t.pad_token.has_value());
  EXPECT_EQ(t.add_bos_token, false);
  EXPECT_EQ(t.chat_template, "D");
  EXPECT_EQ(t.chat_template_source, ChatTemplateSource::TokenizerConfig);
}

TEST(TokenizerConfig, RejectsMistypedTokenNamingTheField) {
  expect_message(
      [] {
        TokenizerConfig::from_json(json::parse(R"({"eos_token": 5})", "t"),
                                   "tokenizer_config.json");
      },
      ErrorKind::Format, {"tokenizer_config.json", "eos_token"});
}

TEST(TokenizerConfig, JinjaFileWinsOverJsonAndTokenizerConfig) {
  const auto dir = testing::scratch_dir("tokenizer-precedence");
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "from tokenizer_config"})";
  auto t = TokenizerConfig::load(dir);
  EXPECT_EQ(t.chat_template_source, ChatTemplateSource::TokenizerConfig);
  std::ofstream(dir / "chat_template.json") << R"({"chat_template": "from json"})";
  t = TokenizerConfig::load(dir);
  EXPECT_EQ(t.chat_template_source, ChatTemplateSource::JsonFile);
  EXPECT_EQ(t.chat_template, "from json");
  std::ofstream(dir / "chat_template.jinja") << "from jinja";
  t = TokenizerConfig::load(dir);
  EXPECT_EQ(t.chat_template_source, ChatTemplateSource::JinjaFile);
  EXPECT_EQ(t.chat_template, "from jinja");
}

}  // namespace
}  // namespace vlmrt
