#include "backends/onnx/decoder_graphs.hpp"

#include <algorithm>
#include <utility>

#include "backends/onnx/tensor_util.hpp"
#include "models/family.hpp"

namespace vlmrt::onnx {

namespace {

constexpr auto kFloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr auto kHalf = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
constexpr auto kBfloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
constexpr auto kInt64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
constexpr auto kInt32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;

std::size_t positive(std::int64_t value, const std::string& what) {
  if (value <= 0)
    throw Error(ErrorKind::Format, "config.json: " + what + " is " + std::to_string(value) +
                                       ", the ONNX backend needs a positive value");
  return static_cast<std::size_t>(value);
}

void read_embed_graph(const GraphSession& g, DecoderLayout& layout) {
  const PortInfo& ids = g.require_input("input_ids", 2, {kInt64, kInt32});
  layout.ids_input = ids.name;
  layout.ids_type = ids.type;
  for (const PortInfo& input : g.inputs())
    if (input.name != ids.name)
      throw Error(ErrorKind::Format, g.label() + ": unexpected input '" + input.name + "' " +
                                         port_text(input) + " (embed_tokens takes input_ids only)");
  const PortInfo& embeds = g.require_output("inputs_embeds", 3, {kFloat, kHalf, kBfloat});
  g.require_dim(embeds, 2, static_cast<std::int64_t>(layout.hidden_size),
                "config.json text_config.hidden_size");
  layout.embeds_output = embeds.name;
}

// Reads past_key_values.{i}.key/.value for every layer and checks their heads, head size and
// dtype, and the matching present.{i}.* outputs.
void read_cache(const GraphSession& g, const TextConfig& text, DecoderLayout& layout) {
  const std::size_t layers = positive(text.num_hidden_layers, "text_config.num_hidden_layers");
  std::size_t declared = 0;
  for (const PortInfo& input : g.inputs())
    if (input.name.starts_with("past_key_values.")) ++declared;
  if (declared != 2 * layers)
    throw Error(ErrorKind::Format, g.label() + ": declares " + std::to_string(declared) +
                                       " past_key_values inputs, config.json's " +
                                       std::to_string(layers) + " text layers need " +
                                       std::to_string(2 * layers) + " (a key and a value each)");
  for (std::size_t layer = 0; layer < layers; ++layer) {
    for (const char* part : {"key", "value"}) {
      const std::string suffix = std::to_string(layer) + "." + part;
      const PortInfo& past =
          g.require_input("past_key_values." + suffix, 4, {kFloat, kHalf, kBfloat});
      const PortInfo& present = g.require_output("present." + suffix, 4, {past.type});
      if (layout.cache.empty()) layout.cache_type = past.type;
      if (past.type != layout.cache_type)
        throw Error(ErrorKind::Format, g.label() + ": '" + past.name + "' is " +
                                           element_type_name(past.type) + ", the other layers' " +
                                           "cache is " + element_type_name(layout.cache_type));
      for (const PortInfo* port : {&past, &present}) {
        g.require_dim(*port, 1, static_cast<std::int64_t>(layout.kv_heads),
                      "config.json text_config.num_key_value_heads");
        g.require_dim(*port, 3, static_cast<std::int64_t>(layout.head_dim),
                      "config.json text_config.head_dim");
      }
      layout.cache.push_back({past.name, present.name});
    }
  }
}

void read_decoder_graph(const GraphSession& g, const ModelConfig& config, DecoderLayout& layout) {
  const PortInfo& embeds = g.require_input("inputs_embeds", 3, {kFloat, kHalf, kBfloat});
  g.require_dim(embeds, 2, static_cast<std::int64_t>(layout.hidden_size),
                "config.json text_config.hidden_size");
  layout.embeds_input = embeds.name;
  layout.embeds_type = embeds.type;
  if (g.find_input("attention_mask")) {
    layout.mask_type = g.require_input("attention_mask", 2, {kInt64, kInt32}).type;
    layout.has_attention_mask = true;
  }
  if (g.find_input("position_ids")) {
    layout.position_type = g.require_input("position_ids", 2, {kInt64, kInt32}).type;
    layout.has_position_ids = true;
  }
  const PortInfo* keep = g.find_input("num_logits_to_keep");
  if (!keep) keep = g.find_default("num_logits_to_keep");
  if (keep) {
    if (!keep->is_tensor || (keep->type != kInt64 && keep->type != kInt32) || keep->rank() > 1 ||
        (keep->rank() == 1 && keep->fixed(0) && keep->dims[0] != 1))
      throw Error(ErrorKind::Format, g.label() + ": 'num_logits_to_keep' is " + port_text(*keep) +
                                         ", expected an int64 scalar");
    layout.has_logits_to_keep = true;
    layout.logits_to_keep_type = keep->type;
    layout.logits_to_keep_shape.assign(keep->rank(), 1);
  }
  if (g.find_input("use_cache_branch")) {
    g.require_input("use_cache_branch", 1, {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL});
    layout.has_use_cache_branch = true;
  }
  read_cache(g, config.text, layout);
  for (const PortInfo& input : g.inputs()) {
    const bool known = input.name == "inputs_embeds" || input.name == "attention_mask" ||
                       input.name == "position_ids" || input.name == "num_logits_to_keep" ||
                       input.name == "use_cache_branch" ||
                       input.name.starts_with("past_key_values.");
    if (!known)
      throw Error(ErrorKind::Format,
                  g.label() + ": unexpected input '" + input.name + "' " + port_text(input) +
                      " (decoder_model_merged takes inputs_embeds, attention_mask, position_ids, "
                      "past_key_values.N.key/.value and optionally num_logits_to_keep)");
  }
  const PortInfo& logits = g.require_output("logits", 3, {kFloat, kHalf, kBfloat});
  g.require_dim(logits, 2, static_cast<std::int64_t>(layout.vocab_size),
                "config.json text_config.vocab_size");
  layout.logits_output = logits.name;
}

}  // namespace

DecoderGraphs::DecoderGraphs(std::shared_ptr<Ort::Env> env_in,
                             std::unique_ptr<GraphSession> embed_in,
                             std::unique_ptr<GraphSession> decoder_in, const ModelConfig& config,
                             Ort::MemoryInfo cache_memory_in)
    : env(std::move(env_in)),
      embed_graph(std::move(embed_in)),
      decoder_graph(std::move(decoder_in)),
      cache_memory(std::move(cache_memory_in)),
      cpu(Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault)) {
  cache_on_cpu = cache_memory.GetDeviceType() == OrtMemoryInfoDeviceType_CPU;
  const TextConfig& text = config.text;
  layout.hidden_size = positive(text.hidden_size, "text_config.hidden_size");
  layout.vocab_size = positive(text.vocab_size, "text_config.vocab_size");
  layout.embedding_rows = layout.vocab_size;
  layout.context_length =
      positive(text.max_position_embeddings, "text_config.max_position_embeddings");
  layout.kv_heads = positive(text.num_key_value_heads, "text_config.num_key_value_heads");
  layout.head_dim = positive(text.head_dim, "text_config.head_dim");
  layout.image_token_id = config.image_token_id;
  layout.position_base = is_paligemma(config.family) ? 1 : 0;
  read_embed_graph(*embed_graph, layout);
  read_decoder_graph(*decoder_graph, config, layout);
}

void DecoderGraphs::embed(std::span<const gen::TokenId> ids, std::vector<float>& rows) {
  std::vector<std::int64_t> wide(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<std::size_t>(ids[i]) >= layout.embedding_rows)
      throw Error(ErrorKind::InvalidArgument, "token id " + std::to_string(ids[i]) + " at index " +
                                                  std::to_string(i) +
                                                  " is outside the embedding table (" +
                                                  std::to_string(layout.embedding_rows) + " rows)");
    wide[i] = ids[i];
  }
  const std::vector<std::int64_t> shape = {1, static_cast<std::int64_t>(ids.size())};
  const HostTensor input(wide, layout.ids_type, shape, cpu);
  Ort::IoBinding binding(embed_graph->session());
  binding.BindInput(layout.ids_input.c_str(), input.value());
  binding.BindOutput(layout.embeds_output.c_str(), cpu);
  embed_graph->run(binding, "embedding " + std::to_string(ids.size()) + " ids");
  const std::vector<Ort::Value> outputs = binding.GetOutputValues();
  rows = to_float_vector(outputs.at(0), ids.size() * layout.hidden_size);
}

}  // namespace vlmrt::onnx
