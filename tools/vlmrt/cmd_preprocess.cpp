// `vlmrt preprocess`: run a model folder's image processor and write the exact float32
// pixel_values the vision tower would read, for comparison with Hugging Face.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "command.hpp"
#include "core/npy.hpp"
#include "models/family.hpp"
#include "models/model_config.hpp"
#include "models/model_image_processor.hpp"
#include "models/pixel_batch.hpp"
#include "vlmrt/image.hpp"

namespace {

namespace fs = std::filesystem;

int run_preprocess(int argc, char** argv) {
  CLI::App app{
      "Run a model folder's image processor and write the float32 pixel_values the vision tower "
      "reads (shape [frames, 3, H, W], C order, .npy). Needs only config.json and "
      "preprocessor_config.json (no weights, no tokenizer).\n\n"
      "Example:\n"
      "  vlmrt preprocess --model models/SmolVLM-256M-Instruct --image cat.jpg --out pixels.npy\n"
      "  vlmrt preprocess --model models/paligemma-3b-pt-224 --image a.png --image b.png "
      "--out pixels.npy --mask-out mask.npy",
      "vlmrt preprocess"};
  std::string model_dir;
  std::vector<std::string> image_paths;
  std::string out_path;
  std::string mask_path;
  app.add_option("--model", model_dir,
                 "Hugging Face model folder holding config.json and preprocessor_config.json")
      ->required();
  app.add_option("--image", image_paths,
                 "image file (JPEG, PNG, BMP, PPM/PGM); repeat for several images of one prompt, "
                 "their frames are written in the order given")
      ->required();
  app.add_option("--out", out_path, "where to write pixel_values as a float32 .npy file")
      ->required();
  app.add_option("--mask-out", mask_path,
                 "also write pixel_attention_mask as an int64 .npy [frames, H, W] (1 = real pixel; "
                 "all ones for a single prompt)");
  CLI11_PARSE(app, argc, argv);

  // The folder's image processor from the library (models/model_image_processor.hpp): family
  // routing and the image_seq_len cross-check of config.json against the processor files.
  const auto model = vlmrt::ModelConfig::load(fs::path(model_dir));
  const auto family = model.family;
  const auto processor = vlmrt::ModelImageProcessor::load(model_dir, model);
  const int seq_len = processor.image_seq_len();

  std::vector<vlmrt::ImageRgb8> images;
  images.reserve(image_paths.size());
  for (const auto& path : image_paths) images.push_back(vlmrt::load_image(path));

  const vlmrt::PixelBatch batch = processor.process(images);

  const auto shape = batch.shape();
  vlmrt::npy::write_f32(out_path, shape, batch.pixel_values);
  if (!mask_path.empty()) {
    const std::array<std::int64_t, 3> mask_shape{batch.num_frames, batch.height, batch.width};
    const auto mask = batch.attention_mask_or_ones();
    // HF returns pixel_attention_mask as int64.
    const std::vector<std::int64_t> mask_i64(mask.begin(), mask.end());
    vlmrt::npy::write_i64(mask_path, mask_shape, mask_i64);
  }

  std::printf("family: %s\n", std::string(vlmrt::family_name(family)).c_str());
  std::printf("image_seq_len: %d\n", seq_len);
  int total_tokens = 0;
  for (std::size_t i = 0; i < batch.images.size(); ++i) {
    const auto& grid = batch.images[i];
    const int tokens = grid.image_tokens(seq_len);
    total_tokens += tokens;
    std::printf("image %zu: file=%s size=%dx%d rows=%d cols=%d frames=%d image_tokens=%d\n", i + 1,
                image_paths[i].c_str(), images[i].width(), images[i].height(), grid.rows, grid.cols,
                grid.num_frames, tokens);
  }
  std::printf("pixel_values: shape=[%lld,%lld,%lld,%lld] dtype=float32 file=%s\n",
              static_cast<long long>(shape[0]), static_cast<long long>(shape[1]),
              static_cast<long long>(shape[2]), static_cast<long long>(shape[3]), out_path.c_str());
  if (!mask_path.empty())
    std::printf("pixel_attention_mask: shape=[%d,%d,%d] dtype=int64 file=%s\n", batch.num_frames,
                batch.height, batch.width, mask_path.c_str());
  std::printf("total: frames=%d image_tokens=%d\n", batch.num_frames, total_tokens);
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterPreprocess{
    {"preprocess", "write the exact float32 pixel_values a model's image processor produces",
     run_preprocess}};

}  // namespace
