// Flags shared by the commands that run a model (run, chat, bench): which model
// and backend, threads, and the generation options, with one --help text each.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt::cli {

struct ModelFlags {
  std::string model_dir;  // empty: the bundled default model
  std::string backend = "native";
  std::size_t threads = 0;
  std::size_t context_length = 0;
  // ONNX Runtime backends.
  std::string dtype;  // "q4" (every graph) or "decoder=q4,vision=fp32"
  int device_id = 0;
  bool allow_cpu_fallback = false;
  int graph_optimization_level = 99;
  bool trt_fp16 = true;
  bool trt_int8 = false;
  std::size_t trt_workspace_mb = 1024;
  std::string trt_cache = "./trt_cache";

  BackendType backend_type() const;
  ModelOptions model_options() const;

  // --model, or the bundled default model's folder (NotFound saying where it looked).
  std::filesystem::path resolved_model_dir() const;
  VlmModel open() const;  // prints "loading ..." to stderr when it takes over a second
};
void add_model_flags(CLI::App& app, ModelFlags& flags);

struct GenerationFlags {
  std::optional<std::size_t> max_new_tokens;
  bool ignore_eos = false;
  bool sample = false;
  bool greedy = false;
  std::optional<double> temperature;
  std::optional<std::int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  std::optional<std::size_t> repetition_window;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;

  // The model's defaults (generation_config.json: stop ids, sampling) overlaid
  // with the flags given; max_new_tokens is the flag's or
  // `fallback_max_new_tokens`.
  GenerationOptions resolve(const VlmModel& model, std::size_t fallback_max_new_tokens) const;
};
void add_generation_flags(CLI::App& app, GenerationFlags& flags);

// The Stats as the JSON object scripts read (keys documented in docs/cli.md).
json::Json stats_to_json(const Stats& stats);

}  // namespace vlmrt::cli
