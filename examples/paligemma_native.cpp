// PaliGemma on vlmrt's native CPU engine: caption an image, then detect an
// object.
//
//   paligemma_native MODEL_DIR IMAGE [TASK]
//   paligemma_native models/paligemma-3b-mix-224 street.jpg "detect car"
#include <cstdio>
#include <exception>

#include "vlmrt/vlmrt.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s MODEL_DIR IMAGE [TASK]   (TASK defaults to "
                 "\"caption en\")\n",
                 argv[0]);
    return 2;
  }
  try {
    vlmrt::Paligemma model = vlmrt::Paligemma::open(argv[1], vlmrt::backend::Native{});
    const vlmrt::ImageRgb8 image = vlmrt::load_image(argv[2]);
    const char* task = argc > 3 ? argv[3] : "caption en";

    // The simple call: greedy, at most 32 new tokens.
    std::printf("%s: %s\n", task, model.infer(image, task, 32).c_str());

    // The rich call: options, token ids and timing figures.
    vlmrt::GenerationOptions options = model.model().default_options();
    options.max_new_tokens = 32;
    const vlmrt::GenerationOutput out = model.model().generate(std::span(&image, 1), task, options);
    std::printf(
        "%zu tokens, image encode %.1f ms, first token after %.1f ms, "
        "decode %.1f tok/s "
        "on %s\n",
        out.tokens.size(), out.stats.image_encode_ms, out.stats.time_to_first_token_ms,
        out.stats.decode_tokens_per_s, model.backend_name().c_str());
  } catch (const vlmrt::Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", std::string(vlmrt::to_string(e.kind())).c_str(),
                 e.what());
    return 1;
  }
  return 0;
}
