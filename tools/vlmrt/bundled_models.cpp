#include "bundled_models.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

#include "vlmrt/errors.hpp"

namespace vlmrt::cli {

namespace fs = std::filesystem;

std::vector<fs::path> bundled_model_candidates(std::string_view name) {
  // An explicit folder is the only place looked at: a user who sets it means that copy.
  if (const char* dir = std::getenv("VLMRT_MODELS_DIR"); dir && *dir) return {fs::path(dir) / name};
  std::vector<fs::path> out;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path prefix = exe.parent_path().parent_path();
    out.push_back(prefix / "models" / name);
    out.push_back(prefix / "share" / "vlmrt" / "models" / name);
  }
  out.push_back(fs::path(VLMRT_SOURCE_MODELS_DIR) / name);
  return out;
}

fs::path find_bundled_model(std::string_view name) {
  const std::vector<fs::path> candidates = bundled_model_candidates(name);
  std::string tried;
  for (const fs::path& dir : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(dir / "config.json", ec)) return dir;
    tried += "\n  " + dir.string();
  }
  throw Error(ErrorKind::NotFound,
              "no --model given and the bundled model " + std::string(name) +
                  " is not in any of:" + tried +
                  "\npass --model DIR (a Hugging Face model folder, see docs/quickstart.md) or "
                  "set VLMRT_MODELS_DIR to the folder holding " +
                  std::string(name));
}

}  // namespace vlmrt::cli
