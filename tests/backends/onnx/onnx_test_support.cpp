#ifdef VLMRT_WITH_ONNXRUNTIME
#include "onnx_test_support.hpp"

#include "test_support.hpp"

namespace vlmrt::onnx::testing {

namespace {

struct Exports {
  std::filesystem::path dir;
  std::string reason;
};

const Exports& exports() {
  static const Exports result = [] {
    Exports e;
    try {
      e.dir = vlmrt::testing::generated_data(
          "onnx_exports",
          vlmrt::testing::source_dir() / "tests/backends/onnx/make_onnx_exports.py");
    } catch (const std::exception&) {
      // Skip only where the exporter cannot run at all; a failing export is a test failure.
      std::string output;
      if (vlmrt::testing::run_command(vlmrt::testing::python() + " -c 'import torch, onnx'",
                                      &output) == 0)
        throw;
      e.reason = "python3-torch / python3-onnx are not importable (scripts/setup installs them): " +
                 output;
    }
    return e;
  }();
  return result;
}

}  // namespace

std::filesystem::path exports_dir() {
  return exports().dir;
}
std::string exports_unavailable_reason() {
  return exports().reason;
}

OnnxBackendOptions cpu_options() {
  OnnxBackendOptions options;
  options.threads = 1;
  return options;
}

std::unique_ptr<runtime::ModelBackend> open_export(const std::string& name,
                                                   const OnnxBackendOptions& options) {
  return open_onnx_backend(ModelFolder::inspect(exports_dir() / name), options);
}

::testing::AssertionResult throws_error(const std::function<void()>& action, ErrorKind kind,
                                        const std::vector<std::string>& parts) {
  try {
    action();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (e.kind() != kind)
      return ::testing::AssertionFailure() << "threw " << to_string(e.kind()) << " (expected "
                                           << to_string(kind) << "): " << message;
    for (const std::string& part : parts)
      if (message.find(part) == std::string::npos)
        return ::testing::AssertionFailure() << "the message lacks '" << part << "': " << message;
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-vlmrt exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "threw nothing";
}

}  // namespace vlmrt::onnx::testing
#endif  // VLMRT_WITH_ONNXRUNTIME
