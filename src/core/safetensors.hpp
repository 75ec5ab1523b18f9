// safetensors checkpoints: a validated, memory-mapped reader (single file or a sharded set with
// model.safetensors.index.json) and a writer. Format: u64 little-endian header length N, N bytes
// of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the data section; offsets are relative to the start of the data section.
//
// Every number read from a file is checked before use: a malformed file gives a Format (or
// LimitExceeded / Unsupported) error naming the file and the tensor, never a crash.
//
// Layout policy: tensors may not overlap, but gaps between tensors and unused bytes after the
// last one are accepted (the reference Rust reader demands a contiguous data section; readers of
// other writers' files gain nothing by being that strict). The writer always writes contiguous
// files, so everything vlmrt writes is readable by the reference library.
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
  // Product of the dims (1 for a scalar); -1 when a dim is negative or the product overflows,
  // which never happens for a TensorInfo that came from a validated file.
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

// The validated header of a safetensors file held in memory. This is the parser open() uses; it
// is exposed so the fuzzer and tests exercise it without file I/O.
struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_offset = 0;  // where the data section starts in the file: 8 + header length
  std::uint64_t data_size = 0;    // bytes from data_offset to the end of the file
};
// `file_bytes` is the whole file, but only its first 8 + N bytes (the header) are read.
// `source` names the file in error messages.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::string& source,
                                           const SafetensorsLimits& limits = {});

// The weight_map of a model.safetensors.index.json (tensor name → shard file name), validated:
// a JSON object with a "weight_map" object of strings (and an optional "metadata" object), no
// duplicate keys, every shard name a relative path that stays inside the model folder.
std::map<std::string, std::string> parse_safetensors_index(std::string_view text,
                                                           const std::string& source,
                                                           const SafetensorsLimits& limits = {});

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path,
                              const SafetensorsLimits& limits = {});
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
  // `location` is a model folder or a .safetensors / .index.json file. A folder is searched for
  // model.safetensors.index.json, then model.safetensors, then a single *.safetensors file.
  // A tensor listed in the index but absent from its shard, present in two shards, or present in
  // a shard but missing from the index (a stale or foreign shard) is a Format error.
  static Checkpoint open(const std::filesystem::path& location,
                         const SafetensorsLimits& limits = {});
  static bool exists_in(const std::filesystem::path& model_dir);  // any safetensors weights there?

  const std::vector<SafetensorsFile>& shards() const noexcept { return shards_; }
  std::vector<std::string> tensor_names() const;  // sorted
  const TensorInfo* find(std::string_view name) const noexcept;
  TensorView view(std::string_view name) const;
  std::uint64_t parameter_count() const noexcept;  // sum of element counts
  const std::filesystem::path& location() const noexcept { return location_; }

 private:
  std::filesystem::path location_;  // the file or folder given to open(), for messages
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t, std::less<>> shard_of_;
};

// Builds a safetensors file in memory and writes it. Tensors are laid out contiguously in the
// order added (the reference reader rejects gaps); the header JSON is padded with spaces so the
// data section starts at a multiple of 8, as the reference writer does. A tensor is therefore
// 8-aligned only when the tensors before it fill a multiple of 8 bytes.
class SafetensorsWriter {
 public:
  // Throws InvalidArgument for a duplicate name or when bytes.size() != product(shape)·dtype_size
  // (also for a negative dim, a name that is not UTF-8, or the reserved name "__metadata__").
  void add(std::string name, DType dtype, std::vector<std::int64_t> shape,
           std::span<const std::byte> bytes);
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
