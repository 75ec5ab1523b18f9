// Picks and opens the backend a BackendType names. Every backend of the public API is listed
// here, so "is this one built?" has one answer.
#pragma once

#include <memory>

#include "models/model_folder.hpp"
#include "runtime/backend.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt::runtime {

// Unsupported for a backend this build does not contain, naming what is missing.
std::unique_ptr<ModelBackend> open_backend(const ModelFolder& folder, const BackendType& backend,
                                           const ModelOptions& options);

}  // namespace vlmrt::runtime
