// One ONNX Runtime session with what its metadata says about the graph: every input, output and
// overridable initializer with its element type and shape (symbolic dims as -1), read once at
// load time so the backend never assumes names, dtypes or ranks (ONNX-LAYOUT.md: "read types
// from metadata"). ONNX Runtime failures become vlmrt::Error naming the file.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "vlmrt/errors.hpp"

namespace vlmrt::onnx {

struct PortInfo {
  std::string name;
  bool is_tensor = false;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<std::int64_t> dims;  // -1 (or another negative) for a symbolic dim
  std::vector<std::string> dim_names;

  std::size_t rank() const noexcept { return dims.size(); }
  bool fixed(std::size_t axis) const noexcept { return axis < dims.size() && dims[axis] >= 0; }
};

// "float32", "float16", "int64", ... ("type 17" for the rest).
std::string element_type_name(ONNXTensorElementDataType type);
// Bytes per element; 0 for types the backend never handles (strings, sub-byte types).
std::size_t element_size(ONNXTensorElementDataType type) noexcept;
// "float32 [batch_size,2,past_sequence_length,16]".
std::string port_text(const PortInfo& port);

// ONNX Runtime's error code → the vlmrt kind: a bad or truncated file is Format, a missing file
// NotFound, an unimplemented op Unsupported, everything else Backend.
ErrorKind error_kind_of(OrtErrorCode code) noexcept;

// Runs `body`, turning an Ort::Exception that escapes it into Error(Backend) prefixed by `what`:
// the public entry points of the backend never leak ONNX Runtime's exception type.
template <typename Body>
decltype(auto) with_ort_errors(std::string_view what, Body&& body) {
  try {
    return body();
  } catch (const Ort::Exception& e) {
    throw Error(ErrorKind::Backend, std::string(what) + ": ONNX Runtime: " + e.what());
  }
}

class GraphSession {
 public:
  // Loads `path`. Errors: the kind error_kind_of() gives, the message naming the path and
  // carrying ONNX Runtime's.
  GraphSession(Ort::Env& env, std::filesystem::path path, const Ort::SessionOptions& options);

  const std::filesystem::path& path() const noexcept { return path_; }
  // "onnx/decoder_model_merged_q4.onnx": how messages name the graph.
  const std::string& label() const noexcept { return label_; }
  Ort::Session& session() noexcept { return session_; }

  const std::vector<PortInfo>& inputs() const noexcept { return inputs_; }
  const std::vector<PortInfo>& outputs() const noexcept { return outputs_; }
  // Overridable initializers: inputs with a default value (e.g. num_logits_to_keep).
  const std::vector<PortInfo>& defaults() const noexcept { return defaults_; }

  const PortInfo* find_input(std::string_view name) const noexcept;
  const PortInfo* find_output(std::string_view name) const noexcept;
  const PortInfo* find_default(std::string_view name) const noexcept;

  // The named input / output, checked to be a tensor of `rank` dims and one of `types`; Format
  // naming the graph and what it declares (all its inputs when the name is missing).
  const PortInfo& require_input(std::string_view name, std::size_t rank,
                                std::initializer_list<ONNXTensorElementDataType> types) const;
  const PortInfo& require_output(std::string_view name, std::size_t rank,
                                 std::initializer_list<ONNXTensorElementDataType> types) const;
  // Format unless a fixed `axis` of `port` equals `expected` (symbolic dims pass).
  void require_dim(const PortInfo& port, std::size_t axis, std::int64_t expected,
                   std::string_view what) const;

  // Runs the bound graph; Backend errors naming the graph and `what` ("prefill", "step 3").
  void run(Ort::IoBinding& binding, std::string_view what);

 private:
  std::filesystem::path path_;
  std::string label_;
  Ort::Session session_{nullptr};
  Ort::RunOptions run_options_;
  std::vector<PortInfo> inputs_;
  std::vector<PortInfo> outputs_;
  std::vector<PortInfo> defaults_;
};

}  // namespace vlmrt::onnx
