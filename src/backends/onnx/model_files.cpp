#include "backends/onnx/model_files.hpp"

#include <system_error>

#include "vlmrt/errors.hpp"

namespace vlmrt::onnx {

namespace {

bool is_file(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += ", ";
    text += item;
  }
  return text;
}

std::filesystem::path variant_path(const std::filesystem::path& onnx_dir, Graph graph,
                                   const GraphVariant& variant) {
  return onnx_dir / (std::string(graph_base_name(graph)) + std::string(variant.suffix) + ".onnx");
}

Graph graph_for_key(std::string_view key) {
  for (Graph graph : kGraphs)
    if (key == graph_key(graph) || key == graph_base_name(graph)) return graph;
  throw Error(ErrorKind::InvalidArgument,
              "ONNX dtype choice for '" + std::string(key) +
                  "': unknown graph (expected vision, embed or decoder, or vision_encoder, "
                  "embed_tokens, decoder_model_merged)");
}

}  // namespace

std::string_view graph_key(Graph graph) noexcept {
  switch (graph) {
    case Graph::Vision:
      return "vision";
    case Graph::Embed:
      return "embed";
    case Graph::Decoder:
      return "decoder";
  }
  return "?";
}

std::string_view graph_base_name(Graph graph) noexcept {
  switch (graph) {
    case Graph::Vision:
      return "vision_encoder";
    case Graph::Embed:
      return "embed_tokens";
    case Graph::Decoder:
      return "decoder_model_merged";
  }
  return "?";
}

const GraphVariant& find_variant(std::string_view name) {
  if (name == "quantized") name = "q8";
  for (const GraphVariant& variant : kGraphVariants)
    if (variant.name == name) return variant;
  std::vector<std::string> names;
  for (const GraphVariant& variant : kGraphVariants) names.emplace_back(variant.name);
  throw Error(ErrorKind::InvalidArgument, "unknown ONNX variant '" + std::string(name) +
                                              "': expected one of " + join(names) +
                                              " (quantized = q8)");
}

std::vector<std::string> variants_present(const std::filesystem::path& onnx_dir, Graph graph) {
  std::vector<std::string> found;
  for (const GraphVariant& variant : kGraphVariants)
    if (is_file(variant_path(onnx_dir, graph, variant))) found.emplace_back(variant.name);
  return found;
}

OnnxModelFiles locate_onnx_files(const std::filesystem::path& model_dir,
                                 const std::map<std::string, std::string>& dtypes) {
  std::map<Graph, const GraphVariant*> chosen;
  for (Graph graph : kGraphs) chosen[graph] = &kGraphVariants[0];
  std::map<Graph, std::string> chosen_by;
  for (const auto& [key, name] : dtypes) {
    const Graph graph = graph_for_key(key);
    if (chosen_by.count(graph))
      throw Error(ErrorKind::InvalidArgument,
                  "ONNX dtype for the " + std::string(graph_key(graph)) + " graph given twice ('" +
                      chosen_by[graph] + "' and '" + key + "')");
    chosen_by[graph] = key;
    chosen[graph] = &find_variant(name);
  }

  OnnxModelFiles files;
  files.onnx_dir = model_dir / "onnx";
  std::error_code ec;
  if (!std::filesystem::is_directory(files.onnx_dir, ec))
    throw Error(ErrorKind::NotFound,
                files.onnx_dir.string() +
                    ": no such folder (an ONNX model folder keeps vision_encoder*.onnx, "
                    "embed_tokens*.onnx and decoder_model_merged*.onnx in onnx/; "
                    "scripts/export_onnx.py writes one)");
  for (Graph graph : kGraphs) {
    const GraphVariant& variant = *chosen[graph];
    GraphFile file{variant_path(files.onnx_dir, graph, variant), std::string(variant.name)};
    if (!is_file(file.path)) {
      const std::vector<std::string> found = variants_present(files.onnx_dir, graph);
      throw Error(ErrorKind::NotFound,
                  file.path.string() + ": no such file (the " + std::string(variant.name) +
                      " variant of " + std::string(graph_base_name(graph)) +
                      "); variants found: " + (found.empty() ? std::string("none") : join(found)));
    }
    files.graphs.emplace(graph, std::move(file));
  }
  return files;
}

}  // namespace vlmrt::onnx
