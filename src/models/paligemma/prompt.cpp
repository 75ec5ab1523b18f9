#include "models/paligemma/prompt.hpp"

#include "vlmrt/errors.hpp"

namespace vlmrt::paligemma {
namespace {

constexpr int kMaxImages = 256;
constexpr int kMaxSeqLen = 16384;

std::string repeat(std::string_view token, std::int64_t times) {
  std::string out;
  out.reserve(token.size() * static_cast<std::size_t>(times));
  for (std::int64_t i = 0; i < times; ++i) out += token;
  return out;
}

}  // namespace

std::string build_prompt(std::string_view text, int num_images, int image_seq_len,
                         std::string_view bos_token) {
  if (num_images < 0 || num_images > kMaxImages)
    throw Error(ErrorKind::InvalidArgument, "PaliGemma prompt: image count must be in 0.." +
                                                std::to_string(kMaxImages) + ", got " +
                                                std::to_string(num_images));
  if (image_seq_len <= 0 || image_seq_len > kMaxSeqLen)
    throw Error(ErrorKind::InvalidArgument, "PaliGemma prompt: image_seq_len must be in 1.." +
                                                std::to_string(kMaxSeqLen) + ", got " +
                                                std::to_string(image_seq_len));
  int in_text = 0;
  for (auto at = text.find(kImageToken); at != std::string_view::npos;
       at = text.find(kImageToken, at + kImageToken.size()))
    ++in_text;
  if (in_text == 0)
    return repeat(kImageToken, std::int64_t{image_seq_len} * num_images) + std::string(bos_token) +
           std::string(text) + "\n";
  if (in_text != num_images)
    throw Error(ErrorKind::InvalidArgument,
                "PaliGemma prompt: the text has " + std::to_string(in_text) +
                    " <image> token(s) but " + std::to_string(num_images) + " image(s) were given");
  // Expand each <image>, then insert bos right after the last expanded one (errata 4).
  const std::string block = repeat(kImageToken, image_seq_len);
  std::string out;
  std::size_t pos = 0;
  std::size_t after_last = 0;
  for (auto at = text.find(kImageToken); at != std::string_view::npos;
       at = text.find(kImageToken, pos)) {
    out += text.substr(pos, at - pos);
    out += block;
    after_last = out.size();
    pos = at + kImageToken.size();
  }
  out += text.substr(pos);
  out.insert(after_last, bos_token);
  return out + "\n";
}

}  // namespace vlmrt::paligemma
