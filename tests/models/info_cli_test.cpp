// `vlmrt info` end to end: exit codes, key lines of the text output and the --json object.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "test_support.hpp"
#include "tiny_checkpoint.hpp"

namespace vlmrt {
namespace {

using testing::make_model_folder;

struct Run {
  int status = -1;
  std::string output;
};

Run info(const std::string& args, bool stdout_only = false) {
  Run run;
  const auto command = testing::shell_quote(testing::cli_path().string()) + " info " + args;
  run.status =
      testing::run_command(stdout_only ? "{ " + command + " 2>/dev/null; }" : command, &run.output);
  return run;
}

std::string quoted(const std::filesystem::path& path) {
  return testing::shell_quote(path.string());
}

void expect_contains(const std::string& text, const std::string& fragment) {
  EXPECT_NE(text.find(fragment), std::string::npos) << "missing '" << fragment << "' in:\n" << text;
}

TEST(InfoCli, ConfigOnlyFolderWorksAndSaysNoWeights) {
  const auto run = info(quoted(testing::sample_model("SmolVLM-256M-Instruct")));
  EXPECT_EQ(run.status, 0) << run.output;
  expect_contains(run.output, "Idefics3 (SmolVLM)");
  expect_contains(run.output, "no weights found");
  expect_contains(
      run.output,
      "hidden 576, intermediate 1536, layers 30, heads 9, kv heads 3, head_dim 64, vocab 49280");
  expect_contains(run.output, "rope theta 100000");
  expect_contains(run.output, "64 per tile");
  expect_contains(run.output, "5 to 17 tiles per image");
  expect_contains(run.output, "linear [576, 12288] without bias");
  expect_contains(run.output, "49279 (generation_config.json)");
  expect_contains(run.output, "chat_template.json");
}

TEST(InfoCli, PaliGemma2PrintsGemma2FieldsAndTheStaleHiddenSizeNote) {
  const auto run = info(quoted(testing::config_fixture("paligemma2-3b-pt-224")));
  EXPECT_EQ(run.status, 0) << run.output;
  expect_contains(run.output, "PaliGemma2");
  expect_contains(
      run.output,
      "query_pre_attn_scalar 256, attn softcap 50, final softcap 30, sliding window 4096");
  expect_contains(run.output, "256 per image");
  expect_contains(run.output, "stale top-level hidden_size 2048");
}

TEST(InfoCli, ConsistentCheckpointExitsZero) {
  const auto dir = make_model_folder("tiny-smolvlm", "cli-exact", {.dtype = DType::BF16});
  const auto run = info(quoted(dir));
  EXPECT_EQ(run.status, 0) << run.output;
  expect_contains(run.output, "inventory      OK");
  expect_contains(run.output, "BF16");
}

TEST(InfoCli, LegacyPaliGemmaCheckpointExitsZero) {
  const auto dir = make_model_folder("tiny-paligemma", "cli-pg-legacy", {.legacy_names = true});
  const auto run = info(quoted(dir));
  EXPECT_EQ(run.status, 0) << run.output;
  expect_contains(run.output, "legacy names");
  expect_contains(run.output, "lm_head tied to embed_tokens");
}

TEST(InfoCli, InventoryProblemsExitThreeAndAreListed) {
  const auto dir = make_model_folder("tiny-smolvlm", "cli-problems",
                                     {.drop = "model.text_model.norm.weight",
                                      .extra = "model.text_model.extra.weight",
                                      .reshape = "model.text_model.embed_tokens.weight"});
  const auto run = info(quoted(dir));
  EXPECT_EQ(run.status, 3) << run.output;
  expect_contains(run.output, "1 missing, 1 unexpected, 1 wrong shape");
  expect_contains(run.output, "model.text_model.norm.weight");
  expect_contains(run.output, "model.text_model.extra.weight");
  expect_contains(
      run.output,
      "tensor 'model.text_model.embed_tokens.weight' has shape [129, 64], config says [128, 64]");
}

TEST(InfoCli, JsonOutputParsesAndCarriesTheReport) {
  const auto dir =
      make_model_folder("tiny-smolvlm", "cli-json", {.drop = "lm_head.weight", .shards = 2});
  const auto run = info(quoted(dir) + " --json", true);
  EXPECT_EQ(run.status, 3) << run.output;
  const auto out = nlohmann::json::parse(run.output);
  EXPECT_EQ(out["family"], "Idefics3 (SmolVLM)");
  EXPECT_EQ(out["text"]["hidden_size"], 64);
  EXPECT_EQ(out["text"]["num_key_value_heads"], 2);
  EXPECT_EQ(out["image_tokens"]["per_tile"], 4);
  EXPECT_EQ(out["connector"]["weight_shape"], nlohmann::json::array({64, 128}));
  EXPECT_EQ(out["weights"]["found"], true);
  EXPECT_EQ(out["weights"]["files"].size(), 3u);
  EXPECT_GT(out["weights"]["parameter_count"].get<std::int64_t>(), 0);
  EXPECT_EQ(out["inventory"]["ok"], false);
  EXPECT_EQ(out["inventory"]["missing_count"], 1);
  EXPECT_EQ(out["inventory"]["missing"][0], "lm_head.weight");
  EXPECT_EQ(out["stop_ids"]["ids"], nlohmann::json::array({99}));
  EXPECT_EQ(out["exit_code"], 3);
}

TEST(InfoCli, JsonForConfigOnlyFolderHasNullInventory) {
  const auto run =
      info(quoted(testing::config_fixture("SmolVLM2-500M-Video-Instruct-v5")) + " --json", true);
  EXPECT_EQ(run.status, 0) << run.output;
  const auto out = nlohmann::json::parse(run.output);
  EXPECT_TRUE(out["inventory"].is_null());
  EXPECT_TRUE(out["weights"]["parameter_count"].is_null());
  EXPECT_EQ(out["dtype"]["name"], "float32");
  EXPECT_EQ(out["dtype"]["field"], "dtype");
  EXPECT_EQ(out["text"]["rope_theta"], 100000.0);
}

TEST(InfoCli, MaxNamesCutsTheLists) {
  // PaliGemma weights under a SmolVLM config: every expected tensor is missing.
  const auto dir = make_model_folder("tiny-paligemma", "cli-max-names");
  std::filesystem::copy_file(testing::config_fixture("tiny-smolvlm") / "config.json",
                             dir / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  auto run = info(quoted(dir) + " --max-names 2");
  EXPECT_EQ(run.status, 3) << run.output;
  expect_contains(run.output, "more)");
  run = info(quoted(dir) + " --max-names 0");
  EXPECT_EQ(run.output.find("more)"), std::string::npos) << run.output;
  expect_contains(run.output, "model.text_model.layers.1.mlp.down_proj.weight");
}

TEST(InfoCli, BadConfigExitsOneNamingTheField) {
  const auto dir = testing::copy_fixture("tiny-smolvlm", "cli-bad-config");
  std::ofstream(dir / "config.json")
      << R"({"model_type": "idefics3", "image_token_id": 1, "scale_factor": 2,
    "vision_config": {}, "text_config": {"hidden_size": "64"}})";
  const auto run = info(quoted(dir));
  EXPECT_EQ(run.status, 1) << run.output;
  expect_contains(run.output, "text_config.hidden_size");
  expect_contains(run.output, "config.json");
}

TEST(InfoCli, MissingFolderExitsOne) {
  const auto run = info(quoted(testing::source_dir() / "no-such-model"));
  EXPECT_EQ(run.status, 1) << run.output;
  expect_contains(run.output, "no-such-model");
}

TEST(InfoCli, HelpDocumentsOptionsExitCodesAndJsonKeys) {
  const auto run = info("--help");
  EXPECT_EQ(run.status, 0) << run.output;
  for (const char* fragment : {"--json", "--max-names", "DIR", "Example", "exit codes",
                               "3  the weights", "inventory", "parameter_count"})
    expect_contains(run.output, fragment);
}

TEST(InfoCli, UnknownOptionIsAUsageError) {
  const auto run = info("--bogus x");
  EXPECT_EQ(run.status, 2) << run.output;
}

}  // namespace
}  // namespace vlmrt
