#include "model_flags.hpp"

#include <chrono>
#include <cstdio>
#include <future>

namespace vlmrt::cli {

void add_model_flags(CLI::App& app, ModelFlags& flags) {
  app.add_option("--model", flags.model_dir,
                 "Hugging Face model folder (config.json, *.safetensors, "
                 "tokenizer.json, "
                 "preprocessor_config.json, chat template), e.g. --model "
                 "models/SmolVLM-256M-Instruct")
      ->required();
  app.add_option("--backend", flags.backend,
                 "inference backend: native (vlmrt's CPU engine), onnx-cpu, onnx-cuda, "
                 "onnx-tensorrt, e.g. --backend native")
      ->capture_default_str();
  app.add_option("--threads", flags.threads,
                 "CPU threads for the native backend (0 = every core), e.g. "
                 "--threads 4")
      ->capture_default_str();
  app.add_option("--context-length", flags.context_length,
                 "KV cache positions for chat (0 = the model's "
                 "max_position_embeddings), e.g. "
                 "--context-length 4096")
      ->capture_default_str();
}

VlmModel ModelFlags::open() const {
  ModelOptions options;
  options.threads = threads;
  options.context_length = context_length;
  const BackendType type = parse_backend_type(backend);
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
               "keep generating past the end-of-sequence token (benchmarks)");
  app.add_flag("--sample", flags.sample,
               "sample instead of greedy decoding (implied by "
               "--temperature/--top-k/--top-p/"
               "--min-p), e.g. --sample --seed 7");
  app.add_flag("--greedy", flags.greedy,
               "greedy decoding even when the model's generation_config.json samples");
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
