#include "backends/onnx/graph_session.hpp"

#include <algorithm>
#include <utility>

namespace vlmrt::onnx {

namespace {

PortInfo port_info(std::string name, const Ort::TypeInfo& info) {
  PortInfo port;
  port.name = std::move(name);
  if (info.GetONNXType() != ONNX_TYPE_TENSOR) return port;
  // The tensor info is a view into `info`, which the caller keeps alive (DEPENDENCIES.md).
  const auto tensor = info.GetTensorTypeAndShapeInfo();
  port.is_tensor = true;
  port.type = tensor.GetElementType();
  port.dims = tensor.GetShape();
  for (const char* symbol : tensor.GetSymbolicDimensions())
    port.dim_names.emplace_back(symbol ? symbol : "");
  port.dim_names.resize(port.dims.size());
  return port;
}

const PortInfo* find_port(const std::vector<PortInfo>& ports, std::string_view name) noexcept {
  const auto it = std::find_if(ports.begin(), ports.end(),
                               [&](const PortInfo& port) { return port.name == name; });
  return it == ports.end() ? nullptr : &*it;
}

std::string port_names(const std::vector<PortInfo>& ports) {
  std::string text;
  for (const PortInfo& port : ports) {
    if (!text.empty()) text += ", ";
    text += port.name;
  }
  return text.empty() ? "none" : text;
}

std::string label_of(const std::filesystem::path& path) {
  const auto parent = path.parent_path().filename();
  return parent.empty() ? path.filename().string() : (parent / path.filename()).string();
}

}  // namespace

std::string element_type_name(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      return "bfloat16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
      return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      return "bool";
    default:
      return "type " + std::to_string(static_cast<int>(type));
  }
}

std::size_t element_size(ONNXTensorElementDataType type) noexcept {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      return 8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      return 2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      return 1;
    default:
      return 0;
  }
}

std::string port_text(const PortInfo& port) {
  if (!port.is_tensor) return "(not a tensor)";
  std::string text = element_type_name(port.type) + " [";
  for (std::size_t i = 0; i < port.dims.size(); ++i) {
    if (i) text += ",";
    if (port.dims[i] >= 0) {
      text += std::to_string(port.dims[i]);
    } else {
      text += port.dim_names[i].empty() ? "?" : port.dim_names[i];
    }
  }
  return text + "]";
}

ErrorKind error_kind_of(OrtErrorCode code) noexcept {
  switch (code) {
    case ORT_NO_SUCHFILE:
      return ErrorKind::NotFound;
    case ORT_INVALID_PROTOBUF:
    case ORT_INVALID_GRAPH:
    case ORT_NO_MODEL:
      return ErrorKind::Format;
    case ORT_NOT_IMPLEMENTED:
      return ErrorKind::Unsupported;
    default:
      return ErrorKind::Backend;
  }
}

GraphSession::GraphSession(Ort::Env& env, std::filesystem::path path,
                           const Ort::SessionOptions& options)
    : path_(std::move(path)), label_(label_of(path_)) {
  try {
    session_ = Ort::Session(env, path_.c_str(), options);
    Ort::AllocatorWithDefaultOptions allocator;
    for (std::size_t i = 0; i < session_.GetInputCount(); ++i) {
      const Ort::TypeInfo info = session_.GetInputTypeInfo(i);
      inputs_.push_back(port_info(session_.GetInputNameAllocated(i, allocator).get(), info));
    }
    for (std::size_t i = 0; i < session_.GetOutputCount(); ++i) {
      const Ort::TypeInfo info = session_.GetOutputTypeInfo(i);
      outputs_.push_back(port_info(session_.GetOutputNameAllocated(i, allocator).get(), info));
    }
    for (std::size_t i = 0; i < session_.GetOverridableInitializerCount(); ++i) {
      const Ort::TypeInfo info = session_.GetOverridableInitializerTypeInfo(i);
      defaults_.push_back(
          port_info(session_.GetOverridableInitializerNameAllocated(i, allocator).get(), info));
    }
  } catch (const Ort::Exception& e) {
    const ErrorKind kind = error_kind_of(e.GetOrtErrorCode());
    throw Error(kind,
                path_.string() + ": ONNX Runtime cannot load this graph" +
                    (kind == ErrorKind::Format ? " (a truncated or corrupt .onnx file?)" : "") +
                    ": " + e.what());
  }
}

const PortInfo* GraphSession::find_input(std::string_view name) const noexcept {
  return find_port(inputs_, name);
}
const PortInfo* GraphSession::find_output(std::string_view name) const noexcept {
  return find_port(outputs_, name);
}
const PortInfo* GraphSession::find_default(std::string_view name) const noexcept {
  return find_port(defaults_, name);
}

namespace {

const PortInfo& require_port(const std::string& label, const char* kind,
                             const std::vector<PortInfo>& ports, std::string_view name,
                             std::size_t rank,
                             std::initializer_list<ONNXTensorElementDataType> types) {
  const PortInfo* port = find_port(ports, name);
  if (!port)
    throw Error(ErrorKind::Format, label + ": no " + kind + " named '" + std::string(name) +
                                       "' (the graph's " + kind + "s: " + port_names(ports) + ")");
  std::string expected;
  for (ONNXTensorElementDataType type : types) {
    if (!expected.empty()) expected += " or ";
    expected += element_type_name(type);
  }
  const bool type_ok = std::find(types.begin(), types.end(), port->type) != types.end();
  if (!port->is_tensor || !type_ok || port->rank() != rank)
    throw Error(ErrorKind::Format, label + ": " + kind + " '" + port->name + "' is " +
                                       port_text(*port) + ", expected a " + expected +
                                       " tensor of rank " + std::to_string(rank));
  return *port;
}

}  // namespace

const PortInfo& GraphSession::require_input(
    std::string_view name, std::size_t rank,
    std::initializer_list<ONNXTensorElementDataType> types) const {
  return require_port(label_, "input", inputs_, name, rank, types);
}

const PortInfo& GraphSession::require_output(
    std::string_view name, std::size_t rank,
    std::initializer_list<ONNXTensorElementDataType> types) const {
  return require_port(label_, "output", outputs_, name, rank, types);
}

void GraphSession::require_dim(const PortInfo& port, std::size_t axis, std::int64_t expected,
                               std::string_view what) const {
  if (!port.fixed(axis) || port.dims[axis] == expected) return;
  throw Error(ErrorKind::Format, label_ + ": '" + port.name + "' is " + port_text(port) + ": dim " +
                                     std::to_string(axis) + " is " +
                                     std::to_string(port.dims[axis]) + ", but " +
                                     std::string(what) + " is " + std::to_string(expected));
}

void GraphSession::run(Ort::IoBinding& binding, std::string_view what) {
  try {
    session_.Run(run_options_, binding);
  } catch (const Ort::Exception& e) {
    throw Error(ErrorKind::Backend, label_ + ": ONNX Runtime failed to run it (" +
                                        std::string(what) + "): " + e.what());
  }
}

}  // namespace vlmrt::onnx
