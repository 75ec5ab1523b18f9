// A two-turn conversation with SmolVLM: the second question reuses the first
// turn's KV cache. Answers stream to stdout as they are generated.
//
//   smolvlm_chat MODEL_DIR IMAGE
#include <cstdio>

#include "vlmrt/vlmrt.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE\n", argv[0]);
    return 2;
  }
  try {
    vlmrt::SmolVlm model = vlmrt::SmolVlm::open(argv[1]);
    const vlmrt::ImageRgb8 image = vlmrt::load_image(argv[2]);
    vlmrt::GenerationOptions options = model.model().default_options();
    options.max_new_tokens = 48;
    const auto print = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;  // false would cancel the generation
    };

    vlmrt::Chat chat = model.chat("Answer briefly.");
    std::printf("user: Can you describe this image?\nassistant: ");
    chat.send(std::span(&image, 1), "Can you describe this image?", options, print);
    std::printf("\nuser: What colours do you see?\nassistant: ");
    const auto second = chat.send({}, "What colours do you see?", options, print);
    std::printf("\n(turn 2 reused %zu cached positions and prefilled %zu new ones)\n",
                chat.reused_positions(), second.stats.prefill_tokens);
  } catch (const vlmrt::Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", std::string(vlmrt::to_string(e.kind())).c_str(),
                 e.what());
    return 1;
  }
  return 0;
}
