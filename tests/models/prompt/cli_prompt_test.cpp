// `vlmrt prompt` end to end: SmolVLM with the shared model folder, PaliGemma with a fixture
// config and a tiny tokenizer.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "test_support.hpp"
#include "tokenizer/jinja/value.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;
using Json = jinja::Json;

// A binary PPM of the given size (load_image reads PPM).
fs::path write_ppm(const fs::path& dir, int width, int height) {
  const fs::path path =
      dir / ("image_" + std::to_string(width) + "x" + std::to_string(height) + ".ppm");
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << width << " " << height << "\n255\n";
  const std::string pixels(static_cast<std::size_t>(width) * height * 3, '\x40');
  out.write(pixels.data(), static_cast<std::streamsize>(pixels.size()));
  return path;
}

Json run_json(const std::string& args) {
  std::string output;
  const int status = testing::run_command(
      testing::shell_quote(testing::cli_path().string()) + " prompt " + args, &output);
  EXPECT_EQ(status, 0) << output;
  return status == 0 ? Json::parse(output) : Json();
}

TEST(CliPrompt, HelpExplainsEveryOptionWithAnExample) {
  std::string output;
  ASSERT_EQ(testing::run_command(
                testing::shell_quote(testing::cli_path().string()) + " prompt --help", &output),
            0);
  for (const char* needle : {"--model", "--prompt", "--image", "--system", "--json", "Example"})
    EXPECT_NE(output.find(needle), std::string::npos) << needle;
}

TEST(CliPrompt, SmolVlmPromptExpands640x480To3x4TilesAndTokenizes) {
  const fs::path model = testing::shared_data_dir() / "SmolVLM-256M-Instruct";
  if (!fs::exists(model / "tokenizer.json"))
    GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent";
  const fs::path image = write_ppm(testing::scratch_dir("cli_prompt_smolvlm"), 640, 480);
  const Json out = run_json("--model " + testing::shell_quote(model.string()) + " --image " +
                            testing::shell_quote(image.string()) +
                            " --prompt 'Can you describe this image?' --json");
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["chat_prompt"],
            "<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\nAssistant:");
  EXPECT_EQ(out["images"][0]["rows"], 3);
  EXPECT_EQ(out["images"][0]["cols"], 4);
  EXPECT_EQ(out["images"][0]["image_tokens"], 832);
  const auto ids = out["ids"].get<std::vector<int>>();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 49190), 832);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1116), 1);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(out["num_tokens"], ids.size());
}

TEST(CliPrompt, SmolVlmSystemMessageComesFirst) {
  const fs::path model = testing::shared_data_dir() / "SmolVLM-256M-Instruct";
  if (!fs::exists(model / "tokenizer.json"))
    GTEST_SKIP() << "shared SmolVLM-256M-Instruct data is absent";
  const Json out = run_json("--model " + testing::shell_quote(model.string()) +
                            " --system 'Be brief.' --prompt Hi --json");
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(
      out["prompt"],
      "<|im_start|>System: Be brief.<end_of_utterance>\nUser: Hi<end_of_utterance>\nAssistant:");
}

TEST(CliPrompt, PaliGemmaCaptionPrompt) {
  const fs::path dir = testing::scratch_dir("cli_prompt_paligemma");
  const fs::path fixture = testing::sample_model("paligemma-3b-pt-224");
  fs::copy_file(fixture / "config.json", dir / "config.json");
  fs::copy_file(fixture / "preprocessor_config.json", dir / "preprocessor_config.json");
  std::ofstream(dir / "tokenizer.json")
      << R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 2, "content": "<bos>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 257152, "content": "<image>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
    "model": {"type": "BPE", "vocab": {"<bos>": 2, "c": 3, "a": 4, "p": 5, "t": 6, "i": 7, "o": 8, "n": 9, " ": 10, "e": 11, "\n": 108},
              "merges": []}})";
  const fs::path image = write_ppm(dir, 32, 24);
  const Json out = run_json("--model " + testing::shell_quote(dir.string()) + " --image " +
                            testing::shell_quote(image.string()) + " --prompt 'caption en' --json");
  ASSERT_TRUE(out.is_object());
  std::vector<int> expected(256, 257152);
  for (int id : {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 9, 108}) expected.push_back(id);
  EXPECT_EQ(out["ids"].get<std::vector<int>>(), expected);
  EXPECT_EQ(out["images"][0]["image_tokens"], 256);

  std::string output;
  EXPECT_NE(
      testing::run_command(testing::shell_quote(testing::cli_path().string()) + " prompt --model " +
                               testing::shell_quote(dir.string()) + " --prompt x --system y",
                           &output),
      0);
  EXPECT_NE(output.find("PaliGemma has no chat template"), std::string::npos) << output;
}

}  // namespace
}  // namespace vlmrt
