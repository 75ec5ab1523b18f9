// Minimal .npy reader/writer for vlmrt_onnx_check: little-endian, C order, the element types an
// ONNX export of these models uses (float32/float16/float64, int64/int32/int8, uint8, bool).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlmrt::onnx_check {

enum class NpyType { kFloat32, kFloat16, kFloat64, kInt64, kInt32, kInt8, kUint8, kBool };

struct NpyArray {
  NpyType type = NpyType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // element_count(shape) * npy_item_size(type) bytes
};

// "float32", "int64", ... as printed by --describe and in error messages.
const char* npy_type_name(NpyType type);
size_t npy_item_size(NpyType type);

// Reads PATH; throws std::runtime_error naming the file and what is wrong (bad magic, header
// past the end, Fortran order, unsupported dtype, data size that does not match the shape).
NpyArray read_npy(const std::string& path);

// Writes a version 1.0 .npy file; throws std::runtime_error when the file cannot be written.
void write_npy(const std::string& path, const NpyArray& array);

}  // namespace vlmrt::onnx_check
