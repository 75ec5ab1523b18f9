// The tensors a ModelConfig implies (names and shapes, MODELS.md §2) and a comparison with the
// tensors a checkpoint actually holds.
//
// Canonical names are current transformers' names: for PaliGemma the `model.language_model.` /
// `model.vision_tower.` / `model.multi_modal_projector.` / `lm_head.` prefixes; hub checkpoints
// with the legacy prefixes (`language_model.model.`, `vision_tower.`, `multi_modal_projector.`,
// `language_model.lm_head.`) map onto them. Idefics3/SmolVLM names are the same in both eras.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/safetensors.hpp"
#include "models/model_config.hpp"

namespace vlmrt {

struct ExpectedTensor {
  std::string name;  // canonical
  std::vector<std::int64_t> shape;
  bool optional = false;  // lm_head.weight of a tied model
};

// In a stable order: vision tower, connector, text model, lm_head.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config);

// Legacy → canonical for PaliGemma; names that need no mapping (and all Idefics3 names) are
// returned unchanged.
std::string canonical_tensor_name(ModelFamily family, std::string_view name);
// Canonical → legacy for PaliGemma (unchanged for Idefics3).
std::string legacy_tensor_name(ModelFamily family, std::string_view name);
// Non-parameter buffers some exports carry (`*.rotary_emb.inv_freq`, `*position_ids`): skipped.
bool is_ignored_buffer(std::string_view name);

// "[2048, 2304]".
std::string format_shape(std::span<const std::int64_t> shape);

enum class TensorNaming {
  Canonical,  // current names (always for Idefics3)
  Legacy,     // PaliGemma hub checkpoints
  Mixed,      // both spellings in one checkpoint
};
std::string_view tensor_naming_name(TensorNaming naming) noexcept;

struct WrongShapeTensor {
  std::string name;  // as spelled in the checkpoint
  std::vector<std::int64_t> expected;
  std::vector<std::int64_t> found;
  // "tensor 'x' has shape [576], config says [512]".
  std::string message() const;
};

struct DTypeCount {
  DType dtype = DType::F32;
  std::size_t tensors = 0;
  std::int64_t parameters = 0;
};

struct InventoryReport {
  std::size_t expected_count = 0;    // required + optional tensors the config implies
  std::size_t checkpoint_count = 0;  // tensors in the checkpoint, ignored buffers included
  std::size_t matched_count = 0;     // present with the expected shape
  // Missing tensors, spelled the way the checkpoint spells names (legacy names for a legacy
  // PaliGemma checkpoint), in expected order.
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;  // checkpoint names the config does not explain (sorted)
  std::vector<WrongShapeTensor> wrong_shape;
  std::vector<std::string> ignored;  // buffers skipped (sorted)
  std::vector<DTypeCount> dtypes;    // most tensors first; ignored buffers not counted
  TensorNaming naming = TensorNaming::Canonical;
  bool lm_head_tied = false;  // lm_head absent and tie_word_embeddings: embed_tokens serves

  bool ok() const noexcept { return missing.empty() && unexpected.empty() && wrong_shape.empty(); }
  bool mixed_dtypes() const noexcept { return dtypes.size() > 1; }
};

// A tensor both present under its legacy and its canonical name is reported as unexpected.
InventoryReport check_inventory(const ModelConfig& config, std::span<const TensorInfo> tensors);
InventoryReport check_inventory(const ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace vlmrt
