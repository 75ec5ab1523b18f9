// The models that ship with vlmrt (models/tiny-smolvlm, models/tiny-paligemma: trained on the
// synthetic shapes task, see docs/models.md), so that `vlmrt run` works before any download.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

namespace vlmrt::cli {

// The model `run`, `chat` and `bench` use when no --model is given.
inline constexpr std::string_view kDefaultBundledModel = "tiny-smolvlm";

// Where a bundled model is looked for: only $VLMRT_MODELS_DIR when it is set; otherwise, in
// order, models/ above the executable (a build tree), share/vlmrt/models/ above it (an install
// prefix), the source tree's models/.
std::vector<std::filesystem::path> bundled_model_candidates(std::string_view name);

// The first candidate holding a config.json; NotFound listing every place tried otherwise.
std::filesystem::path find_bundled_model(std::string_view name);

}  // namespace vlmrt::cli
