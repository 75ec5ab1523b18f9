// Where the graphs of a published ONNX model folder live (ONNX-LAYOUT.md "Files"): onnx/ holds
// vision_encoder, embed_tokens and decoder_model_merged, each in dtype variants told apart by a
// file-name suffix. A user picks a variant per graph (e.g. vision fp32, decoder q4). No ONNX
// Runtime here: this is only file naming.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vlmrt::onnx {

enum class Graph { Vision, Embed, Decoder };
inline constexpr std::array<Graph, 3> kGraphs = {Graph::Vision, Graph::Embed, Graph::Decoder};

// "vision", "embed", "decoder": the keys of OnnxBackendOptions::dtypes.
std::string_view graph_key(Graph graph) noexcept;
// "vision_encoder", "embed_tokens", "decoder_model_merged".
std::string_view graph_base_name(Graph graph) noexcept;

// The published variants (transformers.js dtype names) and their file suffixes.
struct GraphVariant {
  std::string_view name;    // "fp32", "fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"
  std::string_view suffix;  // "", "_fp16", "_quantized", "_int8", ...
};
inline constexpr std::array<GraphVariant, 8> kGraphVariants = {{
    {"fp32", ""},
    {"fp16", "_fp16"},
    {"q8", "_quantized"},
    {"int8", "_int8"},
    {"uint8", "_uint8"},
    {"q4", "_q4"},
    {"q4f16", "_q4f16"},
    {"bnb4", "_bnb4"},
}};

// The variant a name means ("quantized" is an alias of q8). InvalidArgument listing the names
// for anything else.
const GraphVariant& find_variant(std::string_view name);

// The variants of `graph` that have a file in `onnx_dir`, in kGraphVariants order.
std::vector<std::string> variants_present(const std::filesystem::path& onnx_dir, Graph graph);

struct GraphFile {
  std::filesystem::path path;
  std::string variant;  // the canonical variant name ("q8" for "quantized")
};

struct OnnxModelFiles {
  std::filesystem::path onnx_dir;
  std::map<Graph, GraphFile> graphs;
  const GraphFile& at(Graph graph) const { return graphs.at(graph); }
};

// Resolves every graph's file in `model_dir`/onnx for the chosen variants (fp32 for a graph not
// named). Errors: NotFound when onnx/ is missing or a chosen file is absent (naming the file and
// the variants found for that graph); InvalidArgument for an unknown key or variant name.
OnnxModelFiles locate_onnx_files(const std::filesystem::path& model_dir,
                                 const std::map<std::string, std::string>& dtypes);

}  // namespace vlmrt::onnx
