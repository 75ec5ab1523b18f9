// The bundled models (models/tiny-smolvlm, models/tiny-paligemma) really do their task: accuracy
// on held-out synthetic scenes (scripts/shapes_task.py, generated here from seed 1000000 on,
// never seen in training) and token-for-token equality with the PyTorch reference's greedy
// outputs (tests/fixtures/bundled/*-reference.json, written by scripts/train_tiny_model.py), on
// the native backend and on ONNX Runtime (exports made here with scripts/export_onnx.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "core/json.hpp"
#include "test_support.hpp"
#include "vlmrt/detection.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;
using json::Json;

constexpr int kHeldOutSeed = 1'000'000;
constexpr int kHeldOutCount = 100;
constexpr int kReferenceSeed = 2'000'000;
constexpr int kReferenceCount = 20;
// The bar: >= 95 % exact captions / answers, IoU >= 0.7 for >= 90 % of objects.
constexpr double kExactRate = 0.95;
constexpr double kBoxRate = 0.90;
constexpr double kMinIou = 0.7;

fs::path bundled(const std::string& name) {
  return testing::source_dir() / "models" / name;
}

fs::path shapes_script() {
  return testing::source_dir() / "scripts" / "shapes_task.py";
}

std::vector<Json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  std::vector<Json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line, path.string()));
  return out;
}

fs::path held_out_scenes() {
  return testing::generated_data(
      "shapes_held_out", shapes_script(),
      "--count " + std::to_string(kHeldOutCount) + " --seed " + std::to_string(kHeldOutSeed));
}

fs::path reference_scenes() {
  return testing::generated_data(
      "shapes_reference", shapes_script(),
      "--count " + std::to_string(kReferenceCount) + " --seed " + std::to_string(kReferenceSeed));
}

std::string trimmed(std::string text) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), space));
  text.erase(std::find_if_not(text.rbegin(), text.rend(), space).base(), text.end());
  return text;
}

std::string answer(VlmModel& model, const ImageRgb8& image, const std::string& prompt) {
  GenerationOptions options = model.default_options();
  options.max_new_tokens = 48;
  const ImageRgb8 images[] = {image};
  return trimmed(model.generate(images, prompt, options).text);
}

double iou(const Box& a, const std::vector<double>& b) {
  const double ix =
      std::max(0.0, std::min<double>(a.x_max, b[2]) - std::max<double>(a.x_min, b[0]));
  const double iy =
      std::max(0.0, std::min<double>(a.y_max, b[3]) - std::max<double>(a.y_min, b[1]));
  const double inter = ix * iy;
  const double uni =
      (a.x_max - a.x_min) * (a.y_max - a.y_min) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

struct Rate {
  int hits = 0;
  int total = 0;
  void add(bool hit) { hits += hit ? 1 : 0, ++total; }
  double value() const { return total ? static_cast<double>(hits) / total : 0.0; }
};

// SmolVLM: every scene is captioned (the three phrasings in turn) and asked one question (the
// scene's questions in turn), answers compared exactly.
void expect_smolvlm_accuracy(VlmModel& model) {
  static const char* kCaptionPrompts[] = {"Describe the image.", "What do you see?",
                                          "Caption this picture."};
  const fs::path dir = held_out_scenes();
  Rate captions, answers;
  for (const Json& scene : read_jsonl(dir / "tasks.jsonl")) {
    const int seed = scene.at("seed").get<int>();
    const ImageRgb8 image = load_image(dir / scene.at("image").get<std::string>());
    const std::string caption = scene.at("caption").get<std::string>();
    const std::string got = answer(model, image, kCaptionPrompts[seed % 3]);
    captions.add(got == caption);
    if (got != caption)
      std::printf("  seed %d: caption '%s', expected '%s'\n", seed, got.c_str(), caption.c_str());
    const Json& questions = scene.at("questions");
    const Json& asked = questions.at(static_cast<std::size_t>(seed) % questions.size());
    const std::string reply = answer(model, image, asked.at("question").get<std::string>());
    answers.add(reply == asked.at("answer").get<std::string>());
  }
  std::printf("tiny-smolvlm on %s: captions %d/%d exact, answers %d/%d exact\n",
              model.backend_name().c_str(), captions.hits, captions.total, answers.hits,
              answers.total);
  EXPECT_GE(captions.value(), kExactRate);
  EXPECT_GE(answers.value(), kExactRate);
}

// PaliGemma: "caption en" on every scene, and "detect <kind>" for each kind present; a true
// object counts when a predicted box of that answer overlaps it with IoU >= 0.7.
void expect_paligemma_accuracy(VlmModel& model) {
  const fs::path dir = held_out_scenes();
  Rate captions, boxes;
  for (const Json& scene : read_jsonl(dir / "tasks.jsonl")) {
    const ImageRgb8 image = load_image(dir / scene.at("image").get<std::string>());
    captions.add(answer(model, image, "caption en") == scene.at("caption").get<std::string>());
    std::map<std::string, std::vector<std::vector<double>>> truth;
    for (const Json& object : scene.at("objects"))
      truth[object.at("kind").get<std::string>()].push_back(
          object.at("box").get<std::vector<double>>());
    for (const auto& [kind, objects] : truth) {
      const std::string text = answer(model, image, "detect " + kind);
      std::vector<Detection> found;
      try {
        found = parse_detections(text, image.width(), image.height());
      } catch (const Error&) {
        // A malformed answer finds nothing.
      }
      for (const auto& object : objects)
        boxes.add(std::any_of(found.begin(), found.end(), [&](const Detection& d) {
          return d.label == kind && iou(d.box, object) >= kMinIou;
        }));
    }
  }
  std::printf("tiny-paligemma on %s: captions %d/%d exact, boxes %d/%d with IoU >= 0.7\n",
              model.backend_name().c_str(), captions.hits, captions.total, boxes.hits, boxes.total);
  EXPECT_GE(captions.value(), kExactRate);
  EXPECT_GE(boxes.value(), kBoxRate);
}

// The engine's greedy tokens equal the reference's on the 20 reference scenes.
void expect_reference_tokens(VlmModel& model, const std::string& name) {
  const fs::path file =
      testing::source_dir() / "tests" / "fixtures" / "bundled" / (name + "-reference.json");
  const Json reference = json::read_file(file);
  const fs::path dir = reference_scenes();
  const auto& cases = reference.at("cases");
  ASSERT_EQ(cases.size(), static_cast<std::size_t>(kReferenceCount));
  for (const Json& c : cases) {
    const int seed = c.at("seed").get<int>();
    SCOPED_TRACE(name + " seed " + std::to_string(seed) + ": " + c.at("prompt").get<std::string>());
    const ImageRgb8 image = load_image(dir / ("shapes_" + std::to_string(seed) + ".png"));
    GenerationOptions options = model.default_options();
    options.max_new_tokens = reference.at("max_new_tokens").get<std::size_t>();
    const ImageRgb8 images[] = {image};
    GenerationOutput out = model.generate(images, c.at("prompt").get<std::string>(), options);
    if (out.finish_reason == FinishReason::Eos) out.tokens.pop_back();
    EXPECT_EQ(out.tokens, c.at("tokens").get<std::vector<std::int32_t>>());
  }
}

// One backend the bundled models are checked on, and how to open a model there.
struct Engine {
  std::string label;
  BackendType backend;
  bool onnx;  // open the ONNX export made at test time instead of models/<name>
};

// A bundled model and the accuracy check of its task.
struct Bundled {
  std::string name;
  void (*expect_accuracy)(VlmModel&);
};

using Case = std::tuple<Engine, Bundled>;

void PrintTo(const Engine& engine, std::ostream* out) {
  *out << engine.label;
}
void PrintTo(const Bundled& model, std::ostream* out) {
  *out << model.name;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = std::get<0>(info.param).label + "_" + std::get<1>(info.param).name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// A bundled model exported with scripts/export_onnx.py; made again when its weights change.
fs::path onnx_export(const std::string& name) {
  return testing::generated_data(
      "bundled_onnx_" + name,
      testing::source_dir() / "tests" / "bundled" / "make_bundled_exports.py",
      "--model " + name + " --weights-digest " +
          testing::file_digest(bundled(name) / "model.safetensors"));
}

class BundledModels : public ::testing::TestWithParam<Case> {
 protected:
  const Bundled& model_under_test() const { return std::get<1>(GetParam()); }

  VlmModel open() const {
    const Engine& engine = std::get<0>(GetParam());
    const std::string& name = model_under_test().name;
    ModelOptions options;
    options.threads = 2;
    return VlmModel::open(engine.onnx ? onnx_export(name) : bundled(name), engine.backend, options);
  }
};

TEST_P(BundledModels, ReachTheTaskAccuracyOnHeldOutScenes) {
  VlmModel model = open();
  model_under_test().expect_accuracy(model);
}

TEST_P(BundledModels, GiveTheReferenceTokens) {
  VlmModel model = open();
  expect_reference_tokens(model, model_under_test().name);
}

const Bundled kBundled[] = {{"tiny-smolvlm", expect_smolvlm_accuracy},
                            {"tiny-paligemma", expect_paligemma_accuracy}};

INSTANTIATE_TEST_SUITE_P(Native, BundledModels,
                         ::testing::Combine(::testing::Values(Engine{"native", backend::Native{},
                                                                     false}),
                                            ::testing::ValuesIn(kBundled)),
                         case_name);
#ifdef VLMRT_WITH_ONNXRUNTIME
INSTANTIATE_TEST_SUITE_P(OnnxRuntime, BundledModels,
                         ::testing::Combine(::testing::Values(Engine{"onnx_cpu", backend::OnnxCpu{},
                                                                     true}),
                                            ::testing::ValuesIn(kBundled)),
                         case_name);
#endif

}  // namespace
}  // namespace vlmrt
