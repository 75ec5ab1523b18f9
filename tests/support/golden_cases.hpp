// The golden cases of tests/fixtures/models (see its README.md): one per
// <fixture>/goldens/<case>/case.json, with the arrays the reference saved beside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/npy.hpp"

namespace vlmrt::testing {

struct GoldenCase {
  std::string fixture;  // "tiny-smolvlm-bf16"
  std::string name;     // "single_image_45x40"
  std::filesystem::path model_dir;
  std::filesystem::path dir;        // the case folder
  std::string dtype;                // "float32" / "bfloat16"
  std::string prompt;               // the user's text
  bool chat = false;                // SmolVLM chat template used
  std::vector<std::string> images;  // image files in `dir`, in prompt order
  std::vector<std::int32_t> input_ids;
  // PaliGemma: per-id 0 = prefix, 1 = suffix; empty when the reference passed none.
  std::vector<std::int32_t> token_type_ids;
  std::vector<std::int32_t> tokens;  // the greedy tokens
  std::vector<std::int32_t> eos_token_ids;
  bool ignore_eos = true;

  bool has_images() const { return !images.empty(); }
  bool is_bf16() const { return dtype == "bfloat16"; }
  // `<dir>/<name>.npy` (pixel_values, vision_out, connector_out, prefill_logits, step_logits).
  npy::Array<float> array(const std::string& name) const;
  std::string label() const { return fixture + "/" + name; }
};

// The fixture folders, sorted: tiny-{paligemma,paligemma2,smolvlm,smolvlm2}-{bf16,fp32}.
std::vector<std::string> golden_fixtures();
std::filesystem::path golden_fixture_dir(const std::string& fixture);
// Every case of every fixture, sorted by fixture then case name.
std::vector<GoldenCase> golden_cases();
GoldenCase load_golden_case(const std::string& fixture, const std::string& name);
// "<fixture>_<name>" with every character GoogleTest refuses in a test name replaced by '_'.
std::string case_test_name(const std::string& fixture, const std::string& name);

}  // namespace vlmrt::testing
