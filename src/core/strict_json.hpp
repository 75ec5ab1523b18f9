// JSON parsing for untrusted file headers (safetensors, their index files): stricter than
// json::parse because nlohmann silently keeps one of two equal keys, and a checkpoint whose
// header names a tensor twice is ambiguous, not valid.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/json.hpp"

namespace vlmrt::json {

// Parses `text` as one JSON value. Throws Format naming `source` and `what` (e.g. "header") when
// the text is not UTF-8, not JSON, nests deeper than `max_depth`, or repeats a key within one
// object (the message gives the key's path, e.g. 'weight_map.lm_head.weight').
Json parse_strict(std::string_view text, const std::string& source, std::string_view what,
                  std::size_t max_depth = 32);

}  // namespace vlmrt::json
