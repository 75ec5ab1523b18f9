// `vlmrt run`, `vlmrt chat` and `vlmrt bench` end to end on the golden fixtures: the --json keys
// scripts depend on, streaming, exit codes and error messages.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "golden_cases.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

struct CliRun {
  int status = -1;
  std::string output;
};

CliRun vlmrt_cli(const std::string& args, const std::string& stdin_text = "") {
  CliRun run;
  std::string command = testing::shell_quote(testing::cli_path().string()) + " " + args;
  if (!stdin_text.empty())
    command = "printf '%s' " + testing::shell_quote(stdin_text) + " | " + command;
  run.status = testing::run_command("{ " + command + " 2>/dev/null; }", &run.output);
  return run;
}

// `env` is prepended to the command line: "NAME=value".
CliRun vlmrt_cli_with_stderr(const std::string& args, const std::string& env = "") {
  CliRun run;
  run.status = testing::run_command(
      env + " " + testing::shell_quote(testing::cli_path().string()) + " " + args + " 2>&1",
      &run.output);
  return run;
}

std::string quoted(const std::filesystem::path& path) {
  return testing::shell_quote(path.string());
}

std::string golden_args(const testing::GoldenCase& golden) {
  std::string args = "--model " + quoted(golden.model_dir) + " --prompt " +
                     testing::shell_quote(golden.prompt) + " --max-new-tokens " +
                     std::to_string(golden.tokens.size()) + " --ignore-eos --threads 2";
  for (const auto& image : golden.images) args += " --image " + quoted(golden.dir / image);
  return args;
}

TEST(RunCli, JsonHasTheDocumentedKeysAndTheReferenceTokens) {
  const auto golden = testing::load_golden_case("tiny-paligemma2-bf16", "caption_40x30");
  const CliRun run = vlmrt_cli("run " + golden_args(golden) + " --json");
  ASSERT_EQ(run.status, 0) << run.output;
  const auto out = nlohmann::json::parse(run.output);
  EXPECT_EQ(out.at("tokens").get<std::vector<std::int32_t>>(), golden.tokens);
  EXPECT_TRUE(out.at("text").is_string());
  const auto& stats = out.at("stats");
  for (const char* key :
       {"image_encode_ms", "tiles", "prefill_tokens", "prefill_tokens_per_s", "decode_tokens",
        "decode_tokens_per_s", "time_to_first_token_ms", "peak_rss_mb"})
    EXPECT_TRUE(stats.contains(key)) << key;
  EXPECT_EQ(stats.at("tiles").get<int>(), 1);
  EXPECT_EQ(stats.at("prefill_tokens").get<std::size_t>(), golden.input_ids.size());
  EXPECT_EQ(stats.at("decode_tokens").get<std::size_t>(), golden.tokens.size() - 1);
  EXPECT_GT(stats.at("decode_tokens_per_s").get<double>(), 0.0);
  EXPECT_EQ(out.at("finish_reason"), "max_new_tokens");
  EXPECT_NE(out.at("backend").get<std::string>().find("native-cpu"), std::string::npos);
}

// The stream shows the answer without the whitespace a chat model writes first ("Assistant: a
// red circle"); --json keeps the decoded text exactly.
TEST(RunCli, StreamedTextEqualsTheJsonTextWithoutLeadingSpace) {
  for (const char* name : {"two_images", "single_image_45x40"}) {
    const auto golden = testing::load_golden_case("tiny-smolvlm-fp32", name);
    const CliRun streamed = vlmrt_cli("run " + golden_args(golden));
    const CliRun json = vlmrt_cli("run " + golden_args(golden) + " --json");
    ASSERT_EQ(streamed.status, 0) << streamed.output;
    ASSERT_EQ(json.status, 0) << json.output;
    std::string text = nlohmann::json::parse(json.output).at("text").get<std::string>();
    text.erase(0, text.find_first_not_of(" \t\n"));
    EXPECT_EQ(streamed.output, text + "\n") << name;
  }
}

TEST(RunCli, AnImageWithoutPromptGetsTheFamilysCaptionPrompt) {
  const auto smol = testing::load_golden_case("tiny-smolvlm-fp32", "single_image_45x40");
  const std::filesystem::path image = smol.dir / smol.images.front();
  const std::string model = " --model " + quoted(smol.model_dir) + " --image " + quoted(image);
  const CliRun implicit = vlmrt_cli("run" + model + " --max-new-tokens 6 --json");
  const CliRun explicit_prompt =
      vlmrt_cli("run" + model + " --max-new-tokens 6 --json --prompt \"Describe the image.\"");
  ASSERT_EQ(implicit.status, 0) << implicit.output;
  EXPECT_EQ(nlohmann::json::parse(implicit.output).at("tokens"),
            nlohmann::json::parse(explicit_prompt.output).at("tokens"));

  const auto pali = testing::load_golden_case("tiny-paligemma-fp32", "caption_40x30");
  const std::string pali_args = " --model " + quoted(pali.model_dir) + " --image " +
                                quoted(pali.dir / pali.images.front()) +
                                " --max-new-tokens 6 --json";
  const CliRun caption = vlmrt_cli("run" + pali_args);
  const CliRun caption_en = vlmrt_cli("run" + pali_args + " --prompt \"caption en\"");
  ASSERT_EQ(caption.status, 0) << caption.output;
  EXPECT_EQ(nlohmann::json::parse(caption.output).at("tokens"),
            nlohmann::json::parse(caption_en.output).at("tokens"));
}

TEST(RunCli, NoPromptAndNoImageIsAnErrorSayingWhatToGive) {
  const auto smol = testing::load_golden_case("tiny-smolvlm-fp32", "text_only");
  const CliRun run = vlmrt_cli_with_stderr("run --model " + quoted(smol.model_dir));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("give --prompt TEXT, or an --image"), std::string::npos) << run.output;
}

TEST(RunCli, WithoutModelItLooksForTheBundledModelAndSaysWhere) {
  const auto scratch = testing::scratch_dir("no_bundled");
  const CliRun run = vlmrt_cli_with_stderr("run --prompt hi --max-new-tokens 1",
                                           "VLMRT_MODELS_DIR=" + quoted(scratch));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("bundled model tiny-smolvlm"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find((scratch / "tiny-smolvlm").string()), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("pass --model DIR"), std::string::npos) << run.output;
}

TEST(RunCli, WithoutModelItRunsTheBundledModel) {
  // The build tree's executable finds the checkout's models/ above it.
  const CliRun run = vlmrt_cli(
      "run --image " + quoted(testing::source_dir() / "samples" / "images" / "three_shapes.png") +
      " --json");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_FALSE(nlohmann::json::parse(run.output).at("text").get<std::string>().empty());
}

TEST(RunCli, SeededSamplingRepeats) {
  const auto golden = testing::load_golden_case("tiny-smolvlm2-fp32", "text_only");
  const std::string args = "run " + golden_args(golden) + " --temperature 1.3 --seed 5 --json";
  const CliRun a = vlmrt_cli(args);
  const CliRun b = vlmrt_cli(args);
  ASSERT_EQ(a.status, 0) << a.output;
  EXPECT_EQ(nlohmann::json::parse(a.output).at("tokens"),
            nlohmann::json::parse(b.output).at("tokens"));
  EXPECT_EQ(nlohmann::json::parse(a.output).at("seed"), 5);
}

TEST(RunCli, OnnxBackendIsAClearErrorWithExitCode1) {
  const auto golden = testing::load_golden_case("tiny-smolvlm-fp32", "text_only");
  const CliRun run = vlmrt_cli_with_stderr("run " + golden_args(golden) + " --backend onnx-cuda");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("onnx"), std::string::npos) << run.output;
}

TEST(RunCli, MissingImageFileNamesIt) {
  const auto golden = testing::load_golden_case("tiny-smolvlm-fp32", "text_only");
  const CliRun run =
      vlmrt_cli_with_stderr("run " + golden_args(golden) + " --image /nonexistent/cat.jpg");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("/nonexistent/cat.jpg"), std::string::npos) << run.output;
}

TEST(RunCli, HelpExplainsTheFlagsWithExamples) {
  const CliRun run = vlmrt_cli("run --help");
  EXPECT_EQ(run.status, 0);
  for (const char* flag : {"--model", "--image", "--prompt", "--backend", "--max-new-tokens",
                           "--ignore-eos", "--temperature", "--top-k", "--top-p", "--min-p",
                           "--repetition-penalty", "--seed", "--json", "Examples"})
    EXPECT_NE(run.output.find(flag), std::string::npos) << flag;
}

TEST(ChatCli, PipedConversationAnswersEachTurn) {
  const auto golden = testing::load_golden_case("tiny-smolvlm-fp32", "single_image_45x40");
  const std::string args = "chat --model " + quoted(golden.model_dir) + " --image " +
                           quoted(golden.dir / golden.images[0]) +
                           " --max-new-tokens 6 --ignore-eos";
  const CliRun run = vlmrt_cli(args, "What is this?\n/stats\nAnd then?\n");
  ASSERT_EQ(run.status, 0) << run.output;
  // One line per answer (commands print to stderr).
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 2) << run.output;
}

TEST(BenchCli, PrintsTheMedianFigures) {
  const auto golden = testing::load_golden_case("tiny-smolvlm-bf16", "single_image_45x40");
  const CliRun run = vlmrt_cli("bench --model " + quoted(golden.model_dir) + " --image " +
                               quoted(golden.dir / golden.images[0]) +
                               " --runs 3 --warmup 0 --max-new-tokens 8 --json");
  ASSERT_EQ(run.status, 0) << run.output;
  const auto out = nlohmann::json::parse(run.output);
  EXPECT_EQ(out.at("tiles"), 5);
  EXPECT_EQ(out.at("decode_tokens"), 7);
  for (const char* key : {"image_encode_ms", "image_encode_ms_per_tile", "prefill_tokens_per_s",
                          "decode_tokens_per_s", "time_to_first_token_ms", "peak_rss_mb"})
    EXPECT_GT(out.at(key).get<double>(), 0.0) << key;
}

}  // namespace
}  // namespace vlmrt
