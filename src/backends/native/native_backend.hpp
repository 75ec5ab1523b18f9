// The native engine as a runtime::ModelBackend: one model's weights memory-mapped, the vision
// encoder and the text decoder built from the family's NetworkSpec, and a thread pool.
#pragma once

#include <cstddef>
#include <memory>

#include "models/model_folder.hpp"
#include "runtime/backend.hpp"

namespace vlmrt::native {

struct NativeBackendOptions {
  std::size_t threads = 0;  // 0 = every core
};

// Errors: those of ModelWeights::open (NotFound without weights, Format for an inventory that
// does not match config.json, Unsupported for weight dtypes the engine does not run).
std::unique_ptr<runtime::ModelBackend> open_native_backend(const ModelFolder& folder,
                                                           const NativeBackendOptions& options);

}  // namespace vlmrt::native
