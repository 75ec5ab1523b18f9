#include "models/smolvlm/prompt.hpp"

#include <array>
#include <cmath>
#include <cstdio>

#include "vlmrt/errors.hpp"

namespace vlmrt::smolvlm {
namespace {

// Far above any real model (4×4 tiles, 64..81 tokens per tile) but small enough that a bad
// value cannot make a multi-gigabyte string.
constexpr int kMaxGridSide = 64;
constexpr int kMaxSeqLen = 16384;
constexpr int kMaxFrames = 4096;

void check_seq_len(int image_seq_len) {
  if (image_seq_len <= 0 || image_seq_len > kMaxSeqLen)
    throw Error(ErrorKind::InvalidArgument, "image_seq_len must be in 1.." +
                                                std::to_string(kMaxSeqLen) + ", got " +
                                                std::to_string(image_seq_len));
}

std::string repeat(std::string_view token, int times) {
  std::string out;
  out.reserve(token.size() * static_cast<std::size_t>(times));
  for (int i = 0; i < times; ++i) out += token;
  return out;
}

// One unsplit frame: fake, <global-img>, N × <image>, fake.
std::string global_block(int image_seq_len) {
  return std::string(kFakeImageToken) + std::string(kGlobalImageToken) +
         repeat(kImageToken, image_seq_len) + std::string(kFakeImageToken);
}

constexpr std::array<std::string_view, 20> kOnes = {
    "zero",     "one",     "two",     "three",     "four",     "five",    "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::array<std::string_view, 10> kTens = {
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

std::string below_thousand(std::int64_t n) {
  if (n < 20) return std::string(kOnes[static_cast<std::size_t>(n)]);
  if (n < 100) {
    std::string out(kTens[static_cast<std::size_t>(n / 10)]);
    if (n % 10) {
      out += '-';
      out += kOnes[static_cast<std::size_t>(n % 10)];
    }
    return out;
  }
  std::string out(kOnes[static_cast<std::size_t>(n / 100)]);
  out += " hundred";
  if (n % 100) {
    out += " and ";
    out += below_thousand(n % 100);
  }
  return out;
}

}  // namespace

std::int64_t layout_image_tokens(const ImageLayout& layout, int image_seq_len) {
  return (std::int64_t{layout.rows} * layout.cols + 1) * image_seq_len;
}

std::string image_prompt(const ImageLayout& layout, int image_seq_len) {
  check_seq_len(image_seq_len);
  if (layout.rows < 0 || layout.cols < 0 || layout.rows > kMaxGridSide ||
      layout.cols > kMaxGridSide || (layout.rows == 0) != (layout.cols == 0))
    throw Error(ErrorKind::InvalidArgument,
                "image grid " + std::to_string(layout.rows) + "x" + std::to_string(layout.cols) +
                    " is invalid (both 0, or both 1.." + std::to_string(kMaxGridSide) + ")");
  if (layout.rows == 0) return global_block(image_seq_len);
  const std::string tile_tokens = repeat(kImageToken, image_seq_len);
  std::string out;
  for (int r = 1; r <= layout.rows; ++r) {
    for (int c = 1; c <= layout.cols; ++c)
      out += std::string(kFakeImageToken) + "<row_" + std::to_string(r) + "_col_" +
             std::to_string(c) + ">" + tile_tokens;
    out += "\n";
  }
  return out + "\n" + global_block(image_seq_len);
}

std::string video_prompt(const VideoLayout& video, int image_seq_len) {
  check_seq_len(image_seq_len);
  if (video.num_frames < 0 || video.num_frames > kMaxFrames ||
      video.timestamps.size() > static_cast<std::size_t>(kMaxFrames))
    throw Error(ErrorKind::InvalidArgument,
                "video frame count must be in 0.." + std::to_string(kMaxFrames));
  std::string out = "You are provided the following series of " +
                    number_to_words(video.num_frames) + " frames from a " +
                    format_timedelta(video.duration_seconds) + " [H:MM:SS] video.\n";
  const std::string block = global_block(image_seq_len);
  for (const FrameTime& t : video.timestamps) {
    char stamp[48];
    std::snprintf(stamp, sizeof stamp, "%02d:%02d", t.minutes, t.seconds);
    out += "\nFrame from " + std::string(stamp) + ":" + block;
  }
  return out + "\n\n";
}

std::string expand_prompt(std::string_view text, std::span<const ImageLayout> images,
                          std::span<const VideoLayout> videos, int image_seq_len) {
  std::string out;
  std::size_t next_image = 0, next_video = 0, pos = 0;
  while (true) {
    const std::size_t image_at = text.find(kImageToken, pos);
    const std::size_t video_at = text.find(kVideoToken, pos);
    const std::size_t at = std::min(image_at, video_at);
    if (at == std::string_view::npos) break;
    out += text.substr(pos, at - pos);
    if (at == image_at) {
      if (next_image >= images.size())
        throw Error(ErrorKind::InvalidArgument, "the prompt has more <image> tokens than the " +
                                                    std::to_string(images.size()) +
                                                    " image(s) given");
      out += image_prompt(images[next_image++], image_seq_len);
      pos = at + kImageToken.size();
    } else {
      if (next_video >= videos.size())
        throw Error(ErrorKind::InvalidArgument, "the prompt has more <video> tokens than the " +
                                                    std::to_string(videos.size()) +
                                                    " video(s) given");
      out += video_prompt(videos[next_video++], image_seq_len);
      pos = at + kVideoToken.size();
    }
  }
  out += text.substr(pos);
  if (next_image != images.size() || next_video != videos.size())
    throw Error(ErrorKind::InvalidArgument,
                "the prompt has " + std::to_string(next_image) + " <image> and " +
                    std::to_string(next_video) + " <video> token(s) but " +
                    std::to_string(images.size()) + " image(s) and " +
                    std::to_string(videos.size()) + " video(s) were given");
  return out;
}

std::string number_to_words(std::int64_t n) {
  constexpr std::int64_t kLimit = 1'000'000'000'000'000;
  if (n <= -kLimit || n >= kLimit)
    throw Error(ErrorKind::InvalidArgument,
                "number_to_words: " + std::to_string(n) + " is out of range");
  if (n < 0) return "minus " + number_to_words(-n);
  struct Scale {
    std::int64_t value;
    std::string_view name;
  };
  static constexpr Scale kScales[] = {{1'000'000'000'000, "trillion"},
                                      {1'000'000'000, "billion"},
                                      {1'000'000, "million"},
                                      {1'000, "thousand"}};
  for (const Scale& scale : kScales) {
    if (n < scale.value) continue;
    std::string out = number_to_words(n / scale.value) + " " + std::string(scale.name);
    const std::int64_t rest = n % scale.value;
    // num2words joins a remainder below 100 with " and ", a larger one with ", ".
    if (rest) {
      out += rest < 100 ? " and " : ", ";
      out += number_to_words(rest);
    }
    return out;
  }
  return below_thousand(n);
}

std::string format_timedelta(std::int64_t seconds) {
  if (seconds < 0)
    throw Error(ErrorKind::InvalidArgument,
                "video duration must not be negative, got " + std::to_string(seconds));
  const std::int64_t days = seconds / 86400;
  const std::int64_t rest = seconds % 86400;
  char text[32];
  std::snprintf(text, sizeof text, "%d:%02d:%02d", static_cast<int>(rest / 3600),
                static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60));
  if (days == 0) return text;
  return std::to_string(days) + (days == 1 ? " day, " : " days, ") + text;
}

FrameTime frame_time(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9)
    throw Error(ErrorKind::InvalidArgument,
                "frame timestamp must be a finite non-negative number of seconds");
  return {static_cast<int>(std::floor(seconds / 60)), static_cast<int>(std::fmod(seconds, 60.0))};
}

}  // namespace vlmrt::smolvlm
