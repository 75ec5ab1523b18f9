#include "models/family.hpp"

namespace vlmrt {

std::string_view family_name(ModelFamily family) noexcept {
  switch (family) {
    case ModelFamily::PaliGemma:
      return "PaliGemma";
    case ModelFamily::PaliGemma2:
      return "PaliGemma2";
    case ModelFamily::Idefics3:
      return "Idefics3 (SmolVLM)";
    case ModelFamily::SmolVlm:
      return "SmolVLM2";
  }
  return "?";
}

std::string_view family_id(ModelFamily family) noexcept {
  switch (family) {
    case ModelFamily::PaliGemma:
      return "paligemma";
    case ModelFamily::PaliGemma2:
      return "paligemma2";
    case ModelFamily::Idefics3:
      return "idefics3";
    case ModelFamily::SmolVlm:
      return "smolvlm";
  }
  return "?";
}

bool is_paligemma(ModelFamily family) noexcept {
  return family == ModelFamily::PaliGemma || family == ModelFamily::PaliGemma2;
}

bool is_idefics3_like(ModelFamily family) noexcept {
  return family == ModelFamily::Idefics3 || family == ModelFamily::SmolVlm;
}

ModelFamily detect_family(const json::Json& config, const std::string& where) {
  const auto model_type = json::get<std::string>(config, "model_type", where);
  if (model_type == "idefics3") return ModelFamily::Idefics3;
  if (model_type == "smolvlm") return ModelFamily::SmolVlm;
  if (model_type == "paligemma") {
    // PaliGemma2 differs only by its Gemma2 text model (MODELS.md §1.1).
    const auto text_where = json::child_where(where, "text_config");
    const auto it = config.find("text_config");
    const std::string text_type =
        it != config.end() && it->is_object()
            ? json::get_or<std::string>(*it, "model_type", "gemma", text_where)
            : "gemma";
    if (text_type == "gemma") return ModelFamily::PaliGemma;
    if (text_type == "gemma2") return ModelFamily::PaliGemma2;
    throw Error(ErrorKind::Unsupported, where + ": PaliGemma with text model_type '" + text_type +
                                            "' is not supported (expected gemma or gemma2)");
  }
  throw Error(ErrorKind::Unsupported,
              where + ": model_type '" + model_type +
                  "' is not supported (vlmrt runs paligemma, idefics3 and smolvlm)");
}

ModelFamily detect_family(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "config.json";
  return detect_family(json::read_file(path), path.string());
}

}  // namespace vlmrt
