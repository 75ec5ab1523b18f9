// Bad input through the public API: each is a typed vlmrt::Error whose message says what is wrong
// and where, never a crash.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "core/json.hpp"
#include "core/safetensors.hpp"
#include "golden_cases.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"
#include "vlmrt/model.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

// A copy of a fixture folder in which `edit` may change files.
fs::path copy_fixture(const std::string& fixture, const std::string& name) {
  const fs::path dir = testing::scratch_dir("runtime_bad_input_" + name);
  fs::remove_all(dir);
  fs::copy(testing::golden_fixture_dir(fixture), dir, fs::copy_options::recursive);
  fs::remove_all(dir / "goldens");
  return dir;
}

// Rewrites model.safetensors keeping every tensor but `drop`, and replacing `reshape` (if any)
// by a tensor of one row fewer.
void rewrite_checkpoint(const fs::path& dir, const std::string& drop, const std::string& reshape) {
  std::vector<std::byte> copy;
  SafetensorsWriter writer;
  {
    const Checkpoint checkpoint = Checkpoint::open(dir);
    for (const auto& name : checkpoint.tensor_names()) {
      if (name == drop) continue;
      const TensorView view = checkpoint.view(name);
      auto shape = view.info->shape;
      std::span<const std::byte> bytes = view.bytes;
      if (name == reshape) {
        const auto row = bytes.size() / static_cast<std::size_t>(shape[0]);
        shape[0] -= 1;
        bytes = bytes.first(bytes.size() - row);
      }
      writer.add(name, view.info->dtype, shape, bytes);
    }
  }
  writer.write(dir / "model.safetensors");
}

TEST(BadInput, MissingTensorIsAFormatErrorNamingIt) {
  const fs::path dir = copy_fixture("tiny-smolvlm-fp32", "missing");
  rewrite_checkpoint(dir, "model.text_model.layers.1.mlp.up_proj.weight", "");
  const std::string error = testing::error_of([&] { VlmModel::open(dir); });
  EXPECT_NE(error.find("format error"), std::string::npos) << error;
  EXPECT_NE(error.find("model.text_model.layers.1.mlp.up_proj.weight"), std::string::npos) << error;
}

TEST(BadInput, WrongShapeTensorIsAFormatErrorNamingBothShapes) {
  const fs::path dir = copy_fixture("tiny-paligemma-fp32", "shape");
  rewrite_checkpoint(dir, "", "multi_modal_projector.linear.weight");  // legacy names
  const std::string error = testing::error_of([&] { VlmModel::open(dir); });
  EXPECT_NE(error.find("format error"), std::string::npos) << error;
  EXPECT_NE(error.find("multi_modal_projector.linear.weight"), std::string::npos) << error;
  EXPECT_NE(error.find("[63, 32]"), std::string::npos) << error;
}

TEST(BadInput, UnknownFamilyIsUnsupportedNamingTheModelType) {
  const fs::path dir = copy_fixture("tiny-smolvlm-fp32", "family");
  json::Json config = json::read_file(dir / "config.json");
  config["model_type"] = "llava";
  std::ofstream(dir / "config.json") << config.dump(2);
  const std::string error = testing::error_of([&] { VlmModel::open(dir); });
  EXPECT_NE(error.find("unsupported"), std::string::npos) << error;
  EXPECT_NE(error.find("llava"), std::string::npos) << error;
}

TEST(BadInput, MissingWeightsAreNotFound) {
  const fs::path dir = copy_fixture("tiny-smolvlm-fp32", "weights");
  fs::remove(dir / "model.safetensors");
  const std::string error = testing::error_of([&] { VlmModel::open(dir); });
  EXPECT_NE(error.find("not found"), std::string::npos) << error;
  EXPECT_NE(error.find("safetensors"), std::string::npos) << error;
}

TEST(BadInput, PromptLongerThanTheContextIsLimitExceeded) {
  ModelOptions options;
  options.context_length = 32;
  VlmModel model =
      VlmModel::open(testing::golden_fixture_dir("tiny-smolvlm-fp32"), backend::Native{}, options);
  const ImageRgb8 image = testing::noise_image(64, 48, 3);
  const std::string error = testing::error_of(
      [&] { model.generate(std::span(&image, 1), "Describe it.", GenerationOptions{}); });
  EXPECT_NE(error.find("limit exceeded"), std::string::npos) << error;
  EXPECT_NE(error.find("context"), std::string::npos) << error;
}

TEST(BadInput, ImageThatFailsToDecodeIsAFormatErrorNamingTheFile) {
  const fs::path file = testing::scratch_dir("runtime_bad_image") / "broken.jpg";
  std::ofstream(file, std::ios::binary) << "\xFF\xD8\xFF\xE0 not really a jpeg";
  const std::string error = testing::error_of([&] { load_image(file); });
  EXPECT_NE(error.find("format error"), std::string::npos) << error;
  EXPECT_NE(error.find("broken.jpg"), std::string::npos) << error;
}

// Every ONNX backend needs the exported graphs: a plain Hugging Face folder gets an error that
// says what is missing and how to make it (or, without ONNX Runtime, that it is not built in).
TEST(BadInput, OnnxBackendsOnAFolderWithoutGraphsSayWhatIsMissing) {
  for (const BackendType& type : {BackendType{backend::OnnxCpu{}}, BackendType{backend::OnnxCuda{}},
                                  BackendType{backend::OnnxTensorRt{}}}) {
    const std::string error = testing::error_of(
        [&] { VlmModel::open(testing::golden_fixture_dir("tiny-smolvlm-fp32"), type); });
#ifdef VLMRT_WITH_ONNXRUNTIME
    EXPECT_NE(error.find("not found"), std::string::npos) << error;
    EXPECT_NE(error.find("export_onnx.py"), std::string::npos) << error;
#else
    EXPECT_NE(error.find("unsupported"), std::string::npos) << error;
    EXPECT_NE(error.find("not available"), std::string::npos) << error;
#endif
  }
  EXPECT_NE(testing::error_of([] { parse_backend_type("tensorflow"); }).find("onnx-cpu"),
            std::string::npos);
}

TEST(BadInput, BadGenerationOptionsNameTheOption) {
  VlmModel model = VlmModel::open(testing::golden_fixture_dir("tiny-smolvlm-fp32"));
  GenerationOptions options;
  options.do_sample = true;
  options.temperature = -1;
  const std::string error = testing::error_of([&] { model.generate({}, "Hello", options); });
  EXPECT_NE(error.find("temperature"), std::string::npos) << error;
}

TEST(BadInput, ImageCountNotMatchingThePromptIsInvalidArgument) {
  VlmModel model = VlmModel::open(testing::golden_fixture_dir("tiny-paligemma-fp32"));
  const ImageRgb8 image = testing::noise_image(20, 20, 1);
  // Two <image> markers in the text but one image.
  const std::string error = testing::error_of([&] {
    model.generate(std::span(&image, 1), "<image><image>caption en", GenerationOptions{});
  });
  EXPECT_NE(error.find("invalid argument"), std::string::npos) << error;
}

}  // namespace
}  // namespace vlmrt
