#include "backends/native/model/model_weights.hpp"

#include <cstring>
#include <string>

#include "models/tensor_inventory.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

// At most this many names per category in an inventory error: enough to see the pattern.
constexpr std::size_t kNamesShown = 4;

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < kNamesShown; ++i)
    text += (i ? ", " : "") + names[i];
  if (names.size() > kNamesShown) text += ", … (" + std::to_string(names.size()) + " in all)";
  return text;
}

std::string inventory_problems(const InventoryReport& report) {
  std::string text;
  if (!report.missing.empty()) text += "missing tensors: " + list_names(report.missing);
  if (!report.wrong_shape.empty()) {
    std::vector<std::string> shapes;
    for (const auto& wrong : report.wrong_shape) shapes.push_back(wrong.message());
    text += (text.empty() ? "" : "; ") + list_names(shapes);
  }
  if (!report.unexpected.empty())
    text += (text.empty() ? "" : "; ") +
            ("tensors the config does not explain: " + list_names(report.unexpected));
  return text;
}

bool engine_runs(DType dtype) {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
}

}  // namespace

ModelWeights ModelWeights::open(const std::filesystem::path& model_dir, const ModelConfig& config) {
  if (!Checkpoint::exists_in(model_dir))
    throw Error(ErrorKind::NotFound, model_dir.string() +
                                         ": no *.safetensors weights in this folder (the native "
                                         "backend needs the Hugging Face checkpoint)");
  Checkpoint checkpoint = Checkpoint::open(model_dir);
  const InventoryReport report = check_inventory(config, checkpoint);
  if (!report.ok())
    throw Error(ErrorKind::Format, checkpoint.location().string() +
                                       ": checkpoint does not match config.json: " +
                                       inventory_problems(report) + " (run `vlmrt info` for all)");
  for (const auto& count : report.dtypes)
    if (!engine_runs(count.dtype))
      throw Error(ErrorKind::Unsupported, checkpoint.location().string() + ": " +
                                              std::to_string(count.tensors) + " tensors are " +
                                              std::string(dtype_name(count.dtype)) +
                                              "; the native engine runs F32, BF16 and F16 weights");
  return ModelWeights(std::move(checkpoint), config.family);
}

TensorView ModelWeights::view(std::string_view name) const {
  if (const TensorInfo* info = checkpoint_.find(name); info != nullptr)
    return checkpoint_.view(name);
  const std::string legacy = legacy_tensor_name(family_, name);
  if (checkpoint_.find(legacy) != nullptr) return checkpoint_.view(legacy);
  throw Error(ErrorKind::NotFound,
              checkpoint_.location().string() + ": no tensor '" + std::string(name) + "'");
}

WeightMatrix ModelWeights::matrix(std::string_view name) const {
  const TensorView tensor = view(name);
  const auto& shape = tensor.info->shape;
  if (shape.size() < 2)
    throw Error(ErrorKind::Format, checkpoint_.location().string() + ": tensor '" +
                                       std::string(name) + "' has shape " + format_shape(shape) +
                                       ", expected a matrix");
  WeightMatrix matrix;
  matrix.dtype = tensor.info->dtype;
  matrix.data = tensor.bytes.data();
  matrix.out_features = shape[0];
  matrix.in_features = shape[0] == 0 ? 0 : tensor.info->element_count() / shape[0];
  return matrix;
}

std::vector<float> ModelWeights::vector_f32(std::string_view name) const {
  const TensorView tensor = view(name);
  const std::int64_t count = tensor.info->element_count();
  if (tensor.info->shape.size() != 1)
    throw Error(ErrorKind::Format, checkpoint_.location().string() + ": tensor '" +
                                       std::string(name) + "' has shape " +
                                       format_shape(tensor.info->shape) + ", expected a vector");
  std::vector<float> values(static_cast<std::size_t>(count));
  const std::byte* bytes = tensor.bytes.data();
  // Element by element through memcpy: safetensors data need not be aligned.
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (tensor.info->dtype == DType::F32) {
      std::memcpy(&values[i], bytes + 4 * i, 4);
      continue;
    }
    std::uint16_t half = 0;
    std::memcpy(&half, bytes + 2 * i, 2);
    values[i] = tensor.info->dtype == DType::BF16 ? bf16_to_f32(half) : f16_to_f32(half);
  }
  return values;
}

}  // namespace vlmrt::native
