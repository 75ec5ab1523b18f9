// `vlmrt run`: one question about zero or more images, answered by a model on a
// backend; the answer streams to stdout as it is generated, or comes as one
// JSON object with --json.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "command.hpp"
#include "core/json.hpp"
#include "model_flags.hpp"
#include "vlmrt/image.hpp"
#include "vlmrt/model.hpp"

namespace {

int run_run(int argc, char** argv) {
  CLI::App app{
      "Ask a vision-language model about images. The answer is printed as it "
      "is generated; "
      "--json prints one object {text, tokens, finish_reason, seed, backend, "
      "stats} instead.\n\n"
      "Examples:\n"
      "  vlmrt run --model models/SmolVLM-256M-Instruct --image cat.jpg "
      "--prompt \"Can you describe this image?\"\n"
      "  vlmrt run --model models/paligemma-3b-mix-224 --image street.jpg "
      "--prompt \"detect "
      "car\" --json\n"
      "  vlmrt run --model models/SmolVLM-256M-Instruct --prompt \"Write a "
      "haiku.\" --sample "
      "--temperature 0.8 --seed 7",
      "vlmrt run"};
  vlmrt::cli::ModelFlags model_flags;
  vlmrt::cli::GenerationFlags generation_flags;
  std::vector<std::string> image_paths;
  std::string prompt;
  std::string system;
  bool as_json = false;
  bool show_stats = false;
  vlmrt::cli::add_model_flags(app, model_flags);
  app.add_option("--image", image_paths,
                 "image file (JPEG, PNG, BMP, PPM); repeat for several, none "
                 "for a text-only "
                 "prompt, e.g. --image a.jpg --image b.png");
  app.add_option("--prompt", prompt,
                 "the question or instruction: SmolVLM's user message (\"Can "
                 "you describe this "
                 "image?\") or a PaliGemma task prefix (\"caption en\", "
                 "\"detect cat\")")
      ->required();
  app.add_option("--system", system,
                 "system message for chat models, e.g. --system \"Answer in one word.\"");
  vlmrt::cli::add_generation_flags(app, generation_flags);
  app.add_flag("--json", as_json,
               "print one JSON object (text, tokens, finish_reason, seed, "
               "backend, stats with "
               "image_encode_ms, tiles, prefill_tokens, prefill_tokens_per_s, "
               "decode_tokens, "
               "decode_tokens_per_s, time_to_first_token_ms, peak_rss_mb)");
  app.add_flag("--stats", show_stats, "print timing and memory figures to stderr at the end");
  CLI11_PARSE(app, argc, argv);

  std::vector<vlmrt::ImageRgb8> images;
  for (const auto& path : image_paths) images.push_back(vlmrt::load_image(path));
  vlmrt::VlmModel model = model_flags.open();
  const vlmrt::GenerationOptions options = generation_flags.resolve(model, 128);

  vlmrt::StreamCallback print_piece;
  if (!as_json)
    print_piece = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  const vlmrt::GenerationOutput output =
      model.generate(images, prompt, options, print_piece, system);

  if (as_json) {
    vlmrt::json::Json out = vlmrt::json::Json::object();
    out["text"] = output.text;
    out["tokens"] = output.tokens;
    out["finish_reason"] = std::string(vlmrt::to_string(output.finish_reason));
    out["seed"] = output.seed;
    out["backend"] = model.backend_name();
    out["stats"] = vlmrt::cli::stats_to_json(output.stats);
    std::printf("%s\n",
                out.dump(2, ' ', false, vlmrt::json::Json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("\n");
  if (show_stats) {
    const auto& s = output.stats;
    std::fprintf(stderr,
                 "[%s] image encode %.1f ms (%d tiles), prefill %zu tokens at "
                 "%.1f tok/s, "
                 "decode %zu tokens at %.1f tok/s, first token after %.1f ms, "
                 "peak RSS %.0f MiB, "
                 "finished: %s\n",
                 model.backend_name().c_str(), s.image_encode_ms, s.tiles, s.prefill_tokens,
                 s.prefill_tokens_per_s, s.decode_tokens, s.decode_tokens_per_s,
                 s.time_to_first_token_ms, s.peak_rss_mb,
                 std::string(vlmrt::to_string(output.finish_reason)).c_str());
  }
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterRun{
    {"run", "answer a prompt about images with a model (streams the answer)", run_run}};

}  // namespace
