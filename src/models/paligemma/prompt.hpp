// PaliGemma / PaliGemma2 prompt building (MODELS.md §5.1 and errata 4). There is no chat template:
// the prompt is image tokens, <bos>, the task text and "\n"; the tokenizer is then called without
// adding BOS/EOS.
#pragma once

#include <string>
#include <string_view>

namespace vlmrt::paligemma {

inline constexpr std::string_view kImageToken = "<image>";
inline constexpr std::string_view kBosToken = "<bos>";

// Without `<image>` in `text`: "<image>"×(image_seq_len·num_images) + bos + text + "\n".
// With `<image>` in `text` (transformers v5): each is expanded ×image_seq_len, bos goes right
// after the last one, and "\n" is appended. Throws InvalidArgument when the text's `<image>` count
// is neither 0 nor num_images, or for sizes outside sane limits.
std::string build_prompt(std::string_view text, int num_images, int image_seq_len,
                         std::string_view bos_token = kBosToken);

}  // namespace vlmrt::paligemma
