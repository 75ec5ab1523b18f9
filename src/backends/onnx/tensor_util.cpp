#include "backends/onnx/tensor_util.hpp"

#include <cstring>
#include <limits>

#include "backends/onnx/graph_session.hpp"
#include "core/dtype.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::onnx {

namespace {

[[noreturn]] void unsupported_type(ONNXTensorElementDataType type, const char* what) {
  throw Error(ErrorKind::Unsupported, std::string(what) + " of element type " +
                                          element_type_name(type) +
                                          " are not supported by the ONNX backend");
}

template <typename T, typename Source, typename Convert>
std::vector<std::byte> convert(std::span<const Source> values, Convert convert_one) {
  std::vector<std::byte> bytes(values.size() * sizeof(T));
  T* out = reinterpret_cast<T*>(bytes.data());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = convert_one(values[i]);
  return bytes;
}

}  // namespace

std::int64_t element_count(const std::vector<std::int64_t>& shape) noexcept {
  std::int64_t count = 1;
  for (std::int64_t dim : shape) {
    if (dim < 0) return -1;
    if (dim != 0 && count > std::numeric_limits<std::int64_t>::max() / dim) return -1;
    count *= dim;
  }
  return count;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

void HostTensor::make_value(const void* data, std::size_t bytes, ONNXTensorElementDataType type,
                            const std::vector<std::int64_t>& shape, const Ort::MemoryInfo& memory) {
  if (element_count(shape) < 0 ||
      static_cast<std::size_t>(element_count(shape)) * element_size(type) != bytes)
    throw Error(ErrorKind::Internal, "ONNX backend: a host tensor of shape " + shape_string(shape) +
                                         " was given " + std::to_string(bytes) + " bytes");
  // ORT reads inputs only; the const_cast is its C API's signature, not a write.
  value_ = Ort::Value::CreateTensor(memory, const_cast<void*>(data), bytes, shape.data(),
                                    shape.size(), type);
}

HostTensor::HostTensor(std::span<const float> values, ONNXTensorElementDataType type,
                       const std::vector<std::int64_t>& shape, const Ort::MemoryInfo& memory) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      make_value(values.data(), values.size_bytes(), type, shape, memory);
      return;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      storage_ = convert<std::uint16_t>(values, [](float v) { return f32_to_f16(v); });
      break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      storage_ = convert<std::uint16_t>(values, [](float v) { return f32_to_bf16(v); });
      break;
    default:
      unsupported_type(type, "float inputs");
  }
  make_value(storage_.data(), storage_.size(), type, shape, memory);
}

HostTensor::HostTensor(std::span<const std::int64_t> values, ONNXTensorElementDataType type,
                       const std::vector<std::int64_t>& shape, const Ort::MemoryInfo& memory) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      make_value(values.data(), values.size_bytes(), type, shape, memory);
      return;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      storage_ = convert<std::int32_t>(values, [](std::int64_t v) {
        return static_cast<std::int32_t>(v);  // ids and positions fit: checked by the caller
      });
      break;
    default:
      unsupported_type(type, "integer inputs");
  }
  make_value(storage_.data(), storage_.size(), type, shape, memory);
}

HostTensor HostTensor::from_mask(std::span<const std::uint8_t> mask, ONNXTensorElementDataType type,
                                 const std::vector<std::int64_t>& shape,
                                 const Ort::MemoryInfo& memory) {
  HostTensor tensor;
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      // ONNX bool is one byte, 0 or 1: the mask's own bytes.
      tensor.storage_ = convert<std::uint8_t>(
          mask, [](std::uint8_t v) -> std::uint8_t { return v != 0 ? 1 : 0; });
      break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      tensor.storage_ = convert<std::int64_t>(
          mask, [](std::uint8_t v) -> std::int64_t { return v != 0 ? 1 : 0; });
      break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      tensor.storage_ = convert<std::int32_t>(
          mask, [](std::uint8_t v) -> std::int32_t { return v != 0 ? 1 : 0; });
      break;
    default:
      unsupported_type(type, "mask inputs");
  }
  tensor.make_value(tensor.storage_.data(), tensor.storage_.size(), type, shape, memory);
  return tensor;
}

namespace {

void floats_from(const Ort::Value& value, std::size_t offset, std::size_t count, float* out) {
  const auto info = value.GetTensorTypeAndShapeInfo();
  const ONNXTensorElementDataType type = info.GetElementType();
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      std::memcpy(out, value.GetTensorData<float>() + offset, count * sizeof(float));
      return;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      f16_to_f32({static_cast<const std::uint16_t*>(value.GetTensorRawData()) + offset, count},
                 {out, count});
      return;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      bf16_to_f32({static_cast<const std::uint16_t*>(value.GetTensorRawData()) + offset, count},
                  {out, count});
      return;
    default:
      unsupported_type(type, "float outputs");
  }
}

std::size_t checked_count(const Ort::Value& value, std::size_t at_least) {
  const std::size_t count = value.GetTensorTypeAndShapeInfo().GetElementCount();
  if (count < at_least)
    throw Error(ErrorKind::Internal, "ONNX backend: an output of " + std::to_string(count) +
                                         " elements where " + std::to_string(at_least) +
                                         " were expected");
  return count;
}

}  // namespace

std::vector<float> to_float_vector(const Ort::Value& value, std::size_t count) {
  if (checked_count(value, count) != count)
    throw Error(ErrorKind::Internal,
                "ONNX backend: an output of " + std::to_string(checked_count(value, 0)) +
                    " elements where " + std::to_string(count) + " were expected");
  std::vector<float> out(count);
  if (count) floats_from(value, 0, count, out.data());
  return out;
}

void last_floats(const Ort::Value& value, std::size_t count, std::vector<float>& out) {
  const std::size_t total = checked_count(value, count);
  out.resize(count);
  if (count) floats_from(value, total - count, count, out.data());
}

}  // namespace vlmrt::onnx
