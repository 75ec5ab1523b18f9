// `vlmrt run --draw`: the answer parsed as PaliGemma detections, drawn on the one --image and
// saved. The tiny fixture models have random weights, so the cases use answers they are known to
// give greedily: SmolVLM's has no <loc> tokens (nothing to draw), tiny-paligemma-fp32's first
// four tokens for "detect circle" are one well-formed box, tiny-paligemma2-fp32's caption is six
// <loc> tokens in a row (malformed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "golden_cases.hpp"
#include "image/draw.hpp"
#include "test_support.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

struct DrawRun {
  int status = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `vlmrt run` with the golden case's model, prompt and image(s) plus `extra` arguments.
DrawRun run_draw(const testing::GoldenCase& golden, const std::string& extra, int max_new_tokens,
                 const fs::path& scratch) {
  std::string args = "run --model " + testing::shell_quote(golden.model_dir.string()) +
                     " --prompt " + testing::shell_quote(golden.prompt) + " --max-new-tokens " +
                     std::to_string(max_new_tokens) + " --ignore-eos --threads 2 " + extra;
  const fs::path err = scratch / "stderr.txt";
  DrawRun run;
  // Braces so that run_command's own trailing 2>&1 applies to the group, not to the CLI.
  run.status =
      testing::run_command("{ " + testing::shell_quote(testing::cli_path().string()) + " " + args +
                               " 2>" + testing::shell_quote(err.string()) + "; }",
                           &run.stdout_text);
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  run.stderr_text = text.str();
  return run;
}

std::string image_arg(const testing::GoldenCase& golden) {
  return "--image " + testing::shell_quote((golden.dir / golden.images.at(0)).string());
}

// One golden case's model, prompt and image, a scratch folder and the --draw output in it.
struct DrawCase {
  testing::GoldenCase golden;
  fs::path scratch;
  fs::path out;

  DrawCase(const std::string& model, const std::string& name, const std::string& scratch_name,
           const std::string& out_name)
      : golden(testing::load_golden_case(model, name)),
        scratch(testing::scratch_dir(scratch_name)),
        out(scratch / out_name) {}

  // `vlmrt run` on the case's image with `flags` then `--draw OUT`.
  DrawRun run(const std::string& flags, int max_new_tokens) const {
    return run_draw(
        golden, image_arg(golden) + " " + flags + " --draw " + testing::shell_quote(out.string()),
        max_new_tokens, scratch);
  }

  ImageRgb8 input() const { return load_image(golden.dir / golden.images.at(0)); }
};

bool same_pixels(const ImageRgb8& a, const ImageRgb8& b) {
  if (a.width() != b.width() || a.height() != b.height()) return false;
  for (int y = 0; y < a.height(); ++y)
    for (int x = 0; x < a.width(); ++x)
      for (int c = 0; c < 3; ++c)
        if (a.at(x, y, c) != b.at(x, y, c)) return false;
  return true;
}

TEST(DrawCli, CaptionOnlyAnswerSavesTheImageUnchanged) {
  const DrawCase draw("tiny-smolvlm-fp32", "single_image_45x40", "draw_cli_caption", "boxes.png");
  const DrawRun run = draw.run("", 8);
  ASSERT_EQ(run.status, 0) << run.stdout_text << run.stderr_text;
  EXPECT_EQ(run.stdout_text.find("<loc"), std::string::npos) << run.stdout_text;
  EXPECT_NE(run.stderr_text.find("drew 0 boxes on " + draw.out.string()), std::string::npos)
      << run.stderr_text;
  EXPECT_TRUE(same_pixels(load_image(draw.out), draw.input()));
}

TEST(DrawCli, JsonListsNoDetectionsForACaptionAndWritesPpm) {
  const DrawCase draw("tiny-smolvlm-fp32", "single_image_45x40", "draw_cli_caption_json",
                      "boxes.PPM");
  const DrawRun run = draw.run("--json", 8);
  ASSERT_EQ(run.status, 0) << run.stdout_text << run.stderr_text;
  const auto json = nlohmann::json::parse(run.stdout_text);
  EXPECT_EQ(json.at("detections"), nlohmann::json::array());
  EXPECT_FALSE(json.contains("detections_error"));
  EXPECT_TRUE(same_pixels(load_image(draw.out), draw.input()));
}

TEST(DrawCli, DetectionAnswerIsListedAndDrawn) {
  const DrawCase draw("tiny-paligemma-fp32", "detect_64x64", "draw_cli_detect", "boxes.png");
  const DrawRun run = draw.run("--json", 4);
  ASSERT_EQ(run.status, 0) << run.stdout_text << run.stderr_text;
  const auto json = nlohmann::json::parse(run.stdout_text);
  ASSERT_EQ(json.at("text"), "<loc0264><loc0141><loc0778><loc0434>");
  const auto& detections = json.at("detections");
  ASSERT_EQ(detections.size(), 1u) << detections;
  // The image is 64x64: pixel = value / 1024 * 64.
  EXPECT_EQ(detections[0].at("label"), "");
  EXPECT_EQ(detections[0].at("box").at("x_min").get<double>(), 8.8125);
  EXPECT_EQ(detections[0].at("box").at("y_min").get<double>(), 16.5);
  EXPECT_EQ(detections[0].at("box").at("x_max").get<double>(), 27.125);
  EXPECT_EQ(detections[0].at("box").at("y_max").get<double>(), 48.625);
  EXPECT_FALSE(detections[0].contains("segmentation_codes"));
  EXPECT_NE(run.stderr_text.find("drew 1 box on"), std::string::npos) << run.stderr_text;

  const ImageRgb8 input = draw.input();
  const ImageRgb8 drawn = load_image(draw.out);
  ASSERT_EQ(drawn.width(), input.width());
  ASSERT_EQ(drawn.height(), input.height());
  const draw::Rgb colour = draw::palette_colour(0);
  EXPECT_EQ(drawn.at(8, 30, 0), colour.r);  // left edge, x = floor(8.8125)
  EXPECT_EQ(drawn.at(8, 30, 1), colour.g);
  EXPECT_EQ(drawn.at(8, 30, 2), colour.b);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(drawn.at(18, 30, c), input.at(18, 30, c));  // inside the box
    EXPECT_EQ(drawn.at(40, 30, c), input.at(40, 30, c));  // right of the box
  }
}

TEST(DrawCli, MalformedAnswerFailsAfterPrintingTheText) {
  const DrawCase draw("tiny-paligemma2-fp32", "caption_40x30", "draw_cli_malformed", "boxes.png");
  const DrawRun run = draw.run("--json", 6);
  EXPECT_EQ(run.status, 1) << run.stdout_text << run.stderr_text;
  const auto json = nlohmann::json::parse(run.stdout_text);
  EXPECT_NE(json.at("text").get<std::string>().find("<loc"), std::string::npos);
  EXPECT_FALSE(json.contains("detections"));
  const std::string error = json.at("detections_error").get<std::string>();
  EXPECT_NE(error.find("<locNNNN> tokens; expected 4"), std::string::npos) << error;
  EXPECT_NE(run.stderr_text.find("format error"), std::string::npos) << run.stderr_text;
  EXPECT_FALSE(fs::exists(draw.out));
}

TEST(DrawCli, NeedsExactlyOneImage) {
  const DrawCase draw("tiny-smolvlm-fp32", "single_image_45x40", "draw_cli_images", "boxes.png");
  const std::string out = " --draw " + testing::shell_quote(draw.out.string());
  for (const std::string& images :
       {std::string(), image_arg(draw.golden) + " " + image_arg(draw.golden)}) {
    const DrawRun run = run_draw(draw.golden, images + out, 4, draw.scratch);
    EXPECT_EQ(run.status, 1) << images;
    EXPECT_NE(run.stderr_text.find("needs exactly one --image"), std::string::npos)
        << run.stderr_text;
    EXPECT_FALSE(fs::exists(draw.out));
  }
}

TEST(DrawCli, RejectsAnOutputNameWithoutAWritableFormatBeforeGenerating) {
  const DrawCase draw("tiny-smolvlm-fp32", "single_image_45x40", "draw_cli_format", "b.jpg");
  const DrawRun run = draw.run("--json", 4);
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.stdout_text, "");  // refused before any generation
  EXPECT_NE(run.stderr_text.find("use a .png or .ppm file name"), std::string::npos)
      << run.stderr_text;
}

TEST(DrawCli, HelpExplainsDrawWithAnExample) {
  std::string output;
  ASSERT_EQ(testing::run_command(testing::shell_quote(testing::cli_path().string()) + " run --help",
                                 &output),
            0);
  EXPECT_NE(output.find("--draw"), std::string::npos) << output;
  EXPECT_NE(output.find("--prompt \"detect car\" --draw boxes.png"), std::string::npos) << output;
}

}  // namespace
}  // namespace vlmrt
