// `vlmrt info DIR`: what a Hugging Face model folder holds and whether its weights match its
// config — family, files, sizes, parameter count and the tensor inventory (MODELS.md §1, §2).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "core/json.hpp"
#include "core/safetensors.hpp"
#include "models/model_folder.hpp"
#include "models/tensor_inventory.hpp"
#include "vlmrt/errors.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = vlmrt::json;
using json::Json;

// Exit codes (documented in --help).
constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitInventoryProblems = 3;

constexpr const char* kFooter = R"(exit codes:
  0  the folder is consistent (or holds no weights: only the configs are checked)
  1  an error: no config.json, a malformed or inconsistent config, unreadable weights
     (the message goes to stderr; with --json nothing is printed on stdout)
  2  bad command-line usage
  3  the weights do not match the config: missing, unexpected or wrong-shape tensors
     (tensors in several dtypes, or in another dtype than config.json's, are reported but
     are not a problem: some checkpoints keep norms in float32)

--json prints one object with the keys:
  folder, family, model_type,
  files {present [..], missing [..]},
  dtype {name, field},
  vision {model_type, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
          head_dim, image_size, patch_size, patches_per_side, num_channels, layer_norm_eps,
          hidden_act},
  text {model_type, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
        num_key_value_heads, head_dim, vocab_size, max_position_embeddings, rms_norm_eps,
        rope_theta, hidden_act, tie_word_embeddings,
        gemma2 only: query_pre_attn_scalar, attn_logit_softcapping, final_logit_softcapping,
        sliding_window (null = off)},
  connector {kind ("linear" | "pixel_shuffle_linear"), scale_factor, weight_shape [out, in], bias},
  image_tokens {image_token_id, per_image (PaliGemma) | per_tile (Idefics3)},
  special_ids {bos, eos [..], pad}, stop_ids {ids [..], source},
  chat_template (source file name or null),
  preprocessor {longest_edge, max_image_size, height, width, resample} (null when the file is absent),
  weights {found, files [..], parameter_count (null without weights)},
  inventory (null without weights) {ok, naming, expected, checkpoint_tensors, matched,
             missing_count, missing [..], unexpected_count, unexpected [..],
             wrong_shape_count, wrong_shape [{name, expected, found}], ignored [..],
             lm_head_tied, dtypes [{dtype, tensors, parameters}], mixed_dtypes,
             dtype_matches_config (the most common dtype is config.json's)},
  notes [..], exit_code.
Name lists are cut to --max-names entries; the *_count keys give the full counts.

examples:
  vlmrt info ~/models/SmolVLM-256M-Instruct
  vlmrt info ~/models/paligemma2-3b-pt-224 --json | jq .inventory
  vlmrt info ./my-finetune --max-names 0     # list every problem tensor)";

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string join(const std::vector<std::string>& items, std::size_t limit = 0) {
  std::string text;
  const std::size_t shown = limit == 0 ? items.size() : std::min(limit, items.size());
  for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + items[i];
  if (shown < items.size()) text += ", ... (" + std::to_string(items.size() - shown) + " more)";
  return text;
}

std::string join_ids(const std::vector<std::int64_t>& ids) {
  std::vector<std::string> texts;
  for (const auto id : ids) texts.push_back(std::to_string(id));
  return texts.empty() ? "none" : join(texts);
}

template <typename T>
Json cut(const std::vector<T>& items, std::size_t limit) {
  Json array = Json::array();
  for (std::size_t i = 0; i < items.size() && (limit == 0 || i < limit); ++i)
    array.push_back(items[i]);
  return array;
}

Json optional_json(const std::optional<double>& value) {
  return value ? Json(*value) : Json(nullptr);
}

// Only the few facts `info` prints; preprocessor_config.json is otherwise the image processor's
// to parse (src/models/processor_config.*).
struct PreprocessorFacts {
  std::optional<std::int64_t> longest_edge, max_image_size, height, width, resample;
};

std::optional<PreprocessorFacts> read_preprocessor(const fs::path& dir) {
  const auto path = dir / "preprocessor_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const auto where = path.string();
  const Json config = json::read_file(path);
  if (!config.is_object())
    throw vlmrt::Error(vlmrt::ErrorKind::Format, where + " must be a JSON object");
  PreprocessorFacts facts;
  if (const auto it = config.find("size"); it != config.end() && it->is_object()) {
    const auto size_where = json::child_where(where, "size");
    facts.longest_edge = json::get_optional<std::int64_t>(*it, "longest_edge", size_where);
    facts.height = json::get_optional<std::int64_t>(*it, "height", size_where);
    facts.width = json::get_optional<std::int64_t>(*it, "width", size_where);
  }
  if (const auto it = config.find("max_image_size"); it != config.end() && it->is_object())
    facts.max_image_size = json::get_optional<std::int64_t>(
        *it, "longest_edge", json::child_where(where, "max_image_size"));
  facts.resample = json::get_optional<std::int64_t>(config, "resample", where);
  return facts;
}

struct Options {
  std::string dir;
  bool json = false;
  std::size_t max_names = 10;
};

int run_info(const Options& options) {
  const auto folder = vlmrt::ModelFolder::inspect(options.dir);
  const auto& c = folder.config;
  const auto& v = c.vision;
  const auto& t = c.text;
  const bool paligemma = vlmrt::is_paligemma(c.family);
  const auto preprocessor = read_preprocessor(folder.dir);

  std::optional<vlmrt::Checkpoint> checkpoint;
  std::optional<vlmrt::InventoryReport> report;
  if (folder.has_weights()) {
    checkpoint = vlmrt::Checkpoint::open(folder.dir);
    report = vlmrt::check_inventory(c, *checkpoint);
  }
  const int exit_code = report && !report->ok() ? kExitInventoryProblems : kExitOk;
  const std::vector<std::int64_t> connector_shape = {
      c.projection_dim, paligemma ? v.hidden_size : c.connector_input_dim()};
  // Idefics3 tiles: the long side always gives longest_edge / max_image_size tiles, the short
  // side 1 to that many, plus the global image (MODELS.md errata 7).
  std::optional<std::pair<std::int64_t, std::int64_t>> tiles;
  if (!paligemma && preprocessor && preprocessor->longest_edge && preprocessor->max_image_size &&
      *preprocessor->max_image_size > 0 &&
      *preprocessor->longest_edge % *preprocessor->max_image_size == 0) {
    const auto n = *preprocessor->longest_edge / *preprocessor->max_image_size;
    if (n > 0 && n <= 64) tiles = std::pair{n + 1, n * n + 1};
  }

  if (options.json) {
    Json out;
    out["folder"] = folder.dir.string();
    out["family"] = std::string(vlmrt::family_name(c.family));
    out["model_type"] = c.model_type;
    out["files"] = {{"present", folder.present_files}, {"missing", folder.missing_files}};
    out["dtype"] = {{"name", c.dtype_name},
                    {"field", c.dtype_field.empty() ? Json(nullptr) : Json(c.dtype_field)}};
    out["vision"] = {{"model_type", v.model_type},
                     {"hidden_size", v.hidden_size},
                     {"intermediate_size", v.intermediate_size},
                     {"num_hidden_layers", v.num_hidden_layers},
                     {"num_attention_heads", v.num_attention_heads},
                     {"head_dim", v.head_dim()},
                     {"image_size", v.image_size},
                     {"patch_size", v.patch_size},
                     {"patches_per_side", v.patches_per_side()},
                     {"num_channels", v.num_channels},
                     {"layer_norm_eps", v.layer_norm_eps},
                     {"hidden_act", v.hidden_act}};
    Json text = {{"model_type", t.model_type},
                 {"hidden_size", t.hidden_size},
                 {"intermediate_size", t.intermediate_size},
                 {"num_hidden_layers", t.num_hidden_layers},
                 {"num_attention_heads", t.num_attention_heads},
                 {"num_key_value_heads", t.num_key_value_heads},
                 {"head_dim", t.head_dim},
                 {"vocab_size", t.vocab_size},
                 {"max_position_embeddings", t.max_position_embeddings},
                 {"rms_norm_eps", t.rms_norm_eps},
                 {"rope_theta", t.rope_theta},
                 {"hidden_act", t.hidden_act},
                 {"tie_word_embeddings", c.tie_word_embeddings}};
    if (t.architecture == vlmrt::TextArchitecture::Gemma2) {
      text["query_pre_attn_scalar"] = optional_json(t.query_pre_attn_scalar);
      text["attn_logit_softcapping"] = optional_json(t.attn_logit_softcapping);
      text["final_logit_softcapping"] = optional_json(t.final_logit_softcapping);
      text["sliding_window"] = t.sliding_window ? Json(*t.sliding_window) : Json(nullptr);
    }
    out["text"] = text;
    out["connector"] = {{"kind", paligemma ? "linear" : "pixel_shuffle_linear"},
                        {"scale_factor", c.scale_factor},
                        {"weight_shape", connector_shape},
                        {"bias", paligemma}};
    out["image_tokens"] = {{"image_token_id", c.image_token_id},
                           {paligemma ? "per_image" : "per_tile", c.image_seq_len}};
    out["special_ids"] = {{"bos", c.bos_token_id ? Json(*c.bos_token_id) : Json(nullptr)},
                          {"eos", c.eos_token_ids},
                          {"pad", c.pad_token_id ? Json(*c.pad_token_id) : Json(nullptr)}};
    out["stop_ids"] = {{"ids", folder.stop_token_ids()},
                       {"source", std::string(folder.stop_token_source())}};
    out["chat_template"] =
        folder.tokenizer.chat_template_source == vlmrt::ChatTemplateSource::None
            ? Json(nullptr)
            : Json(std::string(chat_template_source_name(folder.tokenizer.chat_template_source)));
    if (preprocessor) {
      auto field = [](const std::optional<std::int64_t>& value) {
        return value ? Json(*value) : Json(nullptr);
      };
      out["preprocessor"] = {{"longest_edge", field(preprocessor->longest_edge)},
                             {"max_image_size", field(preprocessor->max_image_size)},
                             {"height", field(preprocessor->height)},
                             {"width", field(preprocessor->width)},
                             {"resample", field(preprocessor->resample)}};
    } else {
      out["preprocessor"] = nullptr;
    }
    out["weights"] = {
        {"found", folder.has_weights()},
        {"files", folder.weight_files},
        {"parameter_count", checkpoint ? Json(checkpoint->parameter_count()) : Json(nullptr)}};
    if (report) {
      Json wrong = Json::array();
      for (std::size_t i = 0;
           i < report->wrong_shape.size() && (options.max_names == 0 || i < options.max_names); ++i)
        wrong.push_back({{"name", report->wrong_shape[i].name},
                         {"expected", report->wrong_shape[i].expected},
                         {"found", report->wrong_shape[i].found}});
      Json dtypes = Json::array();
      for (const auto& d : report->dtypes)
        dtypes.push_back({{"dtype", std::string(vlmrt::dtype_name(d.dtype))},
                          {"tensors", d.tensors},
                          {"parameters", d.parameters}});
      out["inventory"] = {{"ok", report->ok()},
                          {"naming", std::string(vlmrt::tensor_naming_name(report->naming))},
                          {"expected", report->expected_count},
                          {"checkpoint_tensors", report->checkpoint_count},
                          {"matched", report->matched_count},
                          {"missing_count", report->missing.size()},
                          {"missing", cut(report->missing, options.max_names)},
                          {"unexpected_count", report->unexpected.size()},
                          {"unexpected", cut(report->unexpected, options.max_names)},
                          {"wrong_shape_count", report->wrong_shape.size()},
                          {"wrong_shape", wrong},
                          {"ignored", report->ignored},
                          {"lm_head_tied", report->lm_head_tied},
                          {"dtypes", dtypes},
                          {"mixed_dtypes", report->mixed_dtypes()},
                          {"dtype_matches_config",
                           report->dtypes.empty() || report->dtypes.front().dtype == c.dtype}};
    } else {
      out["inventory"] = nullptr;
    }
    out["notes"] = c.notes;
    out["exit_code"] = exit_code;
    std::printf("%s\n", out.dump(2).c_str());
    return exit_code;
  }

  auto line = [](const char* label, const std::string& text) {
    std::printf("%-15s%s\n", label, text.c_str());
  };
  line("folder", folder.dir.string());
  line("family", std::string(vlmrt::family_name(c.family)) + "  (model_type " + c.model_type +
                     ", vision " + (v.model_type.empty() ? "unspecified" : v.model_type) +
                     ", text " + t.model_type + ")");
  line("files present", join(folder.present_files));
  line("files missing", folder.missing_files.empty() ? "none" : join(folder.missing_files));
  line("dtype", c.dtype_name + (c.dtype_field.empty() ? " (default: not in config.json)"
                                                      : " (" + c.dtype_field + ")"));
  line("vision",
       "hidden " + std::to_string(v.hidden_size) + ", intermediate " +
           std::to_string(v.intermediate_size) + ", layers " + std::to_string(v.num_hidden_layers) +
           ", heads " + std::to_string(v.num_attention_heads) + " (head_dim " +
           std::to_string(v.head_dim()) + "), image " + std::to_string(v.image_size) + ", patch " +
           std::to_string(v.patch_size) + " (" + std::to_string(v.patches_per_side()) + "x" +
           std::to_string(v.patches_per_side()) + " patches), eps " + number(v.layer_norm_eps) +
           ", " + v.hidden_act);
  line("text",
       t.model_type + ": hidden " + std::to_string(t.hidden_size) + ", intermediate " +
           std::to_string(t.intermediate_size) + ", layers " + std::to_string(t.num_hidden_layers) +
           ", heads " + std::to_string(t.num_attention_heads) + ", kv heads " +
           std::to_string(t.num_key_value_heads) + ", head_dim " + std::to_string(t.head_dim) +
           ", vocab " + std::to_string(t.vocab_size) + ", rope theta " + number(t.rope_theta) +
           ", max positions " + std::to_string(t.max_position_embeddings) + ", rms eps " +
           number(t.rms_norm_eps) + ", " + t.hidden_act +
           (c.tie_word_embeddings ? ", tied lm_head" : ", untied lm_head"));
  if (t.architecture == vlmrt::TextArchitecture::Gemma2) {
    auto opt = [](const std::optional<double>& x) { return x ? number(*x) : std::string("off"); };
    line("gemma2", "query_pre_attn_scalar " + opt(t.query_pre_attn_scalar) + ", attn softcap " +
                       opt(t.attn_logit_softcapping) + ", final softcap " +
                       opt(t.final_logit_softcapping) + ", sliding window " +
                       (t.sliding_window ? std::to_string(*t.sliding_window) : "off"));
  }
  line("connector", paligemma
                        ? "linear " + vlmrt::format_shape(connector_shape) + " with bias"
                        : "pixel shuffle x" + std::to_string(c.scale_factor) + ", then linear " +
                              vlmrt::format_shape(connector_shape) + " without bias");
  std::string image_tokens = std::to_string(c.image_seq_len) +
                             (paligemma ? " per image" : " per tile") + " (<image> id " +
                             std::to_string(c.image_token_id) + ")";
  if (tiles)
    image_tokens += "; " + std::to_string(tiles->first) + " to " + std::to_string(tiles->second) +
                    " tiles per image with splitting (" +
                    std::to_string(tiles->first * c.image_seq_len) + " to " +
                    std::to_string(tiles->second * c.image_seq_len) + " tokens)";
  line("image tokens", image_tokens);
  line("special ids", "bos " + (c.bos_token_id ? std::to_string(*c.bos_token_id) : "none") +
                          ", eos " + join_ids(c.eos_token_ids) + ", pad " +
                          (c.pad_token_id ? std::to_string(*c.pad_token_id) : "none") +
                          " (config.json)");
  line("stop ids",
       join_ids(folder.stop_token_ids()) + " (" + std::string(folder.stop_token_source()) + ")");
  line("chat template",
       std::string(chat_template_source_name(folder.tokenizer.chat_template_source)));
  if (preprocessor) {
    std::vector<std::string> facts;
    if (preprocessor->longest_edge)
      facts.push_back("size.longest_edge " + std::to_string(*preprocessor->longest_edge));
    if (preprocessor->height && preprocessor->width)
      facts.push_back("size " + std::to_string(*preprocessor->height) + "x" +
                      std::to_string(*preprocessor->width));
    if (preprocessor->max_image_size)
      facts.push_back("max_image_size " + std::to_string(*preprocessor->max_image_size));
    if (preprocessor->resample)
      facts.push_back("resample " + std::to_string(*preprocessor->resample));
    line("preprocessor", facts.empty() ? "no size facts" : join(facts));
  }
  if (!checkpoint) {
    line("parameters", "no weights found (only the configs were checked)");
  } else {
    line("parameters", std::to_string(checkpoint->parameter_count()) + " (" +
                           number(static_cast<double>(checkpoint->parameter_count()) / 1e6) +
                           " M) in " + std::to_string(folder.weight_files.size()) +
                           " weight file(s)");
  }
  if (report) {
    const auto& r = *report;
    const std::string naming =
        paligemma ? ", " + std::string(vlmrt::tensor_naming_name(r.naming)) + " names" : "";
    const std::string tied = r.lm_head_tied ? ", lm_head tied to embed_tokens" : "";
    if (r.ok()) {
      line("inventory",
           "OK: " + std::to_string(r.matched_count) + " tensors match the config" + naming + tied);
    } else {
      line("inventory", "PROBLEMS: " + std::to_string(r.missing.size()) + " missing, " +
                            std::to_string(r.unexpected.size()) + " unexpected, " +
                            std::to_string(r.wrong_shape.size()) + " wrong shape (" +
                            std::to_string(r.matched_count) + " match" + naming + tied + ")");
      if (!r.missing.empty()) line("  missing", join(r.missing, options.max_names));
      if (!r.unexpected.empty()) line("  unexpected", join(r.unexpected, options.max_names));
      for (std::size_t i = 0;
           i < r.wrong_shape.size() && (options.max_names == 0 || i < options.max_names); ++i)
        line("  wrong shape", r.wrong_shape[i].message());
      if (options.max_names != 0 && r.wrong_shape.size() > options.max_names)
        line("  wrong shape",
             "... (" + std::to_string(r.wrong_shape.size() - options.max_names) + " more)");
    }
    if (!r.ignored.empty()) line("ignored", join(r.ignored, options.max_names));
    std::vector<std::string> dtypes;
    for (const auto& d : r.dtypes)
      dtypes.push_back(std::string(vlmrt::dtype_name(d.dtype)) + " " + std::to_string(d.tensors) +
                       " tensors (" + std::to_string(d.parameters) + " parameters)");
    std::string dtype_text = dtypes.empty() ? "none" : join(dtypes);
    if (!r.dtypes.empty() && r.dtypes.front().dtype != c.dtype)
      dtype_text += "; config.json says " + c.dtype_name;
    line(r.mixed_dtypes() ? "dtypes (mixed)" : "dtypes", dtype_text);
  }
  for (const auto& note : c.notes) line("note", note);
  return exit_code;
}

int run(int argc, char** argv) {
  CLI::App app{
      "Describe a Hugging Face model folder (PaliGemma, PaliGemma2, SmolVLM, SmolVLM2): family, "
      "files, "
      "sizes, parameter count, and whether the safetensors weights match config.json.",
      "vlmrt info"};
  app.footer(kFooter);
  Options options;
  app.add_option(
         "DIR", options.dir,
         "the model folder: config.json is required; generation_config.json, tokenizer files, "
         "preprocessor_config.json and *.safetensors (one file or a sharded set with "
         "model.safetensors.index.json) are read when present. Example: vlmrt info "
         "./SmolVLM-256M-Instruct")
      ->required();
  app.add_flag(
      "--json", options.json,
      "print one JSON object (keys below) instead of text. Example: vlmrt info ./model --json");
  app.add_option("--max-names", options.max_names,
                 "list at most this many tensor names per problem kind (0 = all; default 10). "
                 "Example: vlmrt info ./model --max-names 0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return run_info(options);
}

const vlmrt::cli::RegisterCommand kRegister{
    {"info", "describe a model folder and check its weights against its config", run}};

}  // namespace
