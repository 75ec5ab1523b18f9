// The C++ prompt builders against hf_prompt_reference.py, an independent Python rendering of
// MODELS.md §5.1 / §5.3 / §5.4 (num2words after the library's merge algorithm, Python's own
// str(timedelta)).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "models/paligemma/prompt.hpp"
#include "models/smolvlm/prompt.hpp"
#include "test_support.hpp"
#include "tokenizer/jinja/value.hpp"

namespace vlmrt {
namespace {

using Json = jinja::Json;

const Json& cases() {
  static const Json c = [] {
    const auto dir = testing::generated_data(
        "prompt_reference", testing::source_dir() / "tests/models/prompt/hf_prompt_reference.py");
    std::ifstream in(dir / "cases.json");
    std::stringstream text;
    text << in.rdbuf();
    return Json::parse(text.str());
  }();
  return c;
}

TEST(PromptReference, ImageExpansionMatchesForEveryGrid) {
  for (const auto& c : cases()["images"]) {
    const int rows = c["rows"], cols = c["cols"], seq = c["seq"];
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " N=" + std::to_string(seq));
    EXPECT_EQ(smolvlm::image_prompt({rows, cols}, seq), c["expected"].get<std::string>());
  }
}

TEST(PromptReference, ChatTextExpansionMatchesWithOneOrSeveralImages) {
  for (const auto& c : cases()["expand"]) {
    std::vector<smolvlm::ImageLayout> layouts;
    for (const auto& l : c["layouts"]) layouts.push_back({l[0].get<int>(), l[1].get<int>()});
    EXPECT_EQ(smolvlm::expand_prompt(c["text"].get<std::string>(), layouts, {}, c["seq"]),
              c["expected"].get<std::string>());
  }
}

TEST(PromptReference, VideoExpansionMatches) {
  for (const auto& c : cases()["videos"]) {
    smolvlm::VideoLayout video;
    video.num_frames = c["num_frames"];
    video.duration_seconds = c["duration"];
    for (const auto& s : c["seconds"])
      video.timestamps.push_back(smolvlm::frame_time(s.get<double>()));
    SCOPED_TRACE("frames=" + std::to_string(video.num_frames));
    EXPECT_EQ(smolvlm::video_prompt(video, c["seq"]), c["expected"].get<std::string>());
    EXPECT_EQ(
        smolvlm::expand_prompt("<|im_start|>User: <video>Describe<end_of_utterance>\n", {},
                               std::vector{video}, c["seq"]),
        "<|im_start|>User: " + c["expected"].get<std::string>() + "Describe<end_of_utterance>\n");
  }
}

TEST(PromptReference, NumberWordsMatchNum2WordsUpToTrillions) {
  int checked = 0;
  for (const auto& c : cases()["num2words"]) {
    EXPECT_EQ(smolvlm::number_to_words(c[0].get<std::int64_t>()), c[1].get<std::string>());
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

TEST(PromptReference, DurationsPrintLikeTimedelta) {
  for (const auto& c : cases()["timedelta"])
    EXPECT_EQ(smolvlm::format_timedelta(c[0].get<std::int64_t>()), c[1].get<std::string>());
}

TEST(PromptReference, FrameTimesTruncateLikeHf) {
  for (const auto& c : cases()["frame_time"]) {
    const auto t = smolvlm::frame_time(c[0].get<double>());
    EXPECT_EQ(t.minutes, c[1][0].get<int>());
    EXPECT_EQ(t.seconds, c[1][1].get<int>());
  }
}

TEST(PromptReference, PaliGemmaPromptsMatch) {
  for (const auto& c : cases()["paligemma"]) {
    SCOPED_TRACE(c["text"].get<std::string>());
    EXPECT_EQ(paligemma::build_prompt(c["text"].get<std::string>(), c["images"], c["seq"]),
              c["expected"].get<std::string>());
  }
}

}  // namespace
}  // namespace vlmrt
