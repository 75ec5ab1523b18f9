// safetensors checkpoints: a validated, memory-mapped reader (single file or a sharded set with
// model.safetensors.index.json) and a writer. Format: u64 little-endian header length N, N bytes
// of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the data section; offsets are relative to the start of the data section.
//
// Every number read from a file is checked before use: a malformed file gives a Format (or
// LimitExceeded / Unsupported) error naming the file and the tensor, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"

namespace vlmrt {

class MappedFile;  // read-only mmap of a whole file (core/mapped_file.hpp)

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t data_begin = 0;  // relative to the data section
  std::uint64_t data_end = 0;
  std::int64_t element_count() const noexcept;
  std::uint64_t byte_size() const noexcept { return data_end - data_begin; }
};

// A zero-copy view into a mapped file; valid while the SafetensorsFile/Checkpoint lives.
struct TensorView {
  const TensorInfo* info = nullptr;
  std::span<const std::byte> bytes;
};

struct SafetensorsLimits {
  std::uint64_t max_header_bytes = 100ull << 20;  // real headers are well under 1 MB
  std::size_t max_rank = 8;
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path, const SafetensorsLimits& limits = {});
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;

  const std::filesystem::path& path() const noexcept { return path_; }
  // In data-offset order.
  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  const TensorInfo* find(std::string_view name) const noexcept;
  // Throws NotFound naming the tensor and the file.
  TensorView view(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::unique_ptr<MappedFile> mapping_;
  std::span<const std::byte> data_section_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model: `model.safetensors`, a sharded set described by
// `model.safetensors.index.json` (weight_map: tensor → shard file), or a single given file.
class Checkpoint {
 public:
  // `location` is a model folder or a .safetensors / .index.json file. A tensor listed in the
  // index but absent from its shard, or present in two shards, is a Format error.
  static Checkpoint open(const std::filesystem::path& location, const SafetensorsLimits& limits = {});
  static bool exists_in(const std::filesystem::path& model_dir);  // any safetensors weights there?

  const std::vector<SafetensorsFile>& shards() const noexcept { return shards_; }
  std::vector<std::string> tensor_names() const;  // sorted
  const TensorInfo* find(std::string_view name) const noexcept;
  TensorView view(std::string_view name) const;
  std::uint64_t parameter_count() const noexcept;  // sum of element counts

 private:
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t, std::less<>> shard_of_;
};

// Builds a safetensors file in memory and writes it (tensors are laid out in the order added,
// each aligned to 8 bytes as the reference implementation does via header padding).
class SafetensorsWriter {
 public:
  // Throws InvalidArgument for a duplicate name or when bytes.size() != product(shape)·dtype_size.
  void add(std::string name, DType dtype, std::vector<std::int64_t> shape, std::span<const std::byte> bytes);
  void set_metadata(std::string key, std::string value);
  std::vector<std::byte> serialize() const;
  void write(const std::filesystem::path& path) const;  // atomic: temp file + rename

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vlmrt
