// Host-side tensors for graph inputs, in whatever element type the graph declares (float32 /
// float16 activations, int64 / int32 ids, bool / int64 masks), and reading float outputs back.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vlmrt::onnx {

// An Ort::Value over host memory. When the graph's type is the source's type the value is a view
// of the caller's data (which must outlive it); otherwise it owns a converted copy.
class HostTensor {
 public:
  HostTensor() = default;
  // Float data as float32 / float16 / bfloat16.
  HostTensor(std::span<const float> values, ONNXTensorElementDataType type,
             const std::vector<std::int64_t>& shape, const Ort::MemoryInfo& memory);
  // Integer data as int64 / int32.
  HostTensor(std::span<const std::int64_t> values, ONNXTensorElementDataType type,
             const std::vector<std::int64_t>& shape, const Ort::MemoryInfo& memory);
  // A 0/1 mask as bool / uint8 / int64 / int32.
  static HostTensor from_mask(std::span<const std::uint8_t> mask, ONNXTensorElementDataType type,
                              const std::vector<std::int64_t>& shape,
                              const Ort::MemoryInfo& memory);

  const Ort::Value& value() const noexcept { return value_; }

 private:
  void make_value(const void* data, std::size_t bytes, ONNXTensorElementDataType type,
                  const std::vector<std::int64_t>& shape, const Ort::MemoryInfo& memory);

  std::vector<std::byte> storage_;
  Ort::Value value_{nullptr};
};

// A float tensor (float32 / float16 / bfloat16) on the host as float32; Internal error unless it
// holds exactly `count` elements.
std::vector<float> to_float_vector(const Ort::Value& value, std::size_t count);
// The last `count` elements of a host float tensor as float32, into `out` (resized).
void last_floats(const Ort::Value& value, std::size_t count, std::vector<float>& out);

// "[1,2,0,16]".
std::string shape_string(const std::vector<std::int64_t>& shape);

// Elements of `shape`; -1 when a dim is negative or the product overflows.
std::int64_t element_count(const std::vector<std::int64_t>& shape) noexcept;

}  // namespace vlmrt::onnx
