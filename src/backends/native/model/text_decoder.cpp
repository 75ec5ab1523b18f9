#include "backends/native/model/text_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "backends/native/cpu/attention.hpp"
#include "backends/native/cpu/ops_tensor.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

std::string shape_text(std::int64_t rows, std::int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

WeightMatrix checked_matrix(const ModelWeights& weights, const std::string& name,
                            std::size_t out_features, std::size_t in_features) {
  WeightMatrix matrix = weights.matrix(name);
  if (matrix.out_features != static_cast<std::int64_t>(out_features) ||
      matrix.in_features != static_cast<std::int64_t>(in_features))
    throw Error(ErrorKind::Format,
                weights.checkpoint().location().string() + ": tensor '" + name + "' has shape " +
                    shape_text(matrix.out_features, matrix.in_features) + ", config says " +
                    shape_text(static_cast<std::int64_t>(out_features),
                               static_cast<std::int64_t>(in_features)));
  return matrix;
}

std::vector<float> checked_vector(const ModelWeights& weights, const std::string& name,
                                  std::size_t size) {
  std::vector<float> values = weights.vector_f32(name);
  if (values.size() != size)
    throw Error(ErrorKind::Format, weights.checkpoint().location().string() + ": tensor '" + name +
                                       "' has " + std::to_string(values.size()) +
                                       " values, config says " + std::to_string(size));
  return values;
}

Precision precision_of(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return Precision::F32;
    case DType::BF16:
      return Precision::Bf16;
    case DType::F16:
      return Precision::F16;
    default:
      break;
  }
  throw Error(ErrorKind::Unsupported,
              "the native text decoder runs float32, bfloat16 and "
              "float16 models, not " +
                  std::string(dtype_name(dtype)));
}

std::size_t positive_size(std::int64_t value, const char* field) {
  if (value <= 0)
    throw Error(ErrorKind::Format, std::string("config.json: text_config.") + field + " is " +
                                       std::to_string(value) + ", expected a positive number");
  return static_cast<std::size_t>(value);
}

const float* data_or_null(const std::vector<float>& values) {
  return values.empty() ? nullptr : values.data();
}

}  // namespace

KvCache::KvCache(std::size_t layers, std::size_t kv_heads, std::size_t capacity,
                 std::size_t head_dim)
    : capacity_(capacity),
      layer_size_(kv_heads * capacity * head_dim),
      data_(std::make_unique_for_overwrite<float[]>(2 * layers * layer_size_)) {}

DecoderWorkspace::DecoderWorkspace(const TextDecoder& decoder, std::size_t capacity,
                                   std::size_t threads)
    : block_rows_(std::max<std::size_t>(1, std::min(capacity, kDecoderBlockRows))) {
  const std::size_t h = decoder.hidden_;
  const std::size_t d = decoder.head_dim_;
  const std::size_t rows = std::max<std::size_t>(capacity, 1);
  hidden_rows_ = rows;
  hidden_ = std::make_unique_for_overwrite<float[]>(rows * h);
  queries_ = std::make_unique_for_overwrite<float[]>(rows * decoder.heads_ * d);
  normed_.resize(block_rows_ * h);
  qkv_.resize(block_rows_ * (decoder.heads_ + 2 * decoder.kv_heads_) * d);
  attended_.resize(block_rows_ * decoder.heads_ * d);
  projected_.resize(block_rows_ * h);
  mlp_.resize(block_rows_ * 2 * decoder.intermediate_);
  positions_.resize(block_rows_);
  // The largest call: a full block of queries against a full cache.
  AttentionParams params;
  params.tokens = block_rows_;
  params.heads = decoder.heads_;
  params.kv_heads = decoder.kv_heads_;
  params.head_dim = d;
  params.kv_len = rows;
  params.kv_capacity = rows;
  attention_scratch_.resize(attention_scratch_size(params, threads));
}

TextDecoder::TextDecoder(const ModelWeights& weights, const ModelConfig& config,
                         const NetworkSpec& spec) {
  const TextConfig& text = config.text;
  hidden_ = positive_size(text.hidden_size, "hidden_size");
  heads_ = positive_size(text.num_attention_heads, "num_attention_heads");
  kv_heads_ = positive_size(text.num_key_value_heads, "num_key_value_heads");
  head_dim_ = positive_size(text.head_dim, "head_dim");
  intermediate_ = positive_size(text.intermediate_size, "intermediate_size");
  context_length_ = positive_size(text.max_position_embeddings, "max_position_embeddings");
  const std::size_t layer_count = positive_size(text.num_hidden_layers, "num_hidden_layers");
  if (heads_ % kv_heads_ != 0)
    throw Error(ErrorKind::Unsupported, "config.json: " + std::to_string(heads_) +
                                            " attention heads are not a multiple of " +
                                            std::to_string(kv_heads_) + " key/value heads");
  if (head_dim_ % 2 != 0 || head_dim_ > kMaxRopeHeadDim)
    throw Error(ErrorKind::Unsupported,
                "config.json: head_dim " + std::to_string(head_dim_) +
                    " (the decoder's RoPE needs an even head_dim of at most " +
                    std::to_string(kMaxRopeHeadDim) + ")");

  image_token_id_ = config.image_token_id;
  position_offset_ = spec.position_offset;
  rms_eps_ = static_cast<float>(text.rms_norm_eps);
  precision_ = precision_of(config.dtype);
  // bf16 activations are exact for a bf16 model: every GEMM input is already a bf16 value.
  if (precision_ == Precision::Bf16) linear_options_.precision = LinearPrecision::Bf16Activations;
  norm_form_ = spec.norm == TextNormForm::Gemma ? RmsNormForm::Gemma : RmsNormForm::Llama;
  activation_ = spec.activation == MlpActivation::GeluTanh ? GatedActivation::GeluTanh
                                                           : GatedActivation::Silu;
  sandwich_norms_ = spec.sandwich_norms;
  if (spec.embedding_multiplier) {
    // PyTorch's `x * torch.tensor(sqrt(H), dtype=x.dtype)`: the Python double becomes an f32,
    // then the model dtype; the product is then an ordinary rounded multiply (§3.5).
    embedding_multiplier_ =
        round_to_precision(static_cast<float>(*spec.embedding_multiplier), precision_);
  }
  attention_scale_ = spec.attention_scale;
  attention_softcap_ = static_cast<float>(spec.attention_softcap.value_or(0.0));
  final_logit_softcap_ = static_cast<float>(spec.final_logit_softcap.value_or(0.0));

  const std::string table_name = spec.text_prefix + ".embed_tokens.weight";
  embedding_table_ = weights.view(table_name);
  const auto& table_shape = embedding_table_.info->shape;
  if (table_shape.size() != 2 || table_shape[1] != static_cast<std::int64_t>(hidden_) ||
      table_shape[0] <= 0)
    throw Error(ErrorKind::Format, weights.checkpoint().location().string() + ": tensor '" +
                                       table_name + "' is not a [vocab, " +
                                       std::to_string(hidden_) + "] table");
  embedding_rows_ = static_cast<std::size_t>(table_shape[0]);
  const DType table_dtype = embedding_table_.info->dtype;
  if (table_dtype != DType::F32 && table_dtype != DType::BF16 && table_dtype != DType::F16)
    throw Error(ErrorKind::Unsupported, weights.checkpoint().location().string() + ": tensor '" +
                                            table_name + "' is " +
                                            std::string(dtype_name(table_dtype)));
  if (embedding_table_.bytes.size() != embedding_rows_ * hidden_ * dtype_size(table_dtype))
    throw Error(ErrorKind::Format, weights.checkpoint().location().string() + ": tensor '" +
                                       table_name + "' holds the wrong number of bytes");

  inv_freq_.resize(head_dim_ / 2);
  rope_inv_freq(text.rope_theta, head_dim_, inv_freq_.data());

  const std::size_t q_width = heads_ * head_dim_;
  const std::size_t kv_width = kv_heads_ * head_dim_;
  layers_.resize(layer_count);
  for (std::size_t i = 0; i < layer_count; ++i) {
    Layer& layer = layers_[i];
    const std::string prefix = spec.text_layer(static_cast<std::int64_t>(i));
    const std::string attn = prefix + ".self_attn.";
    const std::string mlp = prefix + ".mlp.";
    layer.q_proj = checked_matrix(weights, attn + "q_proj.weight", q_width, hidden_);
    layer.k_proj = checked_matrix(weights, attn + "k_proj.weight", kv_width, hidden_);
    layer.v_proj = checked_matrix(weights, attn + "v_proj.weight", kv_width, hidden_);
    layer.o_proj = checked_matrix(weights, attn + "o_proj.weight", hidden_, q_width);
    layer.gate_proj = checked_matrix(weights, mlp + "gate_proj.weight", intermediate_, hidden_);
    layer.up_proj = checked_matrix(weights, mlp + "up_proj.weight", intermediate_, hidden_);
    layer.down_proj = checked_matrix(weights, mlp + "down_proj.weight", hidden_, intermediate_);
    if (text.attention_bias) {
      layer.q_bias = checked_vector(weights, attn + "q_proj.bias", q_width);
      layer.k_bias = checked_vector(weights, attn + "k_proj.bias", kv_width);
      layer.v_bias = checked_vector(weights, attn + "v_proj.bias", kv_width);
      layer.o_bias = checked_vector(weights, attn + "o_proj.bias", hidden_);
    }
    if (text.mlp_bias) {
      layer.gate_bias = checked_vector(weights, mlp + "gate_proj.bias", intermediate_);
      layer.up_bias = checked_vector(weights, mlp + "up_proj.bias", intermediate_);
      layer.down_bias = checked_vector(weights, mlp + "down_proj.bias", hidden_);
    }
    layer.input_norm = checked_vector(weights, prefix + ".input_layernorm.weight", hidden_);
    layer.post_attention_norm =
        checked_vector(weights, prefix + ".post_attention_layernorm.weight", hidden_);
    if (sandwich_norms_) {
      layer.pre_feedforward_norm =
          checked_vector(weights, prefix + ".pre_feedforward_layernorm.weight", hidden_);
      layer.post_feedforward_norm =
          checked_vector(weights, prefix + ".post_feedforward_layernorm.weight", hidden_);
    }
    if (spec.is_sliding_layer(static_cast<std::int64_t>(i)) && *spec.sliding_window > 0)
      layer.window = static_cast<std::size_t>(*spec.sliding_window);
  }
  final_norm_ = checked_vector(weights, spec.text_prefix + ".norm.weight", hidden_);
  lm_head_ = weights.matrix(spec.lm_head_weight);
  if (lm_head_.in_features != static_cast<std::int64_t>(hidden_) || lm_head_.out_features <= 0)
    throw Error(ErrorKind::Format, weights.checkpoint().location().string() + ": tensor '" +
                                       spec.lm_head_weight + "' has shape " +
                                       shape_text(lm_head_.out_features, lm_head_.in_features) +
                                       ", expected [vocab, " + std::to_string(hidden_) + "]");
  vocab_size_ = static_cast<std::size_t>(lm_head_.out_features);
}

bool TextDecoder::embeddable(gen::TokenId id) const noexcept {
  if (id == image_token_id_) return true;
  return id >= 0 && static_cast<std::size_t>(id) < embedding_rows_;
}

void TextDecoder::embed(std::span<const gen::TokenId> ids, float* out) const {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    gen::TokenId id = ids[i];
    // An image id outside the table is looked up as 0; its row is overwritten by the merge.
    if (id == image_token_id_ && static_cast<std::size_t>(image_token_id_) >= embedding_rows_)
      id = 0;
    embedding(embedding_table_.bytes.data(), embedding_table_.info->dtype, embedding_rows_, hidden_,
              std::span<const std::int32_t>(&id, 1), out + i * hidden_, hidden_);
  }
}

void TextDecoder::run_linear(const float* x, std::size_t rows, std::size_t x_stride,
                             const WeightMatrix& w, const std::vector<float>& bias, float* y,
                             std::size_t y_stride, ThreadPool& pool) const {
  linear(x, static_cast<std::int64_t>(rows), static_cast<std::int64_t>(x_stride), w,
         data_or_null(bias), y, static_cast<std::int64_t>(y_stride), pool, linear_options_);
  // Each nn.Linear output is a tensor of the model dtype.
  if (precision_ != Precision::F32) {
    const std::size_t width = static_cast<std::size_t>(w.out_features);
    for (std::size_t r = 0; r < rows; ++r) round_to_precision(y + r * y_stride, width, precision_);
  }
}

// Input norm, q/k/v projections and RoPE for rows [begin, begin + rows) of the chunk; stores the
// queries for the attention phase and the keys/values in the cache.
void TextDecoder::project_block(const Layer& layer, std::size_t layer_index,
                                const DecoderChunk& chunk, std::size_t begin, std::size_t rows,
                                KvCache& cache, DecoderWorkspace& ws, ThreadPool& pool) const {
  const std::size_t d = head_dim_;
  const std::size_t q_width = heads_ * d;
  const std::size_t kv_width = kv_heads_ * d;
  const std::size_t qkv_width = q_width + 2 * kv_width;
  const float* x = ws.hidden_.get() + begin * hidden_;
  float* normed = ws.normed_.data();
  float* qkv = ws.qkv_.data();

  rms_norm(x, rows, hidden_, hidden_, layer.input_norm.data(), rms_eps_, norm_form_, normed,
           hidden_, precision_, pool);
  run_linear(normed, rows, hidden_, layer.q_proj, layer.q_bias, qkv, qkv_width, pool);
  run_linear(normed, rows, hidden_, layer.k_proj, layer.k_bias, qkv + q_width, qkv_width, pool);
  run_linear(normed, rows, hidden_, layer.v_proj, layer.v_bias, qkv + q_width + kv_width, qkv_width,
             pool);

  // RoPE position = cache slot + offset (PaliGemma's positions are 1-based, §3.8). q and k are
  // adjacent in each row, so one call rotates both.
  for (std::size_t t = 0; t < rows; ++t)
    ws.positions_[t] = static_cast<std::int64_t>(chunk.start + begin + t) + position_offset_;
  rope(qkv, rows, heads_ + kv_heads_, d, qkv_width, ws.positions_.data(), inv_freq_.data(),
       precision_, pool);

  float* queries = ws.queries_.get() + begin * q_width;
  float* keys = cache.keys(layer_index);
  float* values = cache.values(layer_index);
  const std::size_t capacity = cache.capacity();
  for (std::size_t t = 0; t < rows; ++t) {
    const float* row = qkv + t * qkv_width;
    std::memcpy(queries + t * q_width, row, q_width * sizeof(float));
    const std::size_t slot = chunk.start + begin + t;
    for (std::size_t h = 0; h < kv_heads_; ++h) {
      std::memcpy(keys + (h * capacity + slot) * d, row + q_width + h * d, d * sizeof(float));
      std::memcpy(values + (h * capacity + slot) * d, row + q_width + kv_width + h * d,
                  d * sizeof(float));
    }
  }
}

// Attention of rows [begin, begin + rows) of the chunk over every key cached so far (the whole
// chunk's keys included) into workspace.attended_.
void TextDecoder::attend_block(const Layer& layer, std::size_t layer_index,
                               const DecoderChunk& chunk, std::size_t begin, std::size_t rows,
                               KvCache& cache, DecoderWorkspace& ws, ThreadPool& pool) const {
  const std::size_t q_width = heads_ * head_dim_;
  AttentionParams params;
  params.heads = heads_;
  params.kv_heads = kv_heads_;
  params.head_dim = head_dim_;
  params.kv_len = chunk.start + chunk.tokens;
  params.kv_capacity = cache.capacity();
  params.scale = attention_scale_;
  params.softcap = attention_softcap_;
  params.precision = precision_;
  const std::span<float> scratch(ws.attention_scratch_);

  // The reference ORs the prefix block on top of the causal/sliding rule (attention.py
  // decoder_allowed): a prefix query sees the whole prefix however far back, while attention()
  // would apply the window to prefix pairs too. So prefix queries run as PrefixLm without a
  // window (they see exactly the prefix), the others as causal with this layer's window.
  const std::size_t prefix = chunk.bidirectional_prefix;
  const std::size_t split = std::clamp(prefix, begin, begin + rows);
  if (split > begin) {
    params.tokens = split - begin;
    params.q_start = chunk.start + begin;
    params.mask = AttentionMask::PrefixLm;
    params.prefix_len = prefix;
    params.window = 0;
    attention(ws.queries_.get() + begin * q_width, cache.keys(layer_index),
              cache.values(layer_index), ws.attended_.data(), params, scratch, pool);
  }
  if (begin + rows > split) {
    params.tokens = begin + rows - split;
    params.q_start = chunk.start + split;
    params.mask = AttentionMask::Causal;
    params.prefix_len = 0;
    params.window = layer.window;
    attention(ws.queries_.get() + split * q_width, cache.keys(layer_index),
              cache.values(layer_index), ws.attended_.data() + (split - begin) * q_width, params,
              scratch, pool);
  }
}

// Attention, o_proj, residual and MLP for rows [begin, begin + rows) of the chunk.
void TextDecoder::finish_block(const Layer& layer, std::size_t layer_index,
                               const DecoderChunk& chunk, std::size_t begin, std::size_t rows,
                               KvCache& cache, DecoderWorkspace& ws, ThreadPool& pool) const {
  const std::size_t q_width = heads_ * head_dim_;
  const std::size_t n = rows * hidden_;
  float* x = ws.hidden_.get() + begin * hidden_;
  float* normed = ws.normed_.data();
  float* projected = ws.projected_.data();
  float* mlp = ws.mlp_.data();

  attend_block(layer, layer_index, chunk, begin, rows, cache, ws, pool);
  run_linear(ws.attended_.data(), rows, q_width, layer.o_proj, layer.o_bias, projected, hidden_,
             pool);
  if (sandwich_norms_) {
    // Gemma2: the post-attention norm wraps the attention output before the residual (§3.6).
    rms_norm(projected, rows, hidden_, hidden_, layer.post_attention_norm.data(), rms_eps_,
             norm_form_, normed, hidden_, precision_, pool);
    add(x, normed, x, n, precision_);
    rms_norm(x, rows, hidden_, hidden_, layer.pre_feedforward_norm.data(), rms_eps_, norm_form_,
             normed, hidden_, precision_, pool);
  } else {
    add(x, projected, x, n, precision_);
    rms_norm(x, rows, hidden_, hidden_, layer.post_attention_norm.data(), rms_eps_, norm_form_,
             normed, hidden_, precision_, pool);
  }

  const std::size_t mlp_width = 2 * intermediate_;
  run_linear(normed, rows, hidden_, layer.gate_proj, layer.gate_bias, mlp, mlp_width, pool);
  run_linear(normed, rows, hidden_, layer.up_proj, layer.up_bias, mlp + intermediate_, mlp_width,
             pool);
  gated_activation(mlp, rows, intermediate_, mlp_width, activation_, mlp, mlp_width, precision_,
                   pool);
  run_linear(mlp, rows, mlp_width, layer.down_proj, layer.down_bias, projected, hidden_, pool);
  if (sandwich_norms_) {
    rms_norm(projected, rows, hidden_, hidden_, layer.post_feedforward_norm.data(), rms_eps_,
             norm_form_, normed, hidden_, precision_, pool);
    add(x, normed, x, n, precision_);
  } else {
    add(x, projected, x, n, precision_);
  }
}

void TextDecoder::forward(const DecoderChunk& chunk, KvCache& cache, DecoderWorkspace& ws,
                          ThreadPool& pool) const {
  if (chunk.tokens == 0) return;
  if (chunk.start + chunk.tokens > cache.capacity() || chunk.tokens > ws.hidden_rows_ ||
      (chunk.bidirectional_prefix > 0 && chunk.start != 0) ||
      chunk.bidirectional_prefix > chunk.tokens)
    throw Error(ErrorKind::Internal,
                "TextDecoder::forward: chunk of " + std::to_string(chunk.tokens) +
                    " rows at slot " + std::to_string(chunk.start) + " (prefix " +
                    std::to_string(chunk.bidirectional_prefix) + ") does not fit a cache of " +
                    std::to_string(cache.capacity()));
  if (embedding_multiplier_ != 0.0f)
    scale(ws.hidden_.get(), chunk.tokens * hidden_, embedding_multiplier_, precision_);
  const std::size_t block = ws.block_rows_;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    // Every key of the chunk must be cached before any query attends (prefix-LM queries see
    // later prefix keys), hence two passes over the blocks.
    for (std::size_t begin = 0; begin < chunk.tokens; begin += block)
      project_block(layers_[l], l, chunk, begin, std::min(block, chunk.tokens - begin), cache, ws,
                    pool);
    for (std::size_t begin = 0; begin < chunk.tokens; begin += block)
      finish_block(layers_[l], l, chunk, begin, std::min(block, chunk.tokens - begin), cache, ws,
                   pool);
  }
}

void TextDecoder::logits(const float* hidden, std::size_t rows, float* out, DecoderWorkspace& ws,
                         ThreadPool& pool) const {
  const std::size_t block = ws.block_rows_;
  for (std::size_t begin = 0; begin < rows; begin += block) {
    const std::size_t n = std::min(block, rows - begin);
    rms_norm(hidden + begin * hidden_, n, hidden_, hidden_, final_norm_.data(), rms_eps_,
             norm_form_, ws.normed_.data(), hidden_, precision_, pool);
    // Logits come out of the LM head in the model dtype, then are used as f32 (§6, §7.2).
    float* y = out + begin * vocab_size_;
    run_linear(ws.normed_.data(), n, hidden_, lm_head_, no_bias_, y, vocab_size_, pool);
    if (final_logit_softcap_ > 0.0f) softcap(y, n * vocab_size_, final_logit_softcap_, precision_);
  }
}

}  // namespace vlmrt::native
