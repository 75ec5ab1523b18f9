// NumPy .npy reading and writing for little-endian C-order arrays: the interchange format of
// `vlmrt preprocess`, of golden test data and of vlmrt_onnx_check (tools/onnx_check). Writes
// format version 1.0; reads 1.0, 2.0 and 3.0 (they differ only in the header-length field).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace vlmrt::npy {

// The element types an ONNX export of the supported models uses.
enum class ElementType { Float32, Float16, Float64, Int64, Int32, Int8, Uint8, Bool };

// NumPy's dtype.str for the type: "<f4", "<f2", "<f8", "<i8", "<i4", "|i1", "|u1", "|b1".
std::string_view descr(ElementType type) noexcept;
// "float32", "float16", ... (NumPy's dtype names), for messages and tools.
std::string_view type_name(ElementType type) noexcept;
std::size_t item_size(ElementType type) noexcept;

// Any supported array as raw little-endian bytes: bytes.size() is the shape's element count
// times item_size(type). An empty shape is a 0-d array (one element).
struct RawArray {
  ElementType type = ElementType::Float32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;
};

// Reads any supported C-order array. NotFound when the file does not exist, Io when it cannot be
// read, Format (naming the file and what is wrong) for a bad magic or version, a header past the
// end of the file, an unsupported descr, Fortran order, an unreadable or overflowing shape, or
// data whose size does not match the shape.
RawArray read_raw(const std::filesystem::path& path);

// Writes atomically (temp file + rename). InvalidArgument for a negative dimension or when
// array.bytes does not hold exactly the shape's elements; Io when the file cannot be written.
void write_raw(const std::filesystem::path& path, const RawArray& array);

// Typed shorthands over the same format.
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
