// libFuzzer target for the model.safetensors.index.json parser (Checkpoint::open reads it before
// any shard): any input must give a vlmrt::Error or a weight map whose shard names stay inside
// the model folder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/safetensors.hpp"
#include "vlmrt/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto weight_map = vlmrt::parse_safetensors_index(text, "fuzz.index.json");
    if (weight_map.empty()) std::abort();
    for (const auto& [tensor, shard] : weight_map) {
      const std::filesystem::path path(shard);
      if (shard.empty() || path.is_absolute() || path.has_root_directory()) std::abort();
      for (const auto& part : path)
        if (part == "..") std::abort();
    }
  } catch (const vlmrt::Error&) {
  }
  return 0;
}
