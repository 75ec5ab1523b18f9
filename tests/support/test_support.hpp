// Helpers shared by all test executables: where things are, scratch folders, and running the
// Python scripts that generate reference data at test time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "vlmrt/image.hpp"

namespace vlmrt::testing {

std::filesystem::path source_dir();       // the repository root
std::filesystem::path shared_data_dir();  // ../shared/data (may be absent)
std::filesystem::path cli_path();         // the built `vlmrt` executable
std::filesystem::path binary_dir();       // the build tree
std::filesystem::path cmake_command();    // the cmake that configured it
// samples/models/<name>: the bundled model-folder configs (no weights) users start from.
std::filesystem::path sample_model(const std::string& name);
// tests/fixtures/configs/<name>: config variants written for the parser tests.
std::filesystem::path config_fixture(const std::string& name);
std::string python();  // /usr/bin/python3

// A fresh, empty folder under the build tree, unique to this process and `name`.
std::filesystem::path scratch_dir(const std::string& name);

// Runs `command` (through /bin/sh) and returns its exit status; stdout+stderr go to `output`.
int run_command(const std::string& command, std::string* output = nullptr);

// A digest of a file's bytes (changes when the content does), e.g. to key generated_data on an
// input file.
std::string file_digest(const std::filesystem::path& path);

// Generates reference data once per build tree, safely across parallel test processes: runs
// `python() + " " + script + " --out DIR " + args` into a temp folder and renames it to
// build/test_data/<name> when the script succeeds. Later calls (any process) reuse it while the
// script's content is unchanged. Throws std::runtime_error with the script's output on failure.
std::filesystem::path generated_data(const std::string& name, const std::filesystem::path& script,
                                     const std::string& args = "");

// A deterministic noise image (a linear congruential generator seeded with `seed`).
ImageRgb8 noise_image(int width, int height, std::uint32_t seed);

// Runs `action` and describes the vlmrt::Error it throws as "<kind>: <message>", or returns
// "no error".
std::string error_of(const std::function<void()>& action);

// The largest |a[i] - b[i]|: infinity when the sizes differ and NaN when either holds a NaN, so
// that a `<= tolerance` check fails on both.
float max_abs_diff(std::span<const float> a, std::span<const float> b);

// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& text);

}  // namespace vlmrt::testing
