// Checkpoints: one safetensors file, or shards tied together by model.safetensors.index.json.
#include <algorithm>
#include <set>
#include <system_error>

#include "core/mapped_file.hpp"
#include "core/safetensors.hpp"
#include "core/safetensors_internal.hpp"
#include "core/strict_json.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {

namespace fs = std::filesystem;
using safetensors_detail::quote;

namespace {

constexpr std::string_view kIndexName = "model.safetensors.index.json";
constexpr std::string_view kSingleName = "model.safetensors";

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(),
                                                      suffix.data(), suffix.size()) == 0;
}

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Regular *.safetensors files directly in `folder`, sorted by name.
std::vector<fs::path> safetensors_files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".safetensors" && is_file(it->path()))
      files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Why a shard name from an index is refused, or empty when it is acceptable.
std::string shard_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.find('\0') != std::string::npos) return "contains a NUL character";
  const fs::path path(name);
  if (path.is_absolute() || path.has_root_name() || path.has_root_directory())
    return "is an absolute path; shards must be inside the model folder";
  for (const auto& part : path)
    if (part == "..") return "leaves the model folder ('..'); shards must be inside it";
  return {};
}

}  // namespace

std::map<std::string, std::string> parse_safetensors_index(std::string_view text,
                                                           const std::string& source,
                                                           const SafetensorsLimits& limits) {
  if (text.size() > limits.max_header_bytes)
    throw Error(ErrorKind::LimitExceeded,
                source + ": " + std::to_string(text.size()) + " bytes is above the limit of " +
                    std::to_string(limits.max_header_bytes) + " for an index file");
  const json::Json root = json::parse_strict(text, source, "index", 8);
  if (!root.is_object())
    throw Error(ErrorKind::Format, source + ": must be a JSON object with a 'weight_map', found " +
                                       std::string(root.type_name()));
  const auto metadata = root.find("metadata");
  if (metadata != root.end() && !metadata->is_object() && !metadata->is_null())
    throw Error(ErrorKind::Format, source + ": 'metadata' must be an object, found " +
                                       std::string(metadata->type_name()));
  const auto weight_map = root.find("weight_map");
  if (weight_map == root.end())
    throw Error(ErrorKind::Format, source + ": 'weight_map' (tensor name → shard file) is missing");
  if (!weight_map->is_object())
    throw Error(ErrorKind::Format, source + ": 'weight_map' must be an object, found " +
                                       std::string(weight_map->type_name()));
  std::map<std::string, std::string> result;
  for (const auto& [tensor, shard] : weight_map->items()) {
    const std::string where = source + ": weight_map entry " + quote(tensor);
    if (!shard.is_string())
      throw Error(ErrorKind::Format, where + " must be a shard file name (a string), found " +
                                         std::string(shard.type_name()));
    const auto& name = shard.get_ref<const std::string&>();
    const std::string problem = shard_name_problem(name);
    if (!problem.empty())
      throw Error(ErrorKind::Format, where + ": shard name " + quote(name) + " " + problem);
    result.emplace(tensor, name);
  }
  if (result.empty()) throw Error(ErrorKind::Format, source + ": 'weight_map' lists no tensors");
  return result;
}

namespace {

void open_single(const fs::path& file, const SafetensorsLimits& limits,
                 std::vector<SafetensorsFile>& shards,
                 std::map<std::string, std::size_t, std::less<>>& shard_of) {
  shards.push_back(SafetensorsFile::open(file, limits));
  for (const auto& info : shards.back().tensors()) shard_of.emplace(info.name, 0);
}

void open_index(const fs::path& index_path, const SafetensorsLimits& limits,
                std::vector<SafetensorsFile>& shards,
                std::map<std::string, std::size_t, std::less<>>& shard_of) {
  const std::string source = index_path.string();
  const MappedFile index_file = MappedFile::open(index_path);
  const auto bytes = index_file.bytes();
  const auto weight_map = parse_safetensors_index(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), source, limits);

  std::map<std::string, std::string> example_tensor;  // shard → a tensor listed in it
  for (const auto& [tensor, shard] : weight_map) example_tensor.emplace(shard, tensor);
  const fs::path folder = index_path.parent_path();
  std::vector<std::string> shard_names;
  for (const auto& [shard, tensor] : example_tensor) {
    const fs::path path = folder / shard;
    if (!is_file(path))
      throw Error(ErrorKind::NotFound, source + ": shard " + quote(shard) + " (holding " +
                                           quote(tensor) + ") not found at " + path.string());
    shards.push_back(SafetensorsFile::open(path, limits));
    shard_names.push_back(shard);
  }

  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (const auto& info : shards[i].tensors()) {
      const auto [it, inserted] = shard_of.emplace(info.name, i);
      if (!inserted)
        throw Error(ErrorKind::Format, source + ": tensor " + quote(info.name) +
                                           " is in two shards, " + quote(shard_names[it->second]) +
                                           " and " + quote(shard_names[i]));
      if (weight_map.find(info.name) == weight_map.end())
        throw Error(ErrorKind::Format, shards[i].path().string() + ": tensor " + quote(info.name) +
                                           " is not listed in " + source +
                                           " (a stale or foreign shard?)");
    }
  }
  for (const auto& [tensor, shard] : weight_map) {
    const auto it = shard_of.find(tensor);
    if (it == shard_of.end())
      throw Error(ErrorKind::Format, source + ": tensor " + quote(tensor) + " is listed in shard " +
                                         quote(shard) + " but that file does not hold it");
    if (shard_names[it->second] != shard)
      throw Error(ErrorKind::Format, source + ": tensor " + quote(tensor) + " is listed in shard " +
                                         quote(shard) + " but is in " +
                                         quote(shard_names[it->second]));
  }
}

}  // namespace

Checkpoint Checkpoint::open(const fs::path& location, const SafetensorsLimits& limits) {
  Checkpoint checkpoint;
  checkpoint.location_ = location;
  std::error_code ec;
  const auto status = fs::status(location, ec);
  if (!fs::exists(status))
    throw Error(ErrorKind::NotFound, location.string() + ": no such file or folder");

  if (!fs::is_directory(status)) {
    // A file given directly: an index when it is JSON, otherwise a safetensors file.
    if (ends_with(location.filename().string(), ".json"))
      open_index(location, limits, checkpoint.shards_, checkpoint.shard_of_);
    else
      open_single(location, limits, checkpoint.shards_, checkpoint.shard_of_);
    return checkpoint;
  }

  if (is_file(location / kIndexName)) {
    open_index(location / kIndexName, limits, checkpoint.shards_, checkpoint.shard_of_);
  } else if (is_file(location / kSingleName)) {
    open_single(location / kSingleName, limits, checkpoint.shards_, checkpoint.shard_of_);
  } else {
    const auto files = safetensors_files_in(location);
    if (files.empty())
      throw Error(ErrorKind::NotFound, location.string() + ": no safetensors weights (looked for " +
                                           std::string(kIndexName) + ", " +
                                           std::string(kSingleName) + " and *.safetensors)");
    if (files.size() > 1) {
      std::string names;
      for (std::size_t i = 0; i < files.size() && i < 4; ++i)
        names += (i ? ", " : "") + files[i].filename().string();
      if (files.size() > 4) names += ", ...";
      throw Error(ErrorKind::NotFound,
                  location.string() + ": " + std::to_string(files.size()) +
                      " .safetensors files (" + names + ") but no " + std::string(kIndexName) +
                      " to say how they form one checkpoint; pass one file or the index");
    }
    open_single(files.front(), limits, checkpoint.shards_, checkpoint.shard_of_);
  }
  return checkpoint;
}

bool Checkpoint::exists_in(const fs::path& model_dir) {
  return is_file(model_dir / kIndexName) || !safetensors_files_in(model_dir).empty();
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(shard_of_.size());
  for (const auto& [name, shard] : shard_of_) names.push_back(name);
  return names;
}

const TensorInfo* Checkpoint::find(std::string_view name) const noexcept {
  const auto it = shard_of_.find(name);
  return it == shard_of_.end() ? nullptr : shards_[it->second].find(name);
}

TensorView Checkpoint::view(std::string_view name) const {
  const auto it = shard_of_.find(name);
  if (it == shard_of_.end())
    throw Error(ErrorKind::NotFound,
                location_.string() + ": checkpoint has no tensor named " + quote(name));
  return shards_[it->second].view(name);
}

std::uint64_t Checkpoint::parameter_count() const noexcept {
  std::uint64_t total = 0;
  for (const auto& shard : shards_)
    for (const auto& info : shard.tensors())
      total += static_cast<std::uint64_t>(info.element_count());
  return total;
}

}  // namespace vlmrt
