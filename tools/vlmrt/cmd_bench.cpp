// `vlmrt bench`: the same request N times on one backend; prints the median of
// each figure.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "command.hpp"
#include "core/json.hpp"
#include "model_flags.hpp"
#include "vlmrt/image.hpp"
#include "vlmrt/model.hpp"

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

int run_bench(int argc, char** argv) {
  CLI::App app{
      "Measure a model on one backend: image encoding, prefill and decode "
      "speed, time to first "
      "token and peak memory, as the median of --runs runs after --warmup "
      "unmeasured ones. "
      "Generation ignores EOS so every run decodes --max-new-tokens tokens.\n\n"
      "Examples:\n"
      "  vlmrt bench --model models/SmolVLM-256M-Instruct --image photo.jpg "
      "--runs 5\n"
      "  vlmrt bench --model models/paligemma-3b-pt-224 --image photo.jpg "
      "--threads 8 --json",
      "vlmrt bench"};
  vlmrt::cli::ModelFlags model_flags;
  std::string image_path;
  std::string prompt;
  std::size_t runs = 3;
  std::size_t warmup = 1;
  std::size_t max_new_tokens = 32;
  bool as_json = false;
  vlmrt::cli::add_model_flags(app, model_flags);
  app.add_option("--image", image_path, "image file, e.g. --image photo.jpg")->required();
  app.add_option("--prompt", prompt,
                 "prompt (default: \"caption en\" for PaliGemma, \"Describe the image.\" "
                 "otherwise)");
  app.add_option("--runs", runs, "measured runs; the median is printed, e.g. --runs 5")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "unmeasured runs first (caches, page-in), e.g. --warmup 1")
      ->capture_default_str();
  app.add_option("--max-new-tokens", max_new_tokens, "tokens decoded per run, e.g. 64")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", as_json, "print one JSON object instead of text");
  CLI11_PARSE(app, argc, argv);

  const vlmrt::ImageRgb8 image = vlmrt::load_image(image_path);
  const auto load_start = std::chrono::steady_clock::now();
  vlmrt::VlmModel model = model_flags.open();
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start)
          .count();
  if (prompt.empty()) prompt = model.caption_prompt();
  vlmrt::GenerationOptions options = model.default_options();
  options.do_sample = false;
  options.ignore_eos = true;
  options.max_new_tokens = max_new_tokens;

  std::vector<double> encode, prefill, decode, first_token;
  vlmrt::Stats last;
  for (std::size_t run = 0; run < warmup + runs; ++run) {
    const auto output = model.generate(std::span(&image, 1), prompt, options);
    if (run < warmup) continue;
    last = output.stats;
    encode.push_back(output.stats.image_encode_ms);
    prefill.push_back(output.stats.prefill_tokens_per_s);
    decode.push_back(output.stats.decode_tokens_per_s);
    first_token.push_back(output.stats.time_to_first_token_ms);
    if (!as_json)
      std::fprintf(stderr,
                   "run %zu/%zu: encode %.1f ms, prefill %.1f tok/s, decode "
                   "%.1f tok/s\n",
                   run - warmup + 1, runs, encode.back(), prefill.back(), decode.back());
  }
  const double encode_ms = median(encode);
  const double per_tile = last.tiles > 0 ? encode_ms / last.tiles : 0.0;
  if (as_json) {
    vlmrt::json::Json out = {{"backend", model.backend_name()},
                             {"model", model.model_dir().string()},
                             {"image", image_path},
                             {"image_width", image.width()},
                             {"image_height", image.height()},
                             {"runs", runs},
                             {"load_ms", load_ms},
                             {"image_encode_ms", encode_ms},
                             {"image_encode_ms_per_tile", per_tile},
                             {"tiles", last.tiles},
                             {"prefill_tokens", last.prefill_tokens},
                             {"prefill_tokens_per_s", median(prefill)},
                             {"decode_tokens", last.decode_tokens},
                             {"decode_tokens_per_s", median(decode)},
                             {"time_to_first_token_ms", median(first_token)},
                             {"peak_rss_mb", last.peak_rss_mb}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("backend:             %s\n", model.backend_name().c_str());
  std::printf("image:               %s (%dx%d), %d tiles\n", image_path.c_str(), image.width(),
              image.height(), last.tiles);
  std::printf("model load:          %.1f ms\n", load_ms);
  std::printf("image encode:        %.1f ms (%.1f ms per tile)\n", encode_ms, per_tile);
  std::printf("prefill:             %zu tokens, %.1f tok/s\n", last.prefill_tokens,
              median(prefill));
  std::printf("decode:              %zu tokens, %.1f tok/s\n", last.decode_tokens, median(decode));
  std::printf("time to first token: %.1f ms\n", median(first_token));
  std::printf("peak RSS:            %.0f MiB\n", last.peak_rss_mb);
  std::printf("(median of %zu runs after %zu warm-up)\n", runs, warmup);
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterBench{
    {"bench", "measure encode/prefill/decode speed and memory of a model", run_bench}};

}  // namespace
