#include "model_flags.hpp"

#include "bundled_models.hpp"

#include <chrono>
#include <cstdio>
#include <future>
#include <sstream>

namespace vlmrt::cli {

void add_model_flags(CLI::App& app, ModelFlags& flags) {
  app.add_option("--model", flags.model_dir,
                 "Hugging Face model folder (config.json, *.safetensors, tokenizer.json, "
                 "preprocessor_config.json, chat template; onnx/ for the onnx-* backends), e.g. "
                 "--model models/SmolVLM-256M-Instruct. Default: the bundled tiny-smolvlm, "
                 "which knows only the synthetic shapes task (docs/models.md)");
  app.add_option("--backend", flags.backend,
                 "inference backend: native (vlmrt's CPU engine), onnx-cpu, onnx-cuda, "
                 "onnx-tensorrt, e.g. --backend native")
      ->capture_default_str();
  app.add_option("--threads", flags.threads,
                 "CPU threads for the native backend (0 = every core), e.g. "
                 "--threads 4")
      ->capture_default_str();
  app.add_option("--dtype", flags.dtype,
                 "ONNX graph variants: one for all graphs or per graph (vision, embed, decoder): "
                 "fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4; e.g. --dtype q4 or --dtype "
                 "decoder=q4,vision=fp32 (default fp32)");
  app.add_option("--device-id", flags.device_id,
                 "GPU for onnx-cuda / onnx-tensorrt, e.g. --device-id 1")
      ->capture_default_str();
  app.add_flag("--allow-cpu-fallback", flags.allow_cpu_fallback,
               "if the CUDA/TensorRT provider or the GPU is missing, run on the CPU provider "
               "(logged) instead of failing, e.g. --backend onnx-cuda --allow-cpu-fallback");
  app.add_option("--graph-opt-level", flags.graph_optimization_level,
                 "ONNX Runtime graph optimisation: 0 (off), 1 (basic), 2 (extended), 99 (all), "
                 "e.g. --graph-opt-level 1")
      ->capture_default_str();
  app.add_option("--trt-fp16", flags.trt_fp16,
                 "TensorRT: allow fp16 kernels, on or off (default on), e.g. --trt-fp16 off");
  app.add_flag("--trt-int8", flags.trt_int8,
               "TensorRT: allow int8 kernels (default off), e.g. --backend onnx-tensorrt "
               "--trt-int8");
  app.add_option("--trt-workspace-mb", flags.trt_workspace_mb,
                 "TensorRT: builder workspace in MiB, e.g. --trt-workspace-mb 2048")
      ->capture_default_str();
  app.add_option("--trt-cache", flags.trt_cache,
                 "TensorRT: engine cache folder (created if missing, reused across runs), e.g. "
                 "--trt-cache ~/.cache/vlmrt/trt")
      ->capture_default_str();
  app.add_option("--context-length", flags.context_length,
                 "KV cache positions for chat (0 = the model's "
                 "max_position_embeddings), e.g. "
                 "--context-length 4096")
      ->capture_default_str();
}

BackendType ModelFlags::backend_type() const {
  BackendType type = parse_backend_type(backend);
  if (auto* cuda = std::get_if<backend::OnnxCuda>(&type)) cuda->device_id = device_id;
  if (auto* tensorrt = std::get_if<backend::OnnxTensorRt>(&type)) {
    tensorrt->config.device_id = device_id;
    tensorrt->config.fp16 = trt_fp16;
    tensorrt->config.int8 = trt_int8;
    tensorrt->config.max_workspace_size = trt_workspace_mb << 20;
    tensorrt->config.engine_cache_path = trt_cache;
  }
  return type;
}

ModelOptions ModelFlags::model_options() const {
  ModelOptions options;
  options.threads = threads;
  options.context_length = context_length;
  options.graph_optimization_level = graph_optimization_level;
  options.allow_cpu_fallback = allow_cpu_fallback;
  // "q4" applies to every graph; "decoder=q4,vision=fp32" names them.
  std::stringstream items(dtype);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    const auto equals = item.find('=');
    if (equals == std::string::npos) {
      for (const char* graph : {"vision", "embed", "decoder"}) options.onnx_variants[graph] = item;
    } else {
      options.onnx_variants[item.substr(0, equals)] = item.substr(equals + 1);
    }
  }
  return options;
}

std::filesystem::path ModelFlags::resolved_model_dir() const {
  if (!model_dir.empty()) return model_dir;
  return find_bundled_model(kDefaultBundledModel);
}

VlmModel ModelFlags::open() const {
  const ModelOptions options = model_options();
  const BackendType type = backend_type();
  const std::filesystem::path model_dir = resolved_model_dir();
  // Say what is happening when opening takes a while (a big checkpoint on a
  // cold disk).
  auto opening =
      std::async(std::launch::async, [&] { return VlmModel::open(model_dir, type, options); });
  if (opening.wait_for(std::chrono::seconds(1)) != std::future_status::ready)
    std::fprintf(stderr, "vlmrt: loading %s on %s ...\n", model_dir.c_str(), backend.c_str());
  return opening.get();
}

void add_generation_flags(CLI::App& app, GenerationFlags& flags) {
  app.add_option("--max-new-tokens", flags.max_new_tokens,
                 "stop after this many generated tokens (default 128), e.g. "
                 "--max-new-tokens 64");
  app.add_flag("--ignore-eos", flags.ignore_eos,
               "keep generating past the end-of-sequence token (benchmarks), e.g. "
               "--ignore-eos --max-new-tokens 256");
  app.add_flag("--sample", flags.sample,
               "sample instead of greedy decoding (implied by "
               "--temperature/--top-k/--top-p/"
               "--min-p), e.g. --sample --seed 7");
  app.add_flag("--greedy", flags.greedy,
               "greedy decoding even when the model's generation_config.json samples, e.g. "
               "--greedy");
  app.add_option("--temperature", flags.temperature, "sampling temperature > 0, e.g. 0.7");
  app.add_option("--top-k", flags.top_k, "keep the k most likely tokens (0 = off), e.g. 50");
  app.add_option("--top-p", flags.top_p, "nucleus sampling mass in (0, 1], e.g. 0.9");
  app.add_option("--min-p", flags.min_p,
                 "drop tokens less likely than min-p × the top token's "
                 "probability, e.g. 0.05");
  app.add_option("--repetition-penalty", flags.repetition_penalty,
                 "penalise tokens already in the sequence (1 = off), e.g. 1.2");
  app.add_option("--repetition-window", flags.repetition_window,
                 "penalise only the last N tokens (0 = the whole sequence), e.g. 64");
  app.add_option("--seed", flags.seed, "sampling seed, for reproducible answers, e.g. 42");
  app.add_option("--stop", flags.stop,
                 "stop when the text contains this string; repeatable, e.g. --stop \".\"");
}

GenerationOptions GenerationFlags::resolve(const VlmModel& model,
                                           std::size_t fallback_max_new_tokens) const {
  GenerationOptions options = model.default_options();
  options.max_new_tokens = max_new_tokens.value_or(fallback_max_new_tokens);
  options.ignore_eos = ignore_eos;
  if (sample || temperature || top_k || top_p || min_p) options.do_sample = true;
  if (greedy) options.do_sample = false;
  if (temperature) options.temperature = *temperature;
  if (top_k) options.top_k = *top_k;
  if (top_p) options.top_p = *top_p;
  if (min_p) options.min_p = *min_p;
  if (repetition_penalty) options.repetition_penalty = *repetition_penalty;
  if (repetition_window) options.repetition_window = *repetition_window;
  if (seed) options.seed = *seed;
  options.stop_strings = stop;
  return options;
}

json::Json stats_to_json(const Stats& stats) {
  json::Json out = json::Json::object();
  out["image_encode_ms"] = stats.image_encode_ms;
  out["tiles"] = stats.tiles;
  out["prefill_tokens"] = stats.prefill_tokens;
  out["prefill_tokens_per_s"] = stats.prefill_tokens_per_s;
  out["decode_tokens"] = stats.decode_tokens;
  out["decode_tokens_per_s"] = stats.decode_tokens_per_s;
  out["time_to_first_token_ms"] = stats.time_to_first_token_ms;
  out["total_ms"] = stats.total_ms;
  out["peak_rss_mb"] = stats.peak_rss_mb;
  return out;
}

}  // namespace vlmrt::cli
