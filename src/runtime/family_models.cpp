// The per-family entry points: a VlmModel that was checked to hold the family.
#include "models/family.hpp"
#include "vlmrt/errors.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt {

namespace {

VlmModel open_family(const std::filesystem::path& model_dir, const BackendType& backend,
                     const ModelOptions& options, bool want_paligemma, const char* class_name) {
  const ModelFamily family = detect_family(model_dir);
  if (is_paligemma(family) != want_paligemma)
    throw Error(ErrorKind::InvalidArgument,
                std::string(class_name) + "::open: " + model_dir.string() + " holds a " +
                    std::string(family_name(family)) + " model; use " +
                    (want_paligemma ? "SmolVlm" : "Paligemma") + " or VlmModel");
  return VlmModel::open(model_dir, backend, options);
}

}  // namespace

Paligemma Paligemma::open(const std::filesystem::path& model_dir, const BackendType& backend,
                          const ModelOptions& options) {
  return Paligemma(open_family(model_dir, backend, options, true, "Paligemma"));
}

std::string Paligemma::infer(const ImageRgb8& image, std::string_view task,
                             std::size_t max_new_tokens) {
  return model_.infer(image, task, max_new_tokens);
}

SmolVlm SmolVlm::open(const std::filesystem::path& model_dir, const BackendType& backend,
                      const ModelOptions& options) {
  return SmolVlm(open_family(model_dir, backend, options, false, "SmolVlm"));
}

std::string SmolVlm::infer(const ImageRgb8& image, std::string_view prompt,
                           std::size_t max_new_tokens) {
  return model_.infer(image, prompt, max_new_tokens);
}

}  // namespace vlmrt
