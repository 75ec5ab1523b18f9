// parse_detections: PaliGemma's "<loc....>x4 [<seg...>x16] label ; ..." answers as boxes.
// The token grammar (four y_min, x_min, y_max, x_max bins of 1024, then sixteen VQ-VAE codes of
// a 128-entry codebook for segmentation) is PaliGemma's, see include/vlmrt/detection.hpp.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "vlmrt/detection.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {
namespace {

constexpr int kLocationBins = 1024;
constexpr std::size_t kLocationDigits = 4;
constexpr std::size_t kLocationTokens = 4;
constexpr int kSegmentationCodebook = 128;
constexpr std::size_t kSegmentationDigits = 3;
constexpr std::size_t kSegmentationTokens = 16;
// Long fragments are cut in error messages so one bad answer cannot flood the terminal.
constexpr std::size_t kMaxQuoted = 120;

constexpr std::string_view kLocPrefix = "<loc";
constexpr std::string_view kSegPrefix = "<seg";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_front(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = trim_front(s);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Built with append rather than operator+ on temporaries: GCC 12 at -O3 reports a false
// -Wrestrict on the latter.
std::string quoted(std::string_view fragment) {
  std::string text(1, '\'');
  text.append(fragment.substr(0, kMaxQuoted));
  if (fragment.size() > kMaxQuoted) text.append("...");
  text.push_back('\'');
  return text;
}

[[noreturn]] void fail(std::string_view object, const std::string& problem) {
  throw Error(ErrorKind::Format, "detection text: object " + quoted(object) + ": " + problem);
}

// Reads one `<PREFIX` + exactly `digits` decimal digits + `>` token from the front of `rest`
// (which starts with the prefix) and removes it; the value must be below `limit`.
int take_token(std::string_view& rest, std::string_view prefix, std::size_t digits, int limit,
               std::string_view object) {
  std::string expected(1, '<');
  expected.append(prefix.substr(1));
  expected.append(digits, 'N');
  expected.append("> with exactly ");
  expected.append(std::to_string(digits));
  expected.append(" digits");
  const std::size_t close = rest.find('>');
  if (close == std::string_view::npos)
    fail(object, "unterminated token " + quoted(rest) + "; expected " + expected);
  const std::string_view token = rest.substr(0, close + 1);
  const std::string_view number = token.substr(prefix.size(), token.size() - prefix.size() - 1);
  bool all_digits = number.size() == digits;
  for (const char c : number) all_digits = all_digits && c >= '0' && c <= '9';
  if (!all_digits) fail(object, "malformed token " + quoted(token) + "; expected " + expected);
  int value = 0;
  for (const char c : number) value = value * 10 + (c - '0');
  if (value >= limit)
    fail(object, "token " + quoted(token) + " is out of range; expected a value from " +
                     std::string(digits, '0') + " to " + std::to_string(limit - 1));
  rest.remove_prefix(token.size());
  return value;
}

float to_pixels(int bin, int size) {
  // In double so that bin * size is exact before the one rounding to float.
  return static_cast<float>(static_cast<double>(bin) / kLocationBins * size);
}

Detection parse_object(std::string_view object, int image_width, int image_height) {
  std::vector<int> locations;
  std::vector<int> codes;
  std::string_view rest = object;
  while (true) {
    rest = trim_front(rest);
    if (rest.starts_with(kLocPrefix)) {
      if (!codes.empty())
        fail(object,
             "a <locNNNN> token follows <segNNN> tokens; expected the four <locNNNN> tokens "
             "first, then the sixteen <segNNN> tokens");
      locations.push_back(take_token(rest, kLocPrefix, kLocationDigits, kLocationBins, object));
    } else if (rest.starts_with(kSegPrefix)) {
      codes.push_back(
          take_token(rest, kSegPrefix, kSegmentationDigits, kSegmentationCodebook, object));
    } else {
      break;
    }
  }
  const std::string_view label = trim(rest);
  if (label.find(kLocPrefix) != std::string_view::npos ||
      label.find(kSegPrefix) != std::string_view::npos)
    fail(object, "a <loc...> or <seg...> token inside or after the label " + quoted(label) +
                     "; expected all tokens before the label and ';' between objects");
  if (locations.size() != kLocationTokens)
    fail(object, "has " + std::to_string(locations.size()) +
                     " <locNNNN> tokens; expected 4 (y_min, x_min, y_max, x_max)");
  if (!codes.empty() && codes.size() != kSegmentationTokens)
    fail(object, "has " + std::to_string(codes.size()) +
                     " <segNNN> tokens; expected 0 (detection) or 16 (segmentation)");
  const int y_min = locations[0], x_min = locations[1];
  const int y_max = locations[2], x_max = locations[3];
  if (y_min > y_max)
    fail(object, "y_min (" + std::to_string(y_min) + ") is greater than y_max (" +
                     std::to_string(y_max) +
                     "); expected the order <loc y_min><loc x_min><loc y_max><loc x_max>");
  if (x_min > x_max)
    fail(object, "x_min (" + std::to_string(x_min) + ") is greater than x_max (" +
                     std::to_string(x_max) +
                     "); expected the order <loc y_min><loc x_min><loc y_max><loc x_max>");

  Detection detection;
  detection.box = {to_pixels(x_min, image_width), to_pixels(y_min, image_height),
                   to_pixels(x_max, image_width), to_pixels(y_max, image_height)};
  detection.label = std::string(label);
  detection.segmentation_codes = std::move(codes);
  return detection;
}

}  // namespace

std::vector<Detection> parse_detections(std::string_view text, int image_width, int image_height) {
  if (image_width < 0 || image_height < 0)
    throw Error(ErrorKind::InvalidArgument,
                "parse_detections: image size " + std::to_string(image_width) + "x" +
                    std::to_string(image_height) + " is negative; expected width, height >= 0");
  std::vector<Detection> detections;
  // A caption or an answer has no task tokens: that is "no objects", not malformed output.
  if (text.find(kLocPrefix) == std::string_view::npos &&
      text.find(kSegPrefix) == std::string_view::npos)
    return detections;
  while (!text.empty()) {
    const std::size_t separator = text.find(';');
    const std::string_view object = trim(text.substr(0, separator));
    text = separator == std::string_view::npos ? std::string_view{} : text.substr(separator + 1);
    if (!object.empty()) detections.push_back(parse_object(object, image_width, image_height));
  }
  return detections;
}

}  // namespace vlmrt
