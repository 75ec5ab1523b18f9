// `vlmrt prompt`: the exact prompt text and token ids a model receives for a question and images:
// chat template (SmolVLM) or PaliGemma's prefix format, image-token expansion from the image
// processor's tile grid, then the folder's tokenizer.json.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "command.hpp"
#include "core/json.hpp"
#include "models/family.hpp"
#include "models/model_folder.hpp"
#include "models/processor.hpp"
#include "tokenizer/tokenizer.hpp"
#include "vlmrt/image.hpp"

namespace {

struct ImageInfo {
  std::string file;
  int width = 0;
  int height = 0;
  int rows = 0;
  int cols = 0;
  std::int64_t image_tokens = 0;
};

int run_prompt(int argc, char** argv) {
  CLI::App app{
      "Print the prompt a model receives: the chat template applied to the question (SmolVLM) or "
      "PaliGemma's prefix format, every <image> expanded to its image tokens using the image "
      "processor's tile grid for each image, and the token ids from the folder's tokenizer.json. "
      "Needs config.json, preprocessor_config.json and tokenizer.json (no weights).\n\n"
      "Example:\n"
      "  vlmrt prompt --model models/SmolVLM-256M-Instruct --image cat.jpg "
      "--prompt \"Can you describe this image?\"\n"
      "  vlmrt prompt --model models/paligemma-3b-mix-224 --image cat.jpg --prompt \"caption en\" "
      "--json",
      "vlmrt prompt"};
  std::string model_dir;
  std::string prompt;
  std::vector<std::string> image_paths;
  std::string system;
  bool as_json = false;
  app.add_option(
         "--model", model_dir,
         "Hugging Face model folder (config.json, preprocessor_config.json, tokenizer.json, "
         "and for SmolVLM the chat template)")
      ->required();
  app.add_option(
         "--prompt", prompt,
         "the user's text, e.g. \"Can you describe this image?\" (SmolVLM) or \"caption en\" "
         "(PaliGemma task prefix)")
      ->required();
  app.add_option("--image", image_paths,
                 "image file; repeat for several images (SmolVLM places them before the text in "
                 "the user message, PaliGemma before <bos>), e.g. --image a.jpg --image b.png");
  app.add_option("--system", system,
                 "system message for chat models, e.g. --system \"Answer briefly.\" (PaliGemma has "
                 "no chat template and rejects it)");
  app.add_flag("--json", as_json,
               "print one JSON object (family, chat_prompt, prompt, ids, num_tokens, images) "
               "instead of text");
  CLI11_PARSE(app, argc, argv);

  // The library's processor builds the prompt (models/processor.hpp); plan() skips the pixel
  // work, since only the image sizes decide the prompt.
  const auto processor = vlmrt::Processor::load(vlmrt::ModelFolder::inspect(model_dir));
  const auto family = processor.family();
  const int seq_len = processor.image_seq_len();
  const std::string template_name = processor.chat_template_name();

  std::vector<vlmrt::ImageRgb8> images;
  images.reserve(image_paths.size());
  for (const auto& path : image_paths) images.push_back(vlmrt::load_image(path));
  const vlmrt::PreparedPrompt prepared = processor.plan(images, prompt, system);
  const std::string& chat_prompt = prepared.template_text;
  const std::string& expanded = prepared.text;
  const std::vector<vlmrt::tok::TokenId>& ids = prepared.ids;

  std::vector<ImageInfo> infos;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const vlmrt::ImageGrid& grid = prepared.images[i];
    infos.push_back({image_paths[i], images[i].width(), images[i].height(), grid.rows, grid.cols,
                     grid.image_tokens(seq_len)});
  }

  if (as_json) {
    vlmrt::json::Json out = vlmrt::json::Json::object();
    out["family"] = std::string(vlmrt::family_name(family));
    out["chat_template"] =
        template_name.empty() ? vlmrt::json::Json(nullptr) : vlmrt::json::Json(template_name);
    out["image_seq_len"] = seq_len;
    out["chat_prompt"] = chat_prompt;
    out["prompt"] = expanded;
    out["ids"] = ids;
    out["num_tokens"] = ids.size();
    out["images"] = vlmrt::json::Json::array();
    for (const auto& info : infos)
      out["images"].push_back({{"file", info.file},
                               {"width", info.width},
                               {"height", info.height},
                               {"rows", info.rows},
                               {"cols", info.cols},
                               {"image_tokens", info.image_tokens}});
    std::printf("%s\n",
                out.dump(2, ' ', false, vlmrt::json::Json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("family: %s\n", std::string(vlmrt::family_name(family)).c_str());
  if (!template_name.empty()) std::printf("chat_template: %s\n", template_name.c_str());
  std::printf("image_seq_len: %d\n", seq_len);
  for (std::size_t i = 0; i < infos.size(); ++i)
    std::printf("image %zu: file=%s size=%dx%d rows=%d cols=%d image_tokens=%lld\n", i + 1,
                infos[i].file.c_str(), infos[i].width, infos[i].height, infos[i].rows,
                infos[i].cols, static_cast<long long>(infos[i].image_tokens));
  std::printf("--- prompt ---\n%s\n--- end prompt ---\n", expanded.c_str());
  std::string id_text;
  for (std::size_t i = 0; i < ids.size(); ++i) id_text += (i ? " " : "") + std::to_string(ids[i]);
  std::printf("ids: %s\n", id_text.c_str());
  std::printf("num_tokens: %zu\n", ids.size());
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterPrompt{
    {"prompt", "print a model's expanded prompt and its token ids for a question and images",
     run_prompt}};

}  // namespace
