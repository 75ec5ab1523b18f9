#include "models/model_folder.hpp"

#include <algorithm>

namespace vlmrt {

namespace {

bool is_file(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

bool ModelFolder::has_file(std::string_view name) const {
  return std::find(present_files.begin(), present_files.end(), name) != present_files.end();
}

std::vector<std::int64_t> ModelFolder::stop_token_ids() const {
  if (generation && !generation->eos_token_ids.empty()) return generation->eos_token_ids;
  return config.eos_token_ids;
}

std::string_view ModelFolder::stop_token_source() const {
  if (generation && !generation->eos_token_ids.empty()) return "generation_config.json";
  return config.eos_token_ids.empty() ? "none" : "config.json";
}

ModelFolder ModelFolder::inspect(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(ErrorKind::NotFound,
                dir.string() + ": not a folder (expected a Hugging Face model folder)");
  ModelFolder folder;
  folder.dir = dir;
  folder.config = ModelConfig::load(dir / "config.json");
  auto note = [&](const std::string& name, bool present) {
    (present ? folder.present_files : folder.missing_files).push_back(name);
  };
  note("config.json", true);

  const auto generation_path = dir / "generation_config.json";
  note("generation_config.json", is_file(generation_path));
  if (is_file(generation_path)) folder.generation = GenerationConfig::load(generation_path);

  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "preprocessor_config.json", "processor_config.json"})
    note(name, is_file(dir / name));
  folder.tokenizer = TokenizerConfig::load(dir);
  // PaliGemma has no chat template (MODELS.md §5.1); SmolVLM keeps it in one of three places.
  if (is_idefics3_like(folder.config.family)) {
    if (folder.tokenizer.chat_template_source == ChatTemplateSource::None) {
      note("chat_template.json", false);
    } else if (folder.tokenizer.chat_template_source != ChatTemplateSource::TokenizerConfig) {
      note(std::string(chat_template_source_name(folder.tokenizer.chat_template_source)), true);
    }
  }

  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (!is_file(entry.path())) continue;
    if (name.ends_with(".safetensors") || name == "model.safetensors.index.json")
      folder.weight_files.push_back(name);
  }
  if (ec) throw Error(ErrorKind::Io, dir.string() + ": cannot list the folder: " + ec.message());
  std::sort(folder.weight_files.begin(), folder.weight_files.end());
  if (folder.weight_files.empty()) {
    note("model.safetensors", false);
  } else {
    for (const auto& name : folder.weight_files) note(name, true);
  }
  return folder;
}

}  // namespace vlmrt
