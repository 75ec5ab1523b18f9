// `vlmrt run`: one question about zero or more images, answered by a model on a
// backend; the answer streams to stdout as it is generated, or comes as one
// JSON object with --json. --draw OUT.png also reads the answer as PaliGemma
// detections and saves the image with the boxes drawn on it.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "core/json.hpp"
#include "model_flags.hpp"
#include "vlmrt/detection.hpp"
#include "vlmrt/image.hpp"
#include "vlmrt/model.hpp"

namespace {

// --draw: the formats save_image writes, checked before generation so a typo in the output name
// does not cost a whole model run.
void check_draw_target(const std::string& draw_path, std::size_t image_count) {
  if (image_count != 1)
    throw vlmrt::Error(vlmrt::ErrorKind::InvalidArgument,
                       "--draw " + draw_path + ": needs exactly one --image to draw on, got " +
                           std::to_string(image_count));
  std::string ext = std::filesystem::path(draw_path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".png" && ext != ".ppm")
    throw vlmrt::Error(vlmrt::ErrorKind::InvalidArgument,
                       "--draw " + draw_path + ": cannot choose an image format from '" + ext +
                           "'; use a .png or .ppm file name");
}

vlmrt::json::Json detections_to_json(const std::vector<vlmrt::Detection>& detections) {
  vlmrt::json::Json list = vlmrt::json::Json::array();
  for (const auto& detection : detections) {
    vlmrt::json::Json item = vlmrt::json::Json::object();
    item["label"] = detection.label;
    item["box"] = {{"x_min", detection.box.x_min},
                   {"y_min", detection.box.y_min},
                   {"x_max", detection.box.x_max},
                   {"y_max", detection.box.y_max}};
    if (!detection.segmentation_codes.empty())
      item["segmentation_codes"] = detection.segmentation_codes;
    list.push_back(std::move(item));
  }
  return list;
}

// "generating: 37 pieces, 2.1 s" on stderr, rewritten in place, when stderr is a terminal and
// generation runs for more than a second.
class GenerationProgress {
 public:
  void tick() {
    ++pieces_;
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(250))
      return;
    last_ = now;
    shown_ = true;
    std::fprintf(stderr, "\rvlmrt: generating: %zu pieces of text, %.1f s", pieces_,
                 std::chrono::duration<double>(now - start_).count());
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool tty_ = isatty(STDERR_FILENO) != 0;
  bool shown_ = false;
  std::size_t pieces_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

int run_run(int argc, char** argv) {
  CLI::App app{
      "Ask a vision-language model about images. The answer is printed as it "
      "is generated; "
      "--json prints one object {text, tokens, finish_reason, seed, backend, "
      "stats} instead.\n\n"
      "Without --model the bundled tiny-smolvlm answers (it knows only the synthetic shapes "
      "task of docs/models.md); without --prompt a model gets its family's caption prompt "
      "(\"Describe the image.\" / \"caption en\").\n\n"
      "Examples:\n"
      "  vlmrt run --image samples/images/three_shapes.png\n"
      "  vlmrt run --model models/SmolVLM-256M-Instruct --image cat.jpg "
      "--prompt \"Can you describe this image?\"\n"
      "  vlmrt run --model models/paligemma-3b-mix-224 --image street.jpg "
      "--prompt \"detect "
      "car\" --json\n"
      "  vlmrt run --model models/SmolVLM-256M-Instruct --prompt \"Write a "
      "haiku.\" --sample "
      "--temperature 0.8 --seed 7\n"
      "  vlmrt run --model paligemma-3b-mix-224 --image street.jpg --prompt \"detect car\" "
      "--draw boxes.png",
      "vlmrt run"};
  vlmrt::cli::ModelFlags model_flags;
  vlmrt::cli::GenerationFlags generation_flags;
  std::vector<std::string> image_paths;
  std::string prompt;
  std::string system;
  bool as_json = false;
  bool show_stats = false;
  std::string draw_path;
  vlmrt::cli::add_model_flags(app, model_flags);
  app.add_option("--image", image_paths,
                 "image file (JPEG, PNG, BMP, PPM); repeat for several, none "
                 "for a text-only "
                 "prompt, e.g. --image a.jpg --image b.png");
  app.add_option("--prompt", prompt,
                 "the question or instruction: SmolVLM's user message (\"Can "
                 "you describe this "
                 "image?\") or a PaliGemma task prefix (\"caption en\", "
                 "\"detect cat\"). Default with an --image: \"Describe the image.\" "
                 "(SmolVLM) or \"caption en\" (PaliGemma)");
  app.add_option("--system", system,
                 "system message for chat models, e.g. --system \"Answer in one word.\"");
  vlmrt::cli::add_generation_flags(app, generation_flags);
  app.add_flag("--json", as_json,
               "print one JSON object (text, tokens, finish_reason, seed, "
               "backend, stats with "
               "image_encode_ms, tiles, prefill_tokens, prefill_tokens_per_s, "
               "decode_tokens, "
               "decode_tokens_per_s, time_to_first_token_ms, peak_rss_mb), e.g. --json > out.json");
  app.add_option("--draw", draw_path,
                 "OUT.png or OUT.ppm: parse the answer as PaliGemma detection/segmentation "
                 "output (<locNNNN> boxes, ';' between objects) and save the --image with the "
                 "boxes and labels drawn on it; needs exactly one --image. The number of boxes "
                 "goes to stderr; with --json the object also gets \"detections\": [{label, "
                 "box: {x_min, y_min, x_max, y_max} in pixels, segmentation_codes (16 VQ-VAE "
                 "codes, only for segment answers)}]. An answer without <loc> tokens (a caption) "
                 "draws nothing and saves the image unchanged. e.g. --prompt \"detect car ; "
                 "person\" --draw boxes.png");
  app.add_flag("--stats", show_stats,
               "print timing and memory figures to stderr at the end, e.g. --stats");
  CLI11_PARSE(app, argc, argv);
  if (!draw_path.empty()) check_draw_target(draw_path, image_paths.size());

  std::vector<vlmrt::ImageRgb8> images;
  for (const auto& path : image_paths) images.push_back(vlmrt::load_image(path));
  if (prompt.empty() && images.empty())
    throw vlmrt::Error(vlmrt::ErrorKind::InvalidArgument,
                       "nothing to ask: give --prompt TEXT, or an --image to caption (see "
                       "vlmrt run --help)");
  vlmrt::VlmModel model = model_flags.open();
  if (prompt.empty()) prompt = model.caption_prompt();
  const vlmrt::GenerationOptions options = generation_flags.resolve(model, 128);

  // Streamed text is shown without the space chat models put after "Assistant:"; --json keeps
  // the text exactly as decoded and shows a progress line instead (on a terminal, after 1 s).
  vlmrt::StreamCallback on_text;
  bool started = false;
  GenerationProgress progress;
  if (as_json)
    on_text = [&](std::string_view) {
      progress.tick();
      return true;
    };
  else
    on_text = [&](std::string_view piece) {
      if (!started) {
        const std::size_t first = piece.find_first_not_of(" \t\n");
        if (first == std::string_view::npos) return true;
        piece.remove_prefix(first);
        started = true;
      }
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  const vlmrt::GenerationOutput output = model.generate(images, prompt, options, on_text, system);
  progress.finish();

  // --draw: malformed detection text is reported (and fails the command) only after the answer
  // itself has been printed, so the text is never lost.
  std::optional<std::vector<vlmrt::Detection>> detections;
  std::optional<vlmrt::Error> draw_error;
  if (!draw_path.empty()) {
    try {
      detections =
          vlmrt::parse_detections(output.text, images.front().width(), images.front().height());
      vlmrt::ImageRgb8 canvas = images.front().clone();
      vlmrt::draw_detections(canvas, *detections);
      vlmrt::save_image(draw_path, canvas);
    } catch (const vlmrt::Error& e) {
      draw_error = e;
    }
  }
  const auto report_draw = [&] {
    if (draw_error) throw *draw_error;
    if (detections)
      std::fprintf(stderr, "drew %zu box%s on %s\n", detections->size(),
                   detections->size() == 1 ? "" : "es", draw_path.c_str());
  };

  if (as_json) {
    vlmrt::json::Json out = vlmrt::json::Json::object();
    out["text"] = output.text;
    out["tokens"] = output.tokens;
    out["finish_reason"] = std::string(vlmrt::to_string(output.finish_reason));
    out["seed"] = output.seed;
    out["backend"] = model.backend_name();
    out["stats"] = vlmrt::cli::stats_to_json(output.stats);
    if (detections) out["detections"] = detections_to_json(*detections);
    if (draw_error) out["detections_error"] = draw_error->what();
    std::printf("%s\n",
                out.dump(2, ' ', false, vlmrt::json::Json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    report_draw();
    return 0;
  }
  std::printf("\n");
  std::fflush(stdout);
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
  report_draw();
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterRun{
    {"run", "answer a prompt about images with a model (streams the answer)", run_run}};

}  // namespace
