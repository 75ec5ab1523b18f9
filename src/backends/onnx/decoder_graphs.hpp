// The text side of the published layout (ONNX-LAYOUT.md "Graphs"): embed_tokens and
// decoder_model_merged, with everything the sequence needs to drive them read from the graphs'
// metadata and checked against config.json once at load time — input names, the KV cache's
// layers, heads, head size and dtype (float16 caches included), whether there is an
// attention_mask (SmolVLM) or not (PaliGemma), and whether logits can be trimmed to the last
// position (num_logits_to_keep, as an input or an input with a default).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backends/onnx/graph_session.hpp"
#include "generation/decoder_session.hpp"
#include "models/model_config.hpp"

namespace vlmrt::onnx {

// One past_key_values input and the present output that replaces it after a run.
struct CacheSlot {
  std::string past;     // "past_key_values.3.value"
  std::string present;  // "present.3.value"
};

struct DecoderLayout {
  std::size_t hidden_size = 0;
  std::size_t vocab_size = 0;      // logits per position
  std::size_t embedding_rows = 0;  // ids embed_tokens accepts: [0, embedding_rows)
  std::size_t context_length = 0;  // max_position_embeddings
  std::int64_t image_token_id = 0;
  // SmolVLM counts positions from 0, PaliGemma from 1 (MODELS.md §3.8).
  std::int64_t position_base = 0;

  std::size_t kv_heads = 0;
  std::size_t head_dim = 0;
  ONNXTensorElementDataType cache_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  std::vector<CacheSlot> cache;  // layer 0 key, layer 0 value, layer 1 key, ...

  std::string embeds_input;  // "inputs_embeds"
  ONNXTensorElementDataType embeds_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  // Without an attention_mask (PaliGemma exports) a run on an empty cache attends both ways
  // over all its positions and every later run causally.
  bool has_attention_mask = false;
  ONNXTensorElementDataType mask_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  bool has_position_ids = false;
  ONNXTensorElementDataType position_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  // num_logits_to_keep, fed as 1 when declared (an input or an overridable initializer).
  bool has_logits_to_keep = false;
  ONNXTensorElementDataType logits_to_keep_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  std::vector<std::int64_t> logits_to_keep_shape;  // {} (scalar) or {1}
  bool has_use_cache_branch = false;               // older merged decoders: bool [1]
  std::string logits_output;                       // "logits"

  std::string ids_input;  // embed_tokens: "input_ids"
  ONNXTensorElementDataType ids_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  std::string embeds_output;  // embed_tokens: "inputs_embeds"
};

// Shared by a backend and all its sequences (ONNX Runtime sessions are safe to run from several
// threads); keeps the environment alive as long as any session.
struct DecoderGraphs {
  // Checks both graphs against `config` (Format naming the graph and the port at fault).
  DecoderGraphs(std::shared_ptr<Ort::Env> env, std::unique_ptr<GraphSession> embed,
                std::unique_ptr<GraphSession> decoder, const ModelConfig& config,
                Ort::MemoryInfo cache_memory);

  // Embeds `ids` into `rows` (ids.size() × hidden_size float32). InvalidArgument for an id
  // outside [0, embedding_rows).
  void embed(std::span<const gen::TokenId> ids, std::vector<float>& rows);

  std::shared_ptr<Ort::Env> env;  // first: destroyed after the sessions
  std::unique_ptr<GraphSession> embed_graph;
  std::unique_ptr<GraphSession> decoder_graph;
  Ort::MemoryInfo cache_memory{nullptr};  // where present.* outputs are bound
  bool cache_on_cpu = true;
  Ort::MemoryInfo cpu{nullptr};
  DecoderLayout layout;
};

}  // namespace vlmrt::onnx
