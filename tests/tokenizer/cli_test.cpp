// `vlmrt tokenize` / `vlmrt detokenize` end to end, with SmolVLM's real tokenizer.json (shared
// data; skipped when absent) and gemma3's from third_party (for the <bos> template). The ids
// below are what Hugging Face's Rust tokenizers gives (scripts/tokenizer_oracle).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using vlmrt::testing::cli_path;
using vlmrt::testing::run_command;
using vlmrt::testing::shell_quote;

fs::path smolvlm_dir() {
  return vlmrt::testing::shared_data_dir() / "SmolVLM-256M-Instruct";
}
fs::path gemma3_file() {
  return vlmrt::testing::source_dir() / "third_party/tokenizers/gemma3/tokenizer.json";
}

std::string vlmrt_cmd(const std::string& args) {
  return shell_quote(cli_path().string()) + " " + args;
}

class TokenizeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(smolvlm_dir() / "tokenizer.json"))
      GTEST_SKIP() << smolvlm_dir() << " is absent (the shared data folder is not here)";
    tokenizer_ = shell_quote((smolvlm_dir() / "tokenizer.json").string());
  }
  std::string tokenizer_;
};

TEST_F(TokenizeCliTest, PrintsIdsAsJsonArray) {
  std::string out;
  ASSERT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer " + tokenizer_ + " 'Hello world'"), &out),
            0)
      << out;
  EXPECT_EQ(out, "[19556,905]\n");
}

TEST_F(TokenizeCliTest, AcceptsModelFolder) {
  std::string out;
  ASSERT_EQ(run_command(
                vlmrt_cmd("tokenize --tokenizer " + shell_quote(smolvlm_dir().string()) + " Hello"),
                &out),
            0)
      << out;
  EXPECT_EQ(out, "[19556]\n");
}

TEST_F(TokenizeCliTest, SpecialTokenTextBecomesOneId) {
  std::string out;
  ASSERT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer " + tokenizer_ +
                                  " \"$(printf '<|im_start|>user\\nHello<end_of_utterance>')\""),
                        &out),
            0)
      << out;
  EXPECT_EQ(out, "[1,4093,198,19556,49279]\n");
}

TEST_F(TokenizeCliTest, JsonlEncodesOneStringPerLine) {
  const fs::path input = vlmrt::testing::scratch_dir("tokenize_jsonl") / "in.jsonl";
  std::ofstream(input) << "\"Hello world\"\n\"Hello\\n\"\n\"h\\u00e9llo \\ud83d\\ude00\"\n\"\"\n";
  std::string out;
  ASSERT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer " + tokenizer_ + " --jsonl < " +
                                  shell_quote(input.string())),
                        &out),
            0)
      << out;
  EXPECT_EQ(out, "[19556,905]\n[19556,198]\n[88,2756,31394,40303,218]\n[]\n");
}

TEST_F(TokenizeCliTest, JsonlRejectsLineThatIsNotAString) {
  std::string out;
  EXPECT_EQ(run_command("printf '\"ok\"\\n[1,2]\\n' | " +
                            vlmrt_cmd("tokenize --tokenizer " + tokenizer_ + " --jsonl"),
                        &out),
            1);
  EXPECT_NE(out.find("stdin line 2"), std::string::npos) << out;
}

TEST_F(TokenizeCliTest, DetokenizePrintsText) {
  std::string out;
  ASSERT_EQ(run_command(vlmrt_cmd("detokenize --tokenizer " + tokenizer_ + " 19556 905"), &out), 0)
      << out;
  EXPECT_EQ(out, "Hello world\n");
}

TEST_F(TokenizeCliTest, DetokenizeAcceptsTokenizeOutputAndSkipsSpecial) {
  std::string out;
  ASSERT_EQ(run_command(vlmrt_cmd("detokenize --tokenizer " + tokenizer_ +
                                  " --skip-special --json '[1,4093,198,19556,49279]'"),
                        &out),
            0)
      << out;
  EXPECT_EQ(out, "\"user\\nHello\"\n");
  ASSERT_EQ(run_command(vlmrt_cmd("detokenize --tokenizer " + tokenizer_ +
                                  " --json 1,4093,198,19556,49279"),
                        &out),
            0)
      << out;
  EXPECT_EQ(out, "\"<|im_start|>user\\nHello<end_of_utterance>\"\n");
}

TEST_F(TokenizeCliTest, DetokenizeJsonlDecodesOneArrayPerLine) {
  std::string out;
  ASSERT_EQ(run_command("printf '[19556,905]\\n[]\\n[88,2756,31394,40303,218]\\n' | " +
                            vlmrt_cmd("detokenize --tokenizer " + tokenizer_ + " --jsonl"),
                        &out),
            0)
      << out;
  EXPECT_EQ(out, "\"Hello world\"\n\"\"\n\"héllo 😀\"\n");
}

TEST_F(TokenizeCliTest, DetokenizeRejectsIdThatIsNotANumber) {
  std::string out;
  EXPECT_EQ(run_command(vlmrt_cmd("detokenize --tokenizer " + tokenizer_ + " 12 abc"), &out), 1);
  EXPECT_NE(out.find("'abc'"), std::string::npos) << out;
}

TEST_F(TokenizeCliTest, RoundTripsThroughBothCommands) {
  std::string ids;
  ASSERT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer " + tokenizer_ +
                                  " 'Größe: 42 — 日本語 👍🏽'"),
                        &ids),
            0)
      << ids;
  ids.pop_back();  // newline
  std::string text;
  ASSERT_EQ(run_command(vlmrt_cmd("detokenize --tokenizer " + tokenizer_ + " " + shell_quote(ids)),
                        &text),
            0)
      << text;
  EXPECT_EQ(text, "Größe: 42 — 日本語 👍🏽\n");
}

TEST(TokenizeCli, AddsTemplateTokensUnlessNoSpecial) {
  if (!fs::exists(gemma3_file()))
    FAIL() << gemma3_file() << " is missing: run scripts/setup (it fetches the test tokenizers)";
  const std::string tokenizer = shell_quote(gemma3_file().string());
  std::string out;
  ASSERT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer " + tokenizer + " 'Hello world'"), &out), 0)
      << out;
  EXPECT_EQ(out, "[2,9259,1902]\n");
  ASSERT_EQ(
      run_command(vlmrt_cmd("tokenize --tokenizer " + tokenizer + " --no-special 'Hello world'"),
                  &out),
      0)
      << out;
  EXPECT_EQ(out, "[9259,1902]\n");
}

TEST(TokenizeCli, MissingTokenizerNamesThePath) {
  std::string out;
  EXPECT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer /nonexistent/folder/tok.json hi"), &out),
            1);
  EXPECT_NE(out.find("/nonexistent/folder/tok.json"), std::string::npos) << out;
  const fs::path empty = vlmrt::testing::scratch_dir("tokenize_empty_folder");
  EXPECT_EQ(
      run_command(vlmrt_cmd("tokenize --tokenizer " + shell_quote(empty.string()) + " hi"), &out),
      1);
  EXPECT_NE(out.find("no tokenizer.json"), std::string::npos) << out;
}

TEST(TokenizeCli, HelpExplainsOptionsWithExamples) {
  for (const char* command : {"tokenize", "detokenize"}) {
    std::string out;
    ASSERT_EQ(run_command(vlmrt_cmd(std::string(command) + " --help"), &out), 0) << out;
    EXPECT_NE(out.find("--tokenizer"), std::string::npos) << out;
    EXPECT_NE(out.find("Examples:"), std::string::npos) << out;
  }
}

TEST(TokenizeCli, RequiresTextOrJsonl) {
  std::string out;
  EXPECT_EQ(run_command(vlmrt_cmd("tokenize --tokenizer x.json"), &out), 2);
  EXPECT_NE(out.find("either TEXT or --jsonl"), std::string::npos) << out;
}

}  // namespace
