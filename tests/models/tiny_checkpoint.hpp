// Test helper: model folders with a config fixture and a zero-filled checkpoint written by
// SafetensorsWriter, with the one defect a test wants (a tensor dropped, added or reshaped).
#pragma once

#include <filesystem>
#include <string>

#include "core/dtype.hpp"
#include "models/model_config.hpp"

namespace vlmrt::testing {

struct TinyCheckpointOptions {
  bool legacy_names = false;  // PaliGemma hub prefixes instead of the current ones
  bool write_tied_lm_head = false;
  std::string drop = "";     // canonical name of a tensor to leave out
  std::string extra = "";    // a tensor name to add ([4] f32)
  std::string reshape = "";  // canonical name written with one more row in dim 0
  std::string buffer = "";   // an ignored buffer to add (e.g. "...rotary_emb.inv_freq")
  int shards = 1;            // > 1: model-0000i-of-0000n.safetensors + index
  DType dtype = DType::F32;
};

// Copies the fixture's files into a fresh scratch folder and writes the checkpoint there.
std::filesystem::path make_model_folder(const std::string& fixture, const std::string& scratch_name,
                                        const TinyCheckpointOptions& options = {});
// Copies the fixture's files only (no weights).
std::filesystem::path copy_fixture(const std::string& fixture, const std::string& scratch_name);

}  // namespace vlmrt::testing
