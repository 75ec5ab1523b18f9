// vlmrt_onnx_check: runs one .onnx graph with ONNX Runtime's CPU provider on inputs read from
// .npy files and writes every output as .npy. scripts/export_onnx.py uses it to check its exports
// (Python here has no onnxruntime), tests use it to run the exported graphs step by step.
#include <onnxruntime_cxx_api.h>

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/npy.hpp"

namespace {

namespace fs = std::filesystem;
namespace npy = vlmrt::npy;

std::optional<npy::ElementType> npy_type(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      return npy::ElementType::Float32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      return npy::ElementType::Float16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
      return npy::ElementType::Float64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      return npy::ElementType::Int64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      return npy::ElementType::Int32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      return npy::ElementType::Int8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      return npy::ElementType::Uint8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      return npy::ElementType::Bool;
    default:
      return std::nullopt;
  }
}

ONNXTensorElementDataType onnx_type(npy::ElementType type) {
  switch (type) {
    case npy::ElementType::Float32:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case npy::ElementType::Float16:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case npy::ElementType::Float64:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
    case npy::ElementType::Int64:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case npy::ElementType::Int32:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case npy::ElementType::Int8:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case npy::ElementType::Uint8:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case npy::ElementType::Bool:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
  }
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

std::string type_name(ONNXTensorElementDataType type) {
  const auto element = npy_type(type);
  return element ? std::string(npy::type_name(*element)) : "onnx-type-" + std::to_string(type);
}

// One graph input or output as ORT reports it: symbolic dims keep their names ("batch_size").
struct PortInfo {
  std::string name;
  bool is_tensor = false;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> dims;
  std::vector<std::string> dim_names;
};

PortInfo port_info(const std::string& name, const Ort::TypeInfo& info) {
  PortInfo port;
  port.name = name;
  if (info.GetONNXType() != ONNX_TYPE_TENSOR) return port;
  // The tensor info view points into `info`, which the caller keeps alive (DEPENDENCIES.md).
  const auto tensor = info.GetTensorTypeAndShapeInfo();
  port.is_tensor = true;
  port.type = tensor.GetElementType();
  port.dims = tensor.GetShape();
  for (const char* symbol : tensor.GetSymbolicDimensions()) {
    port.dim_names.emplace_back(symbol ? symbol : "");
  }
  port.dim_names.resize(port.dims.size());
  return port;
}

std::string shape_text(const std::vector<int64_t>& dims, const std::vector<std::string>& names) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) text += ",";
    if (dims[i] >= 0) {
      text += std::to_string(dims[i]);
    } else {
      text += i < names.size() && !names[i].empty() ? names[i] : "?";
    }
  }
  return text + "]";
}

struct Ports {
  std::vector<PortInfo> inputs, outputs, defaults;
};

Ports read_ports(const Ort::Session& session) {
  Ort::AllocatorWithDefaultOptions allocator;
  Ports ports;
  for (size_t i = 0; i < session.GetInputCount(); ++i) {
    const Ort::TypeInfo info = session.GetInputTypeInfo(i);
    ports.inputs.push_back(port_info(session.GetInputNameAllocated(i, allocator).get(), info));
  }
  for (size_t i = 0; i < session.GetOutputCount(); ++i) {
    const Ort::TypeInfo info = session.GetOutputTypeInfo(i);
    ports.outputs.push_back(port_info(session.GetOutputNameAllocated(i, allocator).get(), info));
  }
  for (size_t i = 0; i < session.GetOverridableInitializerCount(); ++i) {
    const Ort::TypeInfo info = session.GetOverridableInitializerTypeInfo(i);
    ports.defaults.push_back(
        port_info(session.GetOverridableInitializerNameAllocated(i, allocator).get(), info));
  }
  return ports;
}

void print_port(const char* kind, const PortInfo& port) {
  if (!port.is_tensor) {
    std::printf("%s %s (not a tensor)\n", kind, port.name.c_str());
    return;
  }
  std::printf("%s %s %s %s\n", kind, port.name.c_str(), type_name(port.type).c_str(),
              shape_text(port.dims, port.dim_names).c_str());
}

// Fixed dims of the graph input must match the file; symbolic dims accept any size.
void check_input(const PortInfo& port, const npy::RawArray& array, const std::string& file) {
  if (!port.is_tensor) throw std::runtime_error("input '" + port.name + "' is not a tensor");
  if (onnx_type(array.type) != port.type) {
    throw std::runtime_error("input '" + port.name + "' expects " + type_name(port.type) + ", " +
                             file + " holds " + std::string(npy::type_name(array.type)));
  }
  bool ok = array.shape.size() == port.dims.size();
  for (size_t i = 0; ok && i < port.dims.size(); ++i) {
    ok = port.dims[i] < 0 || port.dims[i] == array.shape[i];
  }
  if (!ok) {
    throw std::runtime_error("input '" + port.name + "' expects shape " +
                             shape_text(port.dims, port.dim_names) + ", " + file + " holds " +
                             shape_text(array.shape, {}));
  }
}

npy::RawArray to_npy(const Ort::Value& value, const std::string& name) {
  if (!value.IsTensor()) throw std::runtime_error("output '" + name + "' is not a tensor");
  const auto info = value.GetTensorTypeAndShapeInfo();
  const auto type = npy_type(info.GetElementType());
  if (!type) {
    throw std::runtime_error("output '" + name + "' has type " + type_name(info.GetElementType()) +
                             ", which .npy output does not support");
  }
  npy::RawArray array;
  array.type = *type;
  array.shape = info.GetShape();
  const size_t bytes = info.GetElementCount() * npy::item_size(*type);
  const auto* data = static_cast<const std::byte*>(value.GetTensorRawData());
  array.bytes.assign(data, data + bytes);
  return array;
}

struct Options {
  std::string model;
  bool describe = false;
  std::vector<std::string> inputs;
  std::string inputs_dir;
  std::string outputs_dir;
  int threads = 1;
  std::string optimization = "all";
};

GraphOptimizationLevel optimization_level(const std::string& name) {
  if (name == "disable") return ORT_DISABLE_ALL;
  if (name == "basic") return ORT_ENABLE_BASIC;
  if (name == "extended") return ORT_ENABLE_EXTENDED;
  return ORT_ENABLE_ALL;
}

int run(const Options& options) {
  if (!fs::is_regular_file(options.model)) {
    throw std::runtime_error(options.model + ": no such model file");
  }
  // FATAL only: every error reaches the user once, as the exception message printed below.
  Ort::Env env(ORT_LOGGING_LEVEL_FATAL, "vlmrt_onnx_check");
  Ort::SessionOptions session_options;
  session_options.SetIntraOpNumThreads(options.threads);
  session_options.SetInterOpNumThreads(1);
  session_options.SetGraphOptimizationLevel(optimization_level(options.optimization));
  std::optional<Ort::Session> session;
  try {
    session.emplace(env, options.model.c_str(), session_options);
  } catch (const Ort::Exception& e) {
    throw std::runtime_error(options.model + ": ONNX Runtime cannot load this model: " + e.what());
  }
  const Ports ports = read_ports(*session);
  if (options.describe) {
    for (const auto& port : ports.inputs) print_port("input", port);
    for (const auto& port : ports.defaults) print_port("input-with-default", port);
    for (const auto& port : ports.outputs) print_port("output", port);
  }
  if (options.inputs.empty() && options.inputs_dir.empty()) return 0;

  std::map<std::string, std::string> files;  // input name → .npy path
  for (const auto& spec : options.inputs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::runtime_error("--input '" + spec + "' is not NAME=FILE.npy");
    }
    files[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  std::vector<const PortInfo*> feeds;
  for (const auto& port : ports.inputs) {
    if (!files.count(port.name) && !options.inputs_dir.empty()) {
      files[port.name] = (fs::path(options.inputs_dir) / (port.name + ".npy")).string();
    }
    if (!files.count(port.name)) {
      throw std::runtime_error("input '" + port.name + "' has no file (give --input " + port.name +
                               "=FILE.npy or --inputs-dir)");
    }
    feeds.push_back(&port);
  }
  for (const auto& port : ports.defaults) {  // optional: fed only when a file is given
    const auto it = files.find(port.name);
    const bool in_dir = !options.inputs_dir.empty() &&
                        fs::exists(fs::path(options.inputs_dir) / (port.name + ".npy"));
    if (it != files.end() || in_dir) {
      if (it == files.end()) {
        files[port.name] = (fs::path(options.inputs_dir) / (port.name + ".npy")).string();
      }
      feeds.push_back(&port);
    }
  }
  for (const auto& [name, file] : files) {
    bool known = false;
    for (const auto* port : feeds) known = known || port->name == name;
    if (!known)
      throw std::runtime_error("--input names '" + name + "', the graph has no such input");
  }

  std::vector<npy::RawArray> arrays;
  arrays.reserve(feeds.size());
  std::vector<Ort::Value> values;
  std::vector<const char*> input_names;
  const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  for (const auto* port : feeds) {
    const std::string& file = files[port->name];
    arrays.push_back(npy::read_raw(file));
    npy::RawArray& array = arrays.back();
    check_input(*port, array, file);
    values.push_back(Ort::Value::CreateTensor(memory, array.bytes.data(), array.bytes.size(),
                                              array.shape.data(), array.shape.size(), port->type));
    input_names.push_back(port->name.c_str());
  }
  std::vector<const char*> output_names;
  for (const auto& port : ports.outputs) output_names.push_back(port.name.c_str());

  std::vector<Ort::Value> outputs;
  try {
    outputs = session->Run(Ort::RunOptions{nullptr}, input_names.data(), values.data(),
                           values.size(), output_names.data(), output_names.size());
  } catch (const Ort::Exception& e) {
    throw std::runtime_error(options.model + ": run failed: " + e.what());
  }
  if (!options.outputs_dir.empty()) fs::create_directories(options.outputs_dir);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const npy::RawArray array = to_npy(outputs[i], ports.outputs[i].name);
    std::printf("result %s %s %s\n", ports.outputs[i].name.c_str(),
                std::string(npy::type_name(array.type)).c_str(),
                shape_text(array.shape, {}).c_str());
    if (!options.outputs_dir.empty()) {
      npy::write_raw(fs::path(options.outputs_dir) / (ports.outputs[i].name + ".npy"), array);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs one ONNX graph with ONNX Runtime (CPU) on .npy inputs and writes its outputs as .npy.\n"
      "Examples:\n"
      "  vlmrt_onnx_check out/onnx/decoder_model_merged.onnx --describe\n"
      "  vlmrt_onnx_check out/onnx/embed_tokens.onnx --input input_ids=ids.npy --outputs-dir res\n"
      "  vlmrt_onnx_check out/onnx/decoder_model_merged.onnx --inputs-dir step0 --outputs-dir res",
      "vlmrt_onnx_check"};
  Options options;
  app.add_option("model", options.model, "The .onnx file to load, e.g. out/onnx/embed_tokens.onnx")
      ->required();
  app.add_flag("--describe", options.describe,
               "Print every input and output as 'input|output NAME TYPE [dims]' (symbolic dims by "
               "name; inputs that have a default value print as 'input-with-default'), e.g. "
               "--describe");
  app.add_option("--input", options.inputs,
                 "Feed one input from a .npy file (float32/float16/int64/int32/bool/...; the dtype "
                 "must match the graph's), repeatable, e.g. --input input_ids=ids.npy");
  app.add_option("--inputs-dir", options.inputs_dir,
                 "Read every input not given by --input from DIR/NAME.npy (inputs with a default "
                 "only when that file exists), e.g. --inputs-dir step0");
  app.add_option(
      "--outputs-dir", options.outputs_dir,
      "Write every output as DIR/NAME.npy (the folder is created), e.g. --outputs-dir res");
  app.add_option("--threads", options.threads, "Intra-op threads, e.g. --threads 2 (default 1)")
      ->check(CLI::Range(1, 256));
  app.add_option("--optimization", options.optimization,
                 "ORT graph optimization level: disable, basic, extended or all (default), e.g. "
                 "--optimization disable")
      ->check(CLI::IsMember({"disable", "basic", "extended", "all"}));
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vlmrt_onnx_check: error: %s\n", e.what());
    return 1;
  }
}
