// Shared by the ONNX backend tests: the tiny fixtures exported once per build tree by
// make_onnx_exports.py (through scripts/export_onnx.py), and opening them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/onnx/onnx_backend.hpp"
#include "models/model_folder.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::onnx::testing {

// build/test_data/onnx_exports: tiny-{smolvlm,smolvlm2,paligemma,paligemma2}-fp32 and the
// broken-* folders (see make_onnx_exports.py). Empty when torch / onnx cannot be imported (the
// caller skips).
std::filesystem::path exports_dir();
// Why exports_dir() is empty ("" when it is not).
std::string exports_unavailable_reason();

// One thread, so parallel tests on a small machine do not oversubscribe it.
OnnxBackendOptions cpu_options();

std::unique_ptr<runtime::ModelBackend> open_export(const std::string& name,
                                                   const OnnxBackendOptions& options);

// Success when `action` throws vlmrt::Error of `kind` whose message contains every one of
// `parts`; the failure message shows what was thrown instead.
::testing::AssertionResult throws_error(const std::function<void()>& action, ErrorKind kind,
                                        const std::vector<std::string>& parts);

}  // namespace vlmrt::onnx::testing

#define VLMRT_REQUIRE_ONNX_EXPORTS()                                        \
  do {                                                                      \
    if (::vlmrt::onnx::testing::exports_dir().empty())                      \
      GTEST_SKIP() << ::vlmrt::onnx::testing::exports_unavailable_reason(); \
  } while (0)
