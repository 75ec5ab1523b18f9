// Shared by the PaliGemma and SmolVLM processor tests: the Python (PIL + numpy) reference data
// made at test time by hf_image_processor_reference.py, and comparisons against it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/npy.hpp"
#include "test_support.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt::testing {

namespace fs = std::filesystem;

inline fs::path real_smolvlm_dir() {
  return shared_data_dir() / "SmolVLM-256M-Instruct";
}
inline bool have_real_smolvlm() {
  return fs::exists(real_smolvlm_dir() / "preprocessor_config.json") &&
         fs::exists(real_smolvlm_dir() / "config.json");
}

// One generator run for every config, with identical arguments from every test executable so
// they share (not fight over) build/test_data/hf_image_processor_reference.
inline fs::path processor_reference_root() {
  std::string args =
      "--make-images --config paligemma=" +
      shell_quote((sample_model("paligemma-3b-pt-224") / "preprocessor_config.json").string()) +
      " --config smolvlm=" +
      shell_quote((sample_model("SmolVLM-256M-Instruct") / "preprocessor_config.json").string());
  if (have_real_smolvlm())
    args += " --config smolvlm_real=" +
            shell_quote((real_smolvlm_dir() / "preprocessor_config.json").string());
  return generated_data("hf_image_processor_reference",
                        source_dir() / "tests" / "models" / "hf_image_processor_reference.py",
                        args);
}

struct ReferenceImage {
  std::string file;
  std::string stem;
  int width = 0, height = 0, rows = 0, cols = 0, frames = 0, frame_height = 0, frame_width = 0;
  bool float_npy = false;
};

struct ReferenceSet {
  fs::path dir;         // root/<config name>
  fs::path images_dir;  // root/images
  std::vector<ReferenceImage> images;
  std::array<std::array<float, 256>, 3> lut{};
};

inline std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline ReferenceSet load_reference(const std::string& config_name) {
  const fs::path root = processor_reference_root();
  ReferenceSet set;
  set.dir = root / config_name;
  set.images_dir = root / "images";
  const auto summary = json::read_file(set.dir / "summary.json");
  for (const auto& item : summary.at("images")) {
    ReferenceImage image;
    image.file = item.at("file").get<std::string>();
    image.stem = item.at("stem").get<std::string>();
    image.width = item.at("width").get<int>();
    image.height = item.at("height").get<int>();
    image.rows = item.at("rows").get<int>();
    image.cols = item.at("cols").get<int>();
    image.frames = item.at("frames").get<int>();
    image.frame_height = item.at("frame_height").get<int>();
    image.frame_width = item.at("frame_width").get<int>();
    image.float_npy = item.at("float_npy").get<bool>();
    set.images.push_back(image);
  }
  const auto lut = npy::read_f32(set.dir / "lut.npy");
  EXPECT_EQ(lut.values.size(), 3u * 256u);
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v)
      set.lut[c][v] = lut.values.at(static_cast<std::size_t>(c) * 256 + v);
  return set;
}

// Reference uint8 frames [n, H, W, 3] of one image.
inline std::vector<std::uint8_t> reference_frames(const ReferenceSet& set,
                                                  const ReferenceImage& image) {
  auto bytes = read_bytes(set.dir / (image.stem + ".frames.u8"));
  EXPECT_EQ(bytes.size(),
            static_cast<std::size_t>(image.frames) * image.frame_height * image.frame_width * 3)
      << image.file;
  return bytes;
}

// Largest |a - b| between a frame (HWC, any row stride) and reference bytes.
inline int max_u8_diff(const ImageRgb8& frame, const std::uint8_t* reference) {
  int worst = 0;
  const std::size_t row_bytes = static_cast<std::size_t>(frame.width()) * 3;
  for (int y = 0; y < frame.height(); ++y) {
    const std::uint8_t* row = frame.row(y);
    const std::uint8_t* ref = reference + row_bytes * y;
    for (std::size_t i = 0; i < row_bytes; ++i)
      worst = std::max(worst, std::abs(int{row[i]} - int{ref[i]}));
  }
  return worst;
}

// Largest |pixel_values - LUT[reference bytes]| over [n, 3, H, W] floats. The reference script
// asserts that LUT[bytes] is bit-identical to its own float pixel_values.
inline double max_float_diff_vs_lut(std::span<const float> values, const ReferenceSet& set,
                                    const ReferenceImage& image,
                                    std::span<const std::uint8_t> bytes) {
  const std::size_t plane = static_cast<std::size_t>(image.frame_height) * image.frame_width;
  double worst = 0;
  EXPECT_EQ(values.size(), plane * 3 * image.frames) << image.file;
  if (values.size() != plane * 3 * image.frames) return INFINITY;
  for (int f = 0; f < image.frames; ++f)
    for (int c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < plane; ++p) {
        const float expected = set.lut[c][bytes[(f * plane + p) * 3 + c]];
        const float actual = values[(static_cast<std::size_t>(f) * 3 + c) * plane + p];
        worst = std::max(worst, static_cast<double>(std::fabs(expected - actual)));
      }
  return worst;
}

// Largest |pixel_values - reference .npy|, or -1 when the reference wrote no float file.
inline double max_float_diff_vs_npy(std::span<const float> values, const ReferenceSet& set,
                                    const ReferenceImage& image) {
  if (!image.float_npy) return -1;
  const auto reference = npy::read_f32(set.dir / (image.stem + ".pixel_values.npy"));
  const std::vector<std::int64_t> shape{image.frames, 3, image.frame_height, image.frame_width};
  EXPECT_EQ(reference.shape, shape) << image.file;
  EXPECT_EQ(reference.values.size(), values.size()) << image.file;
  if (reference.values.size() != values.size()) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::fabs(reference.values[i] - values[i])));
  return worst;
}

// The value of "key=" in a `vlmrt preprocess` output line starting with `prefix`.
inline std::string output_field(const std::string& output, const std::string& prefix,
                                const std::string& key) {
  std::size_t line_start = 0;
  while (line_start < output.size()) {
    std::size_t line_end = output.find('\n', line_start);
    if (line_end == std::string::npos) line_end = output.size();
    const std::string line = output.substr(line_start, line_end - line_start);
    if (line.rfind(prefix, 0) == 0) {
      const auto at = line.find(" " + key + "=");
      if (at == std::string::npos) return "";
      const auto begin = at + key.size() + 2;
      return line.substr(begin, line.find(' ', begin) - begin);
    }
    line_start = line_end + 1;
  }
  return "";
}

// Runs `vlmrt preprocess --model MODEL --image I... --out OUT [extra]`; returns the exit status
// and leaves stdout+stderr in `output`.
inline int run_preprocess(const fs::path& model, const std::vector<fs::path>& images,
                          const fs::path& out, std::string* output, const std::string& extra = "") {
  std::string command =
      shell_quote(cli_path().string()) + " preprocess --model " + shell_quote(model.string());
  for (const auto& image : images) command += " --image " + shell_quote(image.string());
  command += " --out " + shell_quote(out.string()) + " " + extra;
  return run_command(command, output);
}

}  // namespace vlmrt::testing
