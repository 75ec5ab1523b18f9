// One API over every backend: the same question on each backend named on the
// command line (or all of them), with a clear message for those this build or
// machine cannot run.
//
//   backend_selection MODEL_DIR IMAGE [native|onnx-cpu|onnx-cuda|onnx-tensorrt
//   ...]
#include <cstdio>
#include <string>
#include <vector>

#include "vlmrt/vlmrt.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE [BACKEND ...]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> names(argv + 3, argv + argc);
  if (names.empty()) names = {"native", "onnx-cpu", "onnx-cuda", "onnx-tensorrt"};
  int failures = 0;
  try {
    const vlmrt::ImageRgb8 image = vlmrt::load_image(argv[2]);
    for (const auto& name : names) {
      vlmrt::BackendType type = vlmrt::parse_backend_type(name);
      if (auto* tensorrt = std::get_if<vlmrt::backend::OnnxTensorRt>(&type)) {
        tensorrt->config.fp16 = true;  // the defaults, spelled out: device 0, fp16, 1 GiB,
        tensorrt->config.engine_cache_path = "./trt_cache";  // engines cached across runs
      }
      try {
        vlmrt::VlmModel model = vlmrt::VlmModel::open(argv[1], type);
        // PaliGemma reads task prefixes, SmolVLM plain questions.
        std::printf("[%s] %s\n", model.backend_name().c_str(),
                    model.infer(image, model.caption_prompt(), 24).c_str());
      } catch (const vlmrt::Error& e) {
        ++failures;
        std::printf("[%s] not available: %s\n", name.c_str(), e.what());
      }
    }
  } catch (const vlmrt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return failures == static_cast<int>(names.size()) ? 1 : 0;
}
