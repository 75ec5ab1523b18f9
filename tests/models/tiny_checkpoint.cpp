#include "tiny_checkpoint.hpp"

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/safetensors.hpp"
#include "models/tensor_inventory.hpp"
#include "test_support.hpp"

namespace vlmrt::testing {

namespace fs = std::filesystem;

fs::path copy_fixture(const std::string& fixture, const std::string& scratch_name) {
  const auto dir = scratch_dir(scratch_name);
  for (const auto& entry : fs::directory_iterator(config_fixture(fixture)))
    fs::copy_file(entry.path(), dir / entry.path().filename(),
                  fs::copy_options::overwrite_existing);
  return dir;
}

fs::path make_model_folder(const std::string& fixture, const std::string& scratch_name,
                           const TinyCheckpointOptions& options) {
  const auto dir = copy_fixture(fixture, scratch_name);
  const auto config = ModelConfig::load(dir);
  std::vector<SafetensorsWriter> writers(static_cast<std::size_t>(options.shards));
  nlohmann::json weight_map = nlohmann::json::object();
  std::size_t index = 0;
  auto add = [&](const std::string& name, DType dtype, std::vector<std::int64_t> shape) {
    std::int64_t count = 1;
    for (const auto dim : shape) count *= dim;
    const std::vector<std::byte> bytes(static_cast<std::size_t>(count) * dtype_size(dtype));
    const auto shard = index++ % writers.size();
    writers[shard].add(name, dtype, std::move(shape), bytes);
    weight_map[name] = "model-0000" + std::to_string(shard + 1) + "-of-0000" +
                       std::to_string(writers.size()) + ".safetensors";
  };
  for (const auto& tensor : expected_tensors(config)) {
    if (tensor.name == options.drop) continue;
    if (tensor.optional && !options.write_tied_lm_head) continue;
    auto shape = tensor.shape;
    if (tensor.name == options.reshape) ++shape[0];
    add(options.legacy_names ? legacy_tensor_name(config.family, tensor.name) : tensor.name,
        options.dtype, shape);
  }
  if (!options.extra.empty()) add(options.extra, DType::F32, {4});
  if (!options.buffer.empty()) add(options.buffer, DType::F32, {8});
  if (writers.size() == 1) {
    writers.front().write(dir / "model.safetensors");
    return dir;
  }
  for (std::size_t i = 0; i < writers.size(); ++i)
    writers[i].write(dir / ("model-0000" + std::to_string(i + 1) + "-of-0000" +
                            std::to_string(writers.size()) + ".safetensors"));
  std::ofstream(dir / "model.safetensors.index.json")
      << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2);
  return dir;
}

}  // namespace vlmrt::testing
