// `vlmrt chat`: an interactive multi-turn conversation. Each line typed is a
// user turn; the answer streams back, and later turns reuse the KV cache of
// earlier ones.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "model_flags.hpp"
#include "vlmrt/errors.hpp"
#include "vlmrt/image.hpp"
#include "vlmrt/model.hpp"

namespace {

constexpr const char* kHelp =
    "commands: /image FILE (attach an image to your next message), /reset (new "
    "conversation), "
    "/stats (figures of the last answer), /quit (or end of input)\n";

int run_chat(int argc, char** argv) {
  CLI::App app{
      "Chat with a SmolVLM / SmolVLM2 model: type a message and press Enter; "
      "the answer streams "
      "back. Earlier turns stay in the KV cache, so follow-up questions start "
      "answering at once. "
      "Lines starting with / are commands: /image FILE attaches an image to "
      "the next message, "
      "/reset starts over, /stats prints the last answer's figures, /quit "
      "ends. Reads standard "
      "input, so a conversation can also be piped in.\n\n"
      "Examples:\n"
      "  vlmrt chat --model models/SmolVLM-256M-Instruct --image cat.jpg\n"
      "  printf 'What is this?\\nWhat colour is it?\\n' | vlmrt chat --model "
      "models/SmolVLM-256M-Instruct --image cat.jpg",
      "vlmrt chat"};
  vlmrt::cli::ModelFlags model_flags;
  vlmrt::cli::GenerationFlags generation_flags;
  std::vector<std::string> image_paths;
  std::string system;
  vlmrt::cli::add_model_flags(app, model_flags);
  app.add_option("--image", image_paths,
                 "image attached to the first message; repeatable, e.g. --image cat.jpg");
  app.add_option("--system", system,
                 "system message for the whole conversation, e.g. --system \"Be brief.\"");
  vlmrt::cli::add_generation_flags(app, generation_flags);
  CLI11_PARSE(app, argc, argv);

  const bool interactive = isatty(STDIN_FILENO) != 0;
  std::vector<vlmrt::ImageRgb8> pending;
  for (const auto& path : image_paths) pending.push_back(vlmrt::load_image(path));
  vlmrt::VlmModel model = model_flags.open();
  const vlmrt::GenerationOptions options = generation_flags.resolve(model, 256);
  vlmrt::Chat chat = model.start_chat(system);
  std::optional<vlmrt::GenerationOutput> last;
  if (interactive)
    std::fprintf(stderr, "%s on %s. %s", model.model_dir().c_str(), model.backend_name().c_str(),
                 kHelp);

  std::string line;
  while (true) {
    if (interactive) std::fprintf(stderr, "you> ");
    if (!std::getline(std::cin, line) || line == "/quit" || line == "/exit") break;
    if (line.empty()) continue;
    if (line.starts_with("/image ")) {
      try {
        pending.push_back(vlmrt::load_image(line.substr(7)));
        std::fprintf(stderr, "(image attached to your next message)\n");
      } catch (const vlmrt::Error& e) {
        std::fprintf(stderr, "could not load the image: %s\n", e.what());
      }
      continue;
    }
    if (line == "/reset") {
      chat = model.start_chat(system);
      pending.clear();
      std::fprintf(stderr, "(new conversation)\n");
      continue;
    }
    if (line == "/stats") {
      if (last)
        std::fprintf(stderr,
                     "prefill %zu tokens (%zu reused from the cache) at %.1f "
                     "tok/s, decode %zu "
                     "tokens at %.1f tok/s, first token after %.1f ms, peak "
                     "RSS %.0f MiB\n",
                     last->stats.prefill_tokens, chat.reused_positions(),
                     last->stats.prefill_tokens_per_s, last->stats.decode_tokens,
                     last->stats.decode_tokens_per_s, last->stats.time_to_first_token_ms,
                     last->stats.peak_rss_mb);
      continue;
    }
    if (line.starts_with("/")) {
      std::fprintf(stderr, "unknown command; %s", kHelp);
      continue;
    }
    if (interactive) std::fprintf(stderr, "assistant> ");
    last = chat.send(pending, line, options, [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    pending.clear();
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterChat{
    {"chat", "interactive multi-turn conversation with a SmolVLM model", run_chat}};

}  // namespace
