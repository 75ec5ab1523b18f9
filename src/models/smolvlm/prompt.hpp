// Idefics3 / SmolVLM / SmolVLM2 prompt expansion (MODELS.md §5.3, §5.4): every `<image>` in the
// chat text becomes its tile blocks, every `<video>` its intro, per-frame blocks and outro.
// The result is text: tokenize it whole with the model's tokenizer ("\n\n" merges into one
// token — errata 6); never assemble ids by hand.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vlmrt::smolvlm {

inline constexpr std::string_view kImageToken = "<image>";
inline constexpr std::string_view kVideoToken = "<video>";
inline constexpr std::string_view kFakeImageToken = "<fake_token_around_image>";
inline constexpr std::string_view kGlobalImageToken = "<global-img>";

// An image's tile grid from the image processor (rows = cols = 0 when not split).
struct ImageLayout {
  int rows = 0;
  int cols = 0;
};

// A frame's timestamp as HF prints it: (int(t // 60), int(t % 60)) of t = index / fps.
struct FrameTime {
  int minutes = 0;
  int seconds = 0;
};

struct VideoLayout {
  // The frame count the intro names: the count after padding across the batch (errata 8).
  int num_frames = 0;
  std::int64_t duration_seconds = 0;  // int(duration), printed as str(timedelta)
  std::vector<FrameTime> timestamps;  // one block per entry
};

// The text one image becomes: split: rows × cols blocks "fake<row_r_col_c><image>×N", "\n" after
// each row, then "\nfake<global-img><image>×N fake"; unsplit: "fake<global-img><image>×N fake".
// Throws InvalidArgument for negative or one-sided grids, or sizes past sane limits.
std::string image_prompt(const ImageLayout& layout, int image_seq_len);
// The text one video becomes (MODELS.md §5.4).
std::string video_prompt(const VideoLayout& video, int image_seq_len);

// Replaces the `<image>` and `<video>` tokens of `text`, in order, by their expansions. Throws
// InvalidArgument when the number of tokens differs from the number of images / videos given.
std::string expand_prompt(std::string_view text, std::span<const ImageLayout> images,
                          std::span<const VideoLayout> videos, int image_seq_len);

// Count of `<image>` tokens the expansion of one image holds: (rows·cols + 1)·N.
std::int64_t layout_image_tokens(const ImageLayout& layout, int image_seq_len);

// num2words(n) for English cardinals (British "and": 101 → "one hundred and one", 1100 → "one
// thousand, one hundred"); |n| < 10^15.
std::string number_to_words(std::int64_t n);
// str(datetime.timedelta(seconds=s)): "H:MM:SS", with "D day(s), " past 24 hours; s >= 0.
std::string format_timedelta(std::int64_t seconds);
// The timestamp HF prints for a frame at `seconds` into the video.
FrameTime frame_time(double seconds);

}  // namespace vlmrt::smolvlm
