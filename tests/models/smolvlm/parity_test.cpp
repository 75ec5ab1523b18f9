// The acceptance test of the Idefics3/SmolVLM image processor: bit parity with a PIL + numpy
// re-implementation of transformers v5's PIL path (tests/models/hf_image_processor_reference.py).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "../processor_parity.hpp"
#include "models/smolvlm/image_processor.hpp"
#include "test_support.hpp"

namespace vlmrt::smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::ReferenceSet;

// Runs the library on every reference image; uint8 frames must be identical and the floats must
// equal the reference's (max diff 0; the brief allows 1e-6).
void check_library_parity(const fs::path& model_dir, const std::string& reference_name) {
  const ReferenceSet set = testing::load_reference(reference_name);
  ASSERT_GE(set.images.size(), 12u);
  const auto config = load_image_processor_config(model_dir, detect_family(model_dir));
  const ImageProcessor processor(config);
  int worst_u8 = 0;
  double worst_lut = 0, worst_npy = 0;
  int npy_images = 0;
  for (const auto& ref : set.images) {
    SCOPED_TRACE(ref.file);
    const ImageRgb8 image = load_image(set.images_dir / ref.file);
    ASSERT_EQ(image.width(), ref.width);
    ASSERT_EQ(image.height(), ref.height);
    const auto bytes = testing::reference_frames(set, ref);
    const auto frames = processor.frames(image);
    EXPECT_EQ(frames.rows, ref.rows);
    EXPECT_EQ(frames.cols, ref.cols);
    ASSERT_EQ(static_cast<int>(frames.frames.size()), ref.frames);
    const std::size_t frame_bytes =
        static_cast<std::size_t>(ref.frame_height) * ref.frame_width * 3;
    int image_u8 = 0;
    for (int f = 0; f < ref.frames; ++f) {
      ASSERT_EQ(frames.frames[f].width(), ref.frame_width);
      ASSERT_EQ(frames.frames[f].height(), ref.frame_height);
      image_u8 = std::max(image_u8,
                          testing::max_u8_diff(frames.frames[f], bytes.data() + frame_bytes * f));
    }
    EXPECT_EQ(image_u8, 0) << "uint8 frames differ from PIL";

    const auto batch = processor.process(std::span(&image, 1));
    ASSERT_EQ(batch.num_frames, ref.frames);
    ASSERT_EQ(batch.images.size(), 1u);
    EXPECT_EQ(batch.images[0].rows, ref.rows);
    EXPECT_EQ(batch.images[0].cols, ref.cols);
    EXPECT_FALSE(batch.has_mask());
    const double lut = testing::max_float_diff_vs_lut(batch.pixel_values, set, ref, bytes);
    EXPECT_EQ(lut, 0.0);
    const double npy = testing::max_float_diff_vs_npy(batch.pixel_values, set, ref);
    if (npy >= 0) {
      EXPECT_EQ(npy, 0.0);
      worst_npy = std::max(worst_npy, npy);
      ++npy_images;
    }
    worst_u8 = std::max(worst_u8, image_u8);
    worst_lut = std::max(worst_lut, lut);
  }
  std::cout << "[parity " << reference_name << "] images=" << set.images.size()
            << " max|u8 diff|=" << worst_u8
            << " max|float diff| (vs reference floats via LUT)=" << worst_lut
            << " max|float diff| (vs reference .npy, " << npy_images << " images)=" << worst_npy
            << "\n";
}

TEST(SmolVlmParity, FixtureConfigMatchesPythonReferenceOnAllImages) {
  check_library_parity(testing::sample_model("SmolVLM-256M-Instruct"), "smolvlm");
}

TEST(SmolVlmParity, RealSmolVlm256MConfigMatchesPythonReferenceOnAllImages) {
  if (!testing::have_real_smolvlm())
    GTEST_SKIP() << "no " << testing::real_smolvlm_dir() << " (shared data absent)";
  check_library_parity(testing::real_smolvlm_dir(), "smolvlm_real");
}

TEST(SmolVlmParity, ReferenceReproducesWorkedExampleTileCounts) {
  const ReferenceSet set = testing::load_reference("smolvlm");
  auto find = [&](const std::string& file) {
    for (const auto& ref : set.images)
      if (ref.file == file) return ref;
    ADD_FAILURE() << "no reference for " << file;
    return testing::ReferenceImage{};
  };
  const auto a = find("rgb_640x480.png");
  EXPECT_EQ(a.rows, 3);
  EXPECT_EQ(a.cols, 4);
  EXPECT_EQ(a.frames, 13);
  const auto b = find("rgb_100x80.png");
  EXPECT_EQ(b.rows, 4);
  EXPECT_EQ(b.cols, 4);
  EXPECT_EQ(b.frames, 17);
  const auto c = find("rgb_1000x100.png");
  EXPECT_EQ(c.rows, 1);
  EXPECT_EQ(c.cols, 4);
  EXPECT_EQ(c.frames, 5);
}

// `vlmrt preprocess` end to end: the .npy it writes equals the reference floats, and it prints
// the grid and token counts.
TEST(SmolVlmPreprocessCli, WritesReferencePixelValuesAndPrintsGrid) {
  const ReferenceSet set = testing::load_reference("smolvlm");
  const fs::path out = testing::scratch_dir("smolvlm_cli");
  const fs::path model = testing::sample_model("SmolVLM-256M-Instruct");
  for (const std::string stem : {"rgb_1000x100", "rgb_640x480", "photo_400x300", "rgba_250x333"}) {
    SCOPED_TRACE(stem);
    const auto it = std::find_if(set.images.begin(), set.images.end(),
                                 [&](const auto& r) { return r.stem == stem; });
    ASSERT_NE(it, set.images.end());
    const fs::path npy_path = out / (stem + ".npy");
    std::string output;
    const int rc = testing::run_preprocess(model, {set.images_dir / it->file}, npy_path, &output);
    ASSERT_EQ(rc, 0) << output;
    EXPECT_EQ(testing::output_field(output, "image 1:", "rows"), std::to_string(it->rows))
        << output;
    EXPECT_EQ(testing::output_field(output, "image 1:", "cols"), std::to_string(it->cols))
        << output;
    EXPECT_EQ(testing::output_field(output, "image 1:", "frames"), std::to_string(it->frames))
        << output;
    EXPECT_EQ(testing::output_field(output, "image 1:", "image_tokens"),
              std::to_string(it->frames * 64))
        << output;
    EXPECT_NE(output.find("image_seq_len: 64"), std::string::npos) << output;
    const auto written = npy::read_f32(npy_path);
    const std::vector<std::int64_t> shape{it->frames, 3, 512, 512};
    ASSERT_EQ(written.shape, shape);
    const auto bytes = testing::reference_frames(set, *it);
    EXPECT_EQ(testing::max_float_diff_vs_lut(written.values, set, *it, bytes), 0.0);
    const double npy = testing::max_float_diff_vs_npy(written.values, set, *it);
    if (npy >= 0) {
      EXPECT_EQ(npy, 0.0);
    }
  }
}

TEST(SmolVlmPreprocessCli, ConcatenatesSeveralImagesAndWritesAllOnesMask) {
  const ReferenceSet set = testing::load_reference("smolvlm");
  const fs::path out = testing::scratch_dir("smolvlm_cli_multi");
  std::string output;
  const int rc = testing::run_preprocess(
      testing::sample_model("SmolVLM-256M-Instruct"),
      {set.images_dir / "rgb_1000x100.png", set.images_dir / "rgb_100x1000.png"}, out / "pv.npy",
      &output, "--mask-out " + testing::shell_quote((out / "mask.npy").string()));
  ASSERT_EQ(rc, 0) << output;
  EXPECT_EQ(testing::output_field(output, "image 2:", "rows"), "4") << output;
  EXPECT_EQ(testing::output_field(output, "image 2:", "cols"), "1") << output;
  EXPECT_EQ(testing::output_field(output, "total:", "frames"), "10") << output;
  EXPECT_EQ(testing::output_field(output, "total:", "image_tokens"), "640") << output;
  EXPECT_EQ(npy::read_f32(out / "pv.npy").shape, (std::vector<std::int64_t>{10, 3, 512, 512}));
  // int64 mask: header then 10·512·512 little-endian ones. Check via Python's numpy.
  std::string check;
  ASSERT_EQ(testing::run_command(
                testing::python() + " -c " +
                    testing::shell_quote("import numpy as n,sys; m=n.load(sys.argv[1]); "
                                         "print(m.dtype, m.shape, int(m.min()), int(m.max()))") +
                    " " + testing::shell_quote((out / "mask.npy").string()),
                &check),
            0)
      << check;
  EXPECT_EQ(check, "int64 (10, 512, 512) 1 1\n");
}

TEST(SmolVlmPreprocessCli, HelpExplainsOptionsWithAnExample) {
  std::string output;
  ASSERT_EQ(testing::run_command(
                testing::shell_quote(testing::cli_path().string()) + " preprocess --help", &output),
            0);
  for (const char* word : {"--model", "--image", "--out", "--mask-out", "Example"})
    EXPECT_NE(output.find(word), std::string::npos) << word << "\n" << output;
}

TEST(SmolVlmPreprocessCli, MissingPreprocessorConfigIsAClearError) {
  const fs::path dir = testing::scratch_dir("smolvlm_cli_no_pp");
  fs::copy_file(testing::sample_model("SmolVLM-256M-Instruct") / "config.json",
                dir / "config.json");
  const ReferenceSet set = testing::load_reference("smolvlm");
  std::string output;
  const int rc =
      testing::run_preprocess(dir, {set.images_dir / "rgb_17x9.png"}, dir / "x.npy", &output);
  EXPECT_NE(rc, 0);
  EXPECT_NE(output.find("preprocessor_config.json"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir / "x.npy"));
}

TEST(SmolVlmPreprocessCli, UnreadableImageIsAClearError) {
  const fs::path dir = testing::scratch_dir("smolvlm_cli_bad_image");
  { std::ofstream(dir / "broken.png") << "not a png"; }
  std::string output;
  const int rc =
      testing::run_preprocess(testing::sample_model("SmolVLM-256M-Instruct"),
                              {dir / "broken.png", dir / "absent.png"}, dir / "x.npy", &output);
  EXPECT_NE(rc, 0);
  EXPECT_NE(output.find("broken.png"), std::string::npos) << output;
}

TEST(SmolVlmPreprocessCli, SeqLenDisagreementBetweenFilesIsAnError) {
  const fs::path dir = testing::scratch_dir("smolvlm_cli_seq_len");
  for (const char* name : {"config.json", "preprocessor_config.json"})
    fs::copy_file(testing::sample_model("SmolVLM-256M-Instruct") / name, dir / name);
  { std::ofstream(dir / "processor_config.json") << R"({"image_seq_len": 81})"; }
  const ReferenceSet set = testing::load_reference("smolvlm");
  std::string output;
  const int rc =
      testing::run_preprocess(dir, {set.images_dir / "rgb_17x9.png"}, dir / "x.npy", &output);
  EXPECT_NE(rc, 0);
  EXPECT_NE(output.find("image_seq_len"), std::string::npos) << output;
}

}  // namespace
}  // namespace vlmrt::smolvlm
