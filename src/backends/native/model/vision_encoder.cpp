#include "backends/native/model/vision_encoder.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "backends/native/cpu/attention.hpp"
#include "backends/native/cpu/ops_tensor.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

namespace {

// Elementwise passes split over the pool in chunks of at least this many values (below that the
// hand-off costs more than the work).
constexpr std::size_t kElementsPerChunk = std::size_t{1} << 14;

// pool.parallel_for around a lambda holding one pointer: std::function keeps it in place, so no
// heap allocation per call.
template <class Body>
void parallel_chunks(ThreadPool& pool, std::size_t n, const Body& body,
                     std::size_t min_chunk = kElementsPerChunk) {
  const Body* target = &body;
  pool.parallel_for(
      0, n, [target](std::size_t begin, std::size_t end) { (*target)(begin, end); }, min_chunk);
}

void round_parallel(float* x, std::size_t n, Precision precision, ThreadPool& pool) {
  if (precision == Precision::F32) return;
  parallel_chunks(pool, n, [&](std::size_t begin, std::size_t end) {
    round_to_precision(x + begin, end - begin, precision);
  });
}

// x = round(x + y): the residual add.
void add_parallel(float* x, const float* y, std::size_t n, Precision precision, ThreadPool& pool) {
  parallel_chunks(pool, n, [&](std::size_t begin, std::size_t end) {
    add(x + begin, y + begin, x + begin, end - begin, precision);
  });
}

Precision precision_of(DType dtype) {
  switch (dtype) {
    case DType::BF16:
      return Precision::Bf16;
    case DType::F16:
      return Precision::F16;
    default:
      return Precision::F32;
  }
}

// Grows `buffer` to at least n values (never shrinks: the next call of that size reuses it).
float* reserve(std::vector<float>& buffer, std::size_t n) {
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// Inventory-checked weights can still disagree with the config the caller passes; a mismatch
// here would read past a tensor, so it is checked once.
WeightMatrix checked_matrix(const ModelWeights& weights, const std::string& name,
                            std::int64_t out_features, std::int64_t in_features) {
  WeightMatrix w = weights.matrix(name);
  if (w.out_features != out_features || w.in_features != in_features) {
    throw Error(ErrorKind::Format,
                "vision encoder: tensor '" + name + "' is [" + std::to_string(w.out_features) +
                    ", " + std::to_string(w.in_features) + "] as a matrix, config says [" +
                    std::to_string(out_features) + ", " + std::to_string(in_features) + "]");
  }
  return w;
}

std::vector<float> checked_vector(const ModelWeights& weights, const std::string& name,
                                  std::int64_t size) {
  std::vector<float> values = weights.vector_f32(name);
  if (values.size() != static_cast<std::size_t>(size)) {
    throw Error(ErrorKind::Format, "vision encoder: tensor '" + name + "' has " +
                                       std::to_string(values.size()) + " values, config says " +
                                       std::to_string(size));
  }
  return values;
}

}  // namespace

VisionEncoder::VisionEncoder(const ModelWeights& weights, const ModelConfig& config,
                             const NetworkSpec& spec, ThreadPool& pool)
    : pool_(pool), precision_(precision_of(config.dtype)), vision_(config.vision) {
  const VisionConfig& v = config.vision;
  if (v.num_channels != 3) {
    throw Error(ErrorKind::Unsupported, "vision encoder: vision_config.num_channels is " +
                                            std::to_string(v.num_channels) +
                                            ", the native engine runs 3-channel (RGB) towers");
  }
  if (v.hidden_act != "gelu_pytorch_tanh") {
    throw Error(ErrorKind::Unsupported, "vision encoder: vision_config.hidden_act '" +
                                            v.hidden_act +
                                            "' is not supported (expected gelu_pytorch_tanh)");
  }
  if (v.hidden_size <= 0 || v.num_attention_heads <= 0 ||
      v.hidden_size % v.num_attention_heads != 0 || v.patch_size <= 0 ||
      v.patches_per_side() <= 0) {
    throw Error(ErrorKind::Format, "vision encoder: vision_config hidden_size " +
                                       std::to_string(v.hidden_size) + ", heads " +
                                       std::to_string(v.num_attention_heads) + ", image_size " +
                                       std::to_string(v.image_size) + ", patch_size " +
                                       std::to_string(v.patch_size) + " do not form a tower");
  }
  // Bf16 activations are already bf16, so letting the GEMM round them again is exact.
  linear_options_.precision =
      precision_ == Precision::Bf16 ? LinearPrecision::Bf16Activations : LinearPrecision::Exact;
  bucketed_ = spec.vision_bucketed_positions;
  hidden_ = static_cast<std::size_t>(v.hidden_size);
  inner_ = static_cast<std::size_t>(v.intermediate_size);
  heads_ = static_cast<std::size_t>(v.num_attention_heads);
  head_dim_ = hidden_ / heads_;
  grid_ = static_cast<std::size_t>(v.patches_per_side());
  patches_ = grid_ * grid_;
  eps_ = static_cast<float>(v.layer_norm_eps);
  // Python's head_dim ** -0.5 (a double), cast to f32 where it meets the scores (§7.4).
  attention_scale_ = std::pow(static_cast<double>(head_dim_), -0.5);

  const std::int64_t d = v.hidden_size;
  const std::string& prefix = spec.vision_prefix;
  patch_weight_ = checked_matrix(weights, prefix + ".embeddings.patch_embedding.weight", d,
                                 3 * v.patch_size * v.patch_size);
  patch_bias_ = checked_vector(weights, prefix + ".embeddings.patch_embedding.bias", d);
  // The position table as f32 once: every frame adds rows of it (exact for bf16/f16 tables).
  const std::string position_name = prefix + ".embeddings.position_embedding.weight";
  const WeightMatrix table = checked_matrix(weights, position_name, v.num_patches(), d);
  std::vector<std::int32_t> identity(patches_);
  for (std::size_t i = 0; i < patches_; ++i) identity[i] = static_cast<std::int32_t>(i);
  positions_.resize(patches_ * hidden_);
  embedding(table.data, table.dtype, patches_, hidden_, identity, positions_.data(), hidden_);

  layers_.resize(static_cast<std::size_t>(v.num_hidden_layers));
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = layers_[i];
    const std::string base = spec.vision_layer(static_cast<std::int64_t>(i));
    layer.norm1_weight = checked_vector(weights, base + ".layer_norm1.weight", d);
    layer.norm1_bias = checked_vector(weights, base + ".layer_norm1.bias", d);
    layer.norm2_weight = checked_vector(weights, base + ".layer_norm2.weight", d);
    layer.norm2_bias = checked_vector(weights, base + ".layer_norm2.bias", d);
    const std::string attn = base + ".self_attn.";
    layer.q = checked_matrix(weights, attn + "q_proj.weight", d, d);
    layer.k = checked_matrix(weights, attn + "k_proj.weight", d, d);
    layer.v = checked_matrix(weights, attn + "v_proj.weight", d, d);
    layer.out = checked_matrix(weights, attn + "out_proj.weight", d, d);
    layer.q_bias = checked_vector(weights, attn + "q_proj.bias", d);
    layer.k_bias = checked_vector(weights, attn + "k_proj.bias", d);
    layer.v_bias = checked_vector(weights, attn + "v_proj.bias", d);
    layer.out_bias = checked_vector(weights, attn + "out_proj.bias", d);
    layer.fc1 = checked_matrix(weights, base + ".mlp.fc1.weight", v.intermediate_size, d);
    layer.fc2 = checked_matrix(weights, base + ".mlp.fc2.weight", d, v.intermediate_size);
    layer.fc1_bias = checked_vector(weights, base + ".mlp.fc1.bias", v.intermediate_size);
    layer.fc2_bias = checked_vector(weights, base + ".mlp.fc2.bias", d);
  }
  post_norm_weight_ = checked_vector(weights, prefix + ".post_layernorm.weight", d);
  post_norm_bias_ = checked_vector(weights, prefix + ".post_layernorm.bias", d);

  connector_ = spec.connector;
  text_hidden_ = static_cast<std::size_t>(config.text.hidden_size);
  const auto text_hidden = static_cast<std::int64_t>(text_hidden_);
  if (connector_ == ConnectorKind::ScaledLinear) {
    connector_weight_ = checked_matrix(weights, spec.connector_weight, text_hidden, d);
    connector_divisor_ = spec.connector_divisor;
    image_seq_len_ = patches_;
  } else {
    shuffle_scale_ = static_cast<std::size_t>(spec.pixel_shuffle_scale);
    if (shuffle_scale_ == 0 || grid_ % shuffle_scale_ != 0) {
      throw Error(ErrorKind::Format,
                  "vision encoder: scale_factor " + std::to_string(spec.pixel_shuffle_scale) +
                      " does not divide the " + std::to_string(grid_) + " patches per side");
    }
    const auto s = static_cast<std::int64_t>(shuffle_scale_);
    connector_weight_ = checked_matrix(weights, spec.connector_weight, text_hidden, d * s * s);
    image_seq_len_ = patches_ / (shuffle_scale_ * shuffle_scale_);
  }
  if (!spec.connector_bias.empty())
    connector_bias_ = checked_vector(weights, spec.connector_bias, text_hidden);
  if (static_cast<std::int64_t>(image_seq_len_) != config.image_seq_len) {
    throw Error(ErrorKind::Format, "vision encoder: the connector gives " +
                                       std::to_string(image_seq_len_) +
                                       " rows per frame, config says image_seq_len " +
                                       std::to_string(config.image_seq_len));
  }
}

void VisionEncoder::project(const float* x, std::size_t rows, const WeightMatrix& w,
                            const std::vector<float>& bias, float* y) {
  linear(x, static_cast<std::int64_t>(rows), w.in_features, w, bias.empty() ? nullptr : bias.data(),
         y, w.out_features, pool_, linear_options_);
  round_parallel(y, rows * static_cast<std::size_t>(w.out_features), precision_, pool_);
}

void VisionEncoder::embed(const PixelBatch& pixels) {
  const std::size_t side = static_cast<std::size_t>(pixels.height);
  const std::size_t patch = static_cast<std::size_t>(vision_.patch_size);
  float* im2col = reserve(im2col_, patch_embed_scratch_size(side, patch));
  for (std::size_t i = 0; i < plan_.size(); ++i) {
    float* out = x_.data() + i * patches_ * hidden_;
    // Conv of the pixels cast to the model dtype, rounded once (§7.3), one GEMM per frame.
    patch_embed(pixels.frame(plan_.frames[i]).data(), side, patch, patch_weight_,
                patch_bias_.data(), out, im2col, precision_, pool_);
    const std::span<const std::int32_t> ids = plan_.positions_of(i);
    parallel_chunks(
        pool_, patches_,
        [&](std::size_t begin, std::size_t end) {
          for (std::size_t t = begin; t < end; ++t) {
            float* row = out + t * hidden_;
            add(row, positions_.data() + static_cast<std::size_t>(ids[t]) * hidden_, row, hidden_,
                precision_);
          }
        },
        kElementsPerChunk / hidden_ + 1);
  }
}

void VisionEncoder::to_heads(const float* tokens, std::size_t frames, float* heads) {
  parallel_chunks(
      pool_, frames * heads_,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t fh = begin; fh < end; ++fh) {
          const std::size_t frame = fh / heads_;
          const std::size_t head = fh % heads_;
          const float* src = tokens + frame * patches_ * hidden_ + head * head_dim_;
          float* dst = heads + fh * patches_ * head_dim_;
          for (std::size_t t = 0; t < patches_; ++t)
            std::memcpy(dst + t * head_dim_, src + t * hidden_, head_dim_ * sizeof(float));
        }
      },
      1);
}

void VisionEncoder::attend(std::size_t frames) {
  AttentionParams params;
  params.tokens = patches_;
  params.heads = heads_;
  params.kv_heads = heads_;
  params.head_dim = head_dim_;
  params.kv_len = patches_;
  params.kv_capacity = patches_;
  params.scale = attention_scale_;
  params.mask = AttentionMask::None;
  params.precision = precision_;
  const std::size_t scratch = attention_scratch_size(params, pool_.size());
  reserve(attention_scratch_, scratch);
  const std::span<float> scratch_span(attention_scratch_.data(), scratch);
  const std::size_t frame_values = patches_ * hidden_;
  for (std::size_t f = 0; f < frames; ++f) {
    // Padded patches are masked as keys only (§3.2); their own rows are computed and kept, as
    // Hugging Face keeps them.
    params.key_valid = plan_.key_valid_of(f);
    attention(q_.data() + f * frame_values, k_.data() + f * frame_values,
              v_.data() + f * frame_values, attn_.data() + f * frame_values, params, scratch_span,
              pool_);
  }
}

void VisionEncoder::run_layer(const Layer& layer, std::size_t rows) {
  const std::size_t frames = rows / patches_;
  const std::size_t n = rows * hidden_;
  // x = x + out_proj(attention(LN1(x)))
  layer_norm(x_.data(), rows, hidden_, hidden_, layer.norm1_weight.data(), layer.norm1_bias.data(),
             eps_, h_.data(), hidden_, precision_, pool_);
  project(h_.data(), rows, layer.q, layer.q_bias, q_.data());
  // attn_ is free until attend(): it holds k, then v, on their way to the head-major layout.
  project(h_.data(), rows, layer.k, layer.k_bias, attn_.data());
  to_heads(attn_.data(), frames, k_.data());
  project(h_.data(), rows, layer.v, layer.v_bias, attn_.data());
  to_heads(attn_.data(), frames, v_.data());
  attend(frames);
  project(attn_.data(), rows, layer.out, layer.out_bias, h_.data());
  add_parallel(x_.data(), h_.data(), n, precision_, pool_);
  // x = x + fc2(gelu_tanh(fc1(LN2(x))))
  layer_norm(x_.data(), rows, hidden_, hidden_, layer.norm2_weight.data(), layer.norm2_bias.data(),
             eps_, h_.data(), hidden_, precision_, pool_);
  project(h_.data(), rows, layer.fc1, layer.fc1_bias, mlp_.data());
  gelu_tanh(mlp_.data(), mlp_.data(), rows * inner_, precision_, pool_);
  project(mlp_.data(), rows, layer.fc2, layer.fc2_bias, h_.data());
  add_parallel(x_.data(), h_.data(), n, precision_, pool_);
}

std::vector<float> VisionEncoder::run_tower(const PixelBatch& pixels) {
  check_pixel_batch(pixels, vision_);
  plan_vision_frames(pixels, vision_, bucketed_, plan_);
  const std::size_t rows = plan_.size() * patches_;
  const std::size_t n = rows * hidden_;
  for (auto* buffer : {&x_, &h_, &q_, &k_, &v_, &attn_}) reserve(*buffer, n);
  reserve(mlp_, rows * inner_);

  embed(pixels);
  for (const Layer& layer : layers_) run_layer(layer, rows);
  std::vector<float> out(n);
  layer_norm(x_.data(), rows, hidden_, hidden_, post_norm_weight_.data(), post_norm_bias_.data(),
             eps_, out.data(), hidden_, precision_, pool_);
  return out;
}

runtime::ImageFeatures VisionEncoder::connect(std::span<const float> tower_out, int frames) {
  const std::size_t frame_values = patches_ * hidden_;
  if (frames < 0 || tower_out.size() != static_cast<std::size_t>(frames) * frame_values) {
    throw Error(ErrorKind::InvalidArgument,
                "vision encoder: connect() got " + std::to_string(tower_out.size()) +
                    " tower values for " + std::to_string(frames) + " frames, expected " +
                    std::to_string(frames) + " x " + std::to_string(patches_) + " patches x " +
                    std::to_string(hidden_));
  }
  runtime::ImageFeatures features;
  features.frames = frames;
  features.rows = static_cast<std::size_t>(frames) * image_seq_len_;
  features.width = text_hidden_;
  features.values.resize(features.rows * features.width);
  if (frames == 0) return features;
  if (connector_ == ConnectorKind::ScaledLinear) {
    project(tower_out.data(), features.rows, connector_weight_, connector_bias_,
            features.values.data());
    // A tensor ÷ Python float (§3.3): a true division, not a product with 1/sqrt(H).
    divide(features.values.data(), features.values.size(), connector_divisor_, precision_);
  } else {
    // Space-to-depth is an exact copy; the bias-free linear then rounds once (§3.4).
    float* shuffled = reserve(shuffled_, tower_out.size());
    pixel_shuffle(tower_out.data(), static_cast<std::size_t>(frames), grid_, hidden_,
                  shuffle_scale_, shuffled);
    project(shuffled, features.rows, connector_weight_, connector_bias_, features.values.data());
  }
  return features;
}

runtime::ImageFeatures VisionEncoder::encode(const PixelBatch& pixels) {
  const std::vector<float> tower = run_tower(pixels);
  return connect(tower, static_cast<int>(plan_.size()));
}

}  // namespace vlmrt::native
