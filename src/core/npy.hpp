// NumPy .npy (format version 1.0) writing and reading for float32/int64 C-order arrays: the
// interchange format of `vlmrt preprocess` and of golden test data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace vlmrt::npy {

// Writes atomically (temp file + rename). InvalidArgument when the shape does not hold exactly
// values.size() elements.
void write_f32(const std::filesystem::path& path, std::span<const std::int64_t> shape,
               std::span<const float> values);
void write_i64(const std::filesystem::path& path, std::span<const std::int64_t> shape,
               std::span<const std::int64_t> values);

template <typename T>
struct Array {
  std::vector<std::int64_t> shape;
  std::vector<T> values;
};
// Reads a little-endian '<f4' C-order array; any other layout is a Format error naming the file.
Array<float> read_f32(const std::filesystem::path& path);

}  // namespace vlmrt::npy
