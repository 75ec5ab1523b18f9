#include "backends/onnx/onnx_sequence.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "backends/onnx/tensor_util.hpp"
#include "runtime/prompt_checks.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::onnx {

namespace {

DecoderGraphs& checked(const std::shared_ptr<DecoderGraphs>& graphs) {
  if (!graphs) throw Error(ErrorKind::InvalidArgument, "OnnxSequence: no decoder graphs given");
  return *graphs;
}

std::size_t resolve_capacity(const DecoderLayout& layout, std::size_t capacity) {
  if (capacity == 0) return layout.context_length;
  if (capacity > layout.context_length)
    throw Error(ErrorKind::InvalidArgument,
                "a sequence of " + std::to_string(capacity) +
                    " positions exceeds the model's context length of " +
                    std::to_string(layout.context_length) + " (max_position_embeddings)");
  return capacity;
}

std::vector<std::int64_t> cache_shape(const DecoderLayout& layout, std::size_t length) {
  return {1, static_cast<std::int64_t>(layout.kv_heads), static_cast<std::int64_t>(length),
          static_cast<std::int64_t>(layout.head_dim)};
}

}  // namespace

OnnxSequence::OnnxSequence(std::shared_ptr<DecoderGraphs> graphs, std::size_t capacity)
    : graphs_(std::move(graphs)),
      capacity_(resolve_capacity(checked(graphs_).layout, capacity)),
      mask_ones_(capacity_, 1),
      binding_(nullptr) {
  ids_.reserve(capacity_);
  with_ort_errors("ONNX sequence", [&] {
    binding_ = Ort::IoBinding(graphs_->decoder_graph->session());
    reset_cache();
  });
}

void OnnxSequence::reset_cache() {
  // The first run feeds zero-length past tensors [1, kv_heads, 0, head_dim] (ONNX-LAYOUT.md).
  const DecoderLayout& layout = graphs_->layout;
  const std::vector<std::int64_t> shape = cache_shape(layout, 0);
  Ort::AllocatorWithDefaultOptions allocator;
  cache_.clear();
  for (std::size_t i = 0; i < layout.cache.size(); ++i)
    cache_.push_back(
        Ort::Value::CreateTensor(allocator, shape.data(), shape.size(), layout.cache_type));
}

Ort::Value OnnxSequence::slice_cache(const Ort::Value& full, std::size_t length) {
  const DecoderLayout& layout = graphs_->layout;
  const std::size_t row_bytes = layout.head_dim * element_size(layout.cache_type);
  const std::vector<std::int64_t> shape = cache_shape(layout, length);
  const std::vector<std::int64_t> head_shape = {static_cast<std::int64_t>(length),
                                                static_cast<std::int64_t>(layout.head_dim)};
  const auto* source = static_cast<const std::byte*>(full.GetTensorRawData());
  if (graphs_->cache_on_cpu) {
    Ort::AllocatorWithDefaultOptions allocator;
    Ort::Value sliced =
        Ort::Value::CreateTensor(allocator, shape.data(), shape.size(), layout.cache_type);
    auto* target = static_cast<std::byte*>(sliced.GetTensorMutableRawData());
    for (std::size_t head = 0; head < layout.kv_heads; ++head)
      std::memcpy(target + head * length * row_bytes, source + head * cached_ * row_bytes,
                  length * row_bytes);
    return sliced;
  }
  // Device memory: one copy per head of the first `length` rows, through views into both
  // tensors; the data transfer is the provider's, registered with the environment.
  Ort::Allocator allocator(graphs_->decoder_graph->session(), graphs_->cache_memory);
  Ort::Value sliced =
      Ort::Value::CreateTensor(allocator, shape.data(), shape.size(), layout.cache_type);
  auto* target = static_cast<std::byte*>(sliced.GetTensorMutableRawData());
  std::vector<Ort::Value> from;
  std::vector<Ort::Value> to;
  for (std::size_t head = 0; head < layout.kv_heads; ++head) {
    from.push_back(Ort::Value::CreateTensor(
        graphs_->cache_memory, const_cast<std::byte*>(source + head * cached_ * row_bytes),
        length * row_bytes, head_shape.data(), head_shape.size(), layout.cache_type));
    to.push_back(Ort::Value::CreateTensor(graphs_->cache_memory, target + head * length * row_bytes,
                                          length * row_bytes, head_shape.data(), head_shape.size(),
                                          layout.cache_type));
  }
  const Ort::Status status = graphs_->env->CopyTensors(from, to, nullptr);
  if (!status.IsOK())
    throw Error(ErrorKind::Backend,
                "cannot shorten the KV cache on the device (ONNX Runtime CopyTensors: " +
                    status.GetErrorMessage() + ")");
  return sliced;
}

void OnnxSequence::truncate(std::size_t length) {
  if (length > cached_)
    throw Error(ErrorKind::InvalidArgument, "cannot truncate a sequence to " +
                                                std::to_string(length) + " positions: only " +
                                                std::to_string(cached_) + " are cached");
  pending_prefix_ = 0;
  pending_images_ = {};
  if (length < cached_) {
    if (length == 0) {
      with_ort_errors("cannot reset the KV cache", [&] { reset_cache(); });
    } else {
      with_ort_errors("cannot shorten the KV cache", [&] {
        std::vector<Ort::Value> sliced;
        for (const Ort::Value& value : cache_) sliced.push_back(slice_cache(value, length));
        cache_ = std::move(sliced);
      });
    }
  }
  cached_ = length;
  ids_.resize(length);
}

void OnnxSequence::set_prompt(runtime::PromptChunk chunk) {
  const DecoderLayout& layout = graphs_->layout;
  runtime::check_prompt_chunk(chunk, {.capacity = capacity_,
                                      .cached = cached_,
                                      .embedding_rows = layout.embedding_rows,
                                      .image_token_id = layout.image_token_id,
                                      .hidden_size = layout.hidden_size});
  if (chunk.bidirectional_prefix > 1 && layout.has_attention_mask)
    throw Error(ErrorKind::Unsupported,
                graphs_->decoder_graph->label() +
                    " has an attention_mask input, so it attends causally: it cannot run a "
                    "bidirectional prefix of " +
                    std::to_string(chunk.bidirectional_prefix) + " positions");
  ids_.resize(cached_);  // a prompt set earlier and never run is replaced
  ids_.insert(ids_.end(), chunk.ids.begin(), chunk.ids.end());
  pending_prefix_ = chunk.bidirectional_prefix;
  pending_images_ = std::move(chunk.images);
}

void OnnxSequence::run_decoder(std::span<const float> rows, std::size_t tokens, const char* what) {
  DecoderGraphs& graphs = *graphs_;
  const DecoderLayout& layout = graphs.layout;
  const std::size_t total = cached_ + tokens;
  const auto t = static_cast<std::int64_t>(tokens);
  const auto h = static_cast<std::int64_t>(layout.hidden_size);

  const HostTensor embeds(rows.first(tokens * layout.hidden_size), layout.embeds_type, {1, t, h},
                          graphs.cpu);
  positions_.resize(tokens);
  for (std::size_t i = 0; i < tokens; ++i)
    positions_[i] = layout.position_base + static_cast<std::int64_t>(cached_ + i);
  const HostTensor positions(positions_, layout.position_type, {1, t}, graphs.cpu);
  // No padding in a single sequence: the mask is all ones over cache + chunk.
  const HostTensor mask(std::span<const std::int64_t>(mask_ones_).first(total), layout.mask_type,
                        {1, static_cast<std::int64_t>(total)}, graphs.cpu);
  const HostTensor keep(std::span<const std::int64_t>(mask_ones_).first(1),
                        layout.logits_to_keep_type, layout.logits_to_keep_shape, graphs.cpu);
  const std::uint8_t use_cache = cached_ > 0 ? 1 : 0;
  const HostTensor use_cache_branch =
      HostTensor::from_mask({&use_cache, 1}, ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, {1}, graphs.cpu);

  try {
    binding_.BindInput(layout.embeds_input.c_str(), embeds.value());
    if (layout.has_attention_mask) binding_.BindInput("attention_mask", mask.value());
    if (layout.has_position_ids) binding_.BindInput("position_ids", positions.value());
    if (layout.has_logits_to_keep) binding_.BindInput("num_logits_to_keep", keep.value());
    if (layout.has_use_cache_branch)
      binding_.BindInput("use_cache_branch", use_cache_branch.value());
    for (std::size_t i = 0; i < layout.cache.size(); ++i)
      binding_.BindInput(layout.cache[i].past.c_str(), cache_[i]);
    // Logits come back to the host; the presents stay on the provider's device.
    binding_.BindOutput(layout.logits_output.c_str(), graphs.cpu);
    for (const CacheSlot& slot : layout.cache)
      binding_.BindOutput(slot.present.c_str(), graphs.cache_memory);
  } catch (const Ort::Exception& e) {
    binding_.ClearBoundInputs();
    binding_.ClearBoundOutputs();
    throw Error(ErrorKind::Backend,
                graphs.decoder_graph->label() + ": cannot bind the decoder's inputs: " + e.what());
  }
  std::vector<Ort::Value> outputs;
  try {
    graphs.decoder_graph->run(binding_, what);
    outputs = binding_.GetOutputValues();
  } catch (...) {
    binding_.ClearBoundInputs();
    binding_.ClearBoundOutputs();
    throw;
  }
  // Drop the binding's references so the previous cache is freed now, not at the next run.
  binding_.ClearBoundInputs();
  binding_.ClearBoundOutputs();

  const std::vector<std::int64_t> expected = cache_shape(layout, total);
  if (outputs.size() != layout.cache.size() + 1)
    throw Error(ErrorKind::Backend, graphs.decoder_graph->label() + " returned " +
                                        std::to_string(outputs.size()) + " outputs, expected " +
                                        std::to_string(layout.cache.size() + 1));
  for (std::size_t i = 0; i < layout.cache.size(); ++i) {
    const std::vector<std::int64_t> shape = outputs[i + 1].GetTensorTypeAndShapeInfo().GetShape();
    if (shape != expected)
      throw Error(ErrorKind::Backend, graphs.decoder_graph->label() + ": '" +
                                          layout.cache[i].present + "' came out as " +
                                          shape_string(shape) + ", expected " +
                                          shape_string(expected));
  }
  const std::vector<std::int64_t> logits_shape = outputs[0].GetTensorTypeAndShapeInfo().GetShape();
  if (logits_shape.size() != 3 || logits_shape[0] != 1 || logits_shape[1] < 1 ||
      logits_shape[1] > t || logits_shape[2] != static_cast<std::int64_t>(layout.vocab_size))
    throw Error(ErrorKind::Backend, graphs.decoder_graph->label() + ": logits came out as " +
                                        shape_string(logits_shape) + " for " +
                                        std::to_string(tokens) + " positions and a vocabulary of " +
                                        std::to_string(layout.vocab_size));
  // The last row is the last position's, whether the graph trimmed or not.
  last_floats(outputs[0], layout.vocab_size, logits_);
  for (std::size_t i = 0; i < layout.cache.size(); ++i) cache_[i] = std::move(outputs[i + 1]);
  cached_ = total;
}

std::span<const float> OnnxSequence::prefill() {
  return with_ort_errors("ONNX prefill", [&] { return run_prefill(); });
}

std::span<const float> OnnxSequence::step(gen::TokenId token) {
  return with_ort_errors("ONNX decode step", [&] { return run_step(token); });
}

std::span<const float> OnnxSequence::run_prefill() {
  const std::size_t length = prompt_length();
  if (length == 0)
    throw Error(ErrorKind::InvalidArgument,
                "prefill() without a pending prompt (call set_prompt() first)");
  const DecoderLayout& layout = graphs_->layout;
  const std::size_t hidden = layout.hidden_size;
  const std::span<const gen::TokenId> ids = std::span<const gen::TokenId>(ids_).subspan(cached_);
  graphs_->embed(ids, rows_);
  // Image rows replace the placeholders in order (ONNX-LAYOUT.md "Generation loop" 1).
  std::size_t image_row = 0;
  for (std::size_t i = 0; i < length && image_row < pending_images_.rows; ++i) {
    if (ids[i] != layout.image_token_id) continue;
    std::memcpy(rows_.data() + i * hidden, pending_images_.values.data() + image_row * hidden,
                hidden * sizeof(float));
    ++image_row;
  }
  pending_images_ = {};
  // A decoder without attention_mask attends both ways over everything its first run sees
  // (PaliGemma's prefix-LM). So the first run covers exactly the bidirectional prefix (at least
  // one position, for which both ways and causal agree) and the rest runs causally after it.
  const std::span<const float> rows = rows_;
  if (!layout.has_attention_mask && cached_ == 0) {
    const std::size_t first = std::clamp<std::size_t>(pending_prefix_, 1, length);
    pending_prefix_ = 0;
    run_decoder(rows, first, "prefill");
    if (first < length) run_decoder(rows.subspan(first * hidden), length - first, "prefill");
  } else {
    pending_prefix_ = 0;
    run_decoder(rows, length, "prefill");
  }
  steps_ = 0;
  return logits_;
}

std::span<const float> OnnxSequence::run_step(gen::TokenId token) {
  if (prompt_length() != 0)
    throw Error(ErrorKind::InvalidArgument, "step() while a prompt of " +
                                                std::to_string(prompt_length()) +
                                                " ids is pending (call prefill() first)");
  if (cached_ >= capacity_)
    throw Error(ErrorKind::LimitExceeded, "the sequence is full: all " + std::to_string(capacity_) +
                                              " positions of its cache are used");
  // A generated image id gets its ordinary embedding: features are merged only at prefill.
  graphs_->embed(std::span<const gen::TokenId>(&token, 1), rows_);
  ++steps_;
  const std::string what = "decode step " + std::to_string(steps_);
  run_decoder(rows_, 1, what.c_str());
  ids_.push_back(token);
  return logits_;
}

}  // namespace vlmrt::onnx
