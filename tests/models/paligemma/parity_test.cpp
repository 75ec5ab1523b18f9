// The acceptance test of the PaliGemma (SigLIP) image processor: bit parity with a PIL + numpy
// re-implementation of transformers v5's PIL path (tests/models/hf_image_processor_reference.py).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "../processor_parity.hpp"
#include "models/paligemma/image_processor.hpp"
#include "test_support.hpp"

namespace vlmrt::paligemma {
namespace {

namespace fs = std::filesystem;
using testing::ReferenceSet;

TEST(PaliGemmaParity, FixtureConfigMatchesPythonReferenceOnAllImages) {
  const ReferenceSet set = testing::load_reference("paligemma");
  ASSERT_GE(set.images.size(), 12u);
  const fs::path model = testing::sample_model("paligemma-3b-pt-224");
  const ImageProcessor processor(load_image_processor_config(model, detect_family(model)));
  int worst_u8 = 0;
  double worst_lut = 0, worst_npy = 0;
  int npy_images = 0;
  for (const auto& ref : set.images) {
    SCOPED_TRACE(ref.file);
    const ImageRgb8 image = load_image(set.images_dir / ref.file);
    ASSERT_EQ(ref.frames, 1);
    ASSERT_EQ(ref.frame_width, 224);
    ASSERT_EQ(ref.frame_height, 224);
    const auto bytes = testing::reference_frames(set, ref);
    const ImageRgb8 frame = processor.frame(image);
    ASSERT_EQ(frame.width(), 224);
    ASSERT_EQ(frame.height(), 224);
    const int u8 = testing::max_u8_diff(frame, bytes.data());
    EXPECT_EQ(u8, 0) << "uint8 frame differs from PIL";
    const auto batch = processor.process(std::span(&image, 1));
    const double lut = testing::max_float_diff_vs_lut(batch.pixel_values, set, ref, bytes);
    EXPECT_EQ(lut, 0.0);
    const double npy = testing::max_float_diff_vs_npy(batch.pixel_values, set, ref);
    if (npy >= 0) {
      EXPECT_EQ(npy, 0.0);
      worst_npy = std::max(worst_npy, npy);
      ++npy_images;
    }
    worst_u8 = std::max(worst_u8, u8);
    worst_lut = std::max(worst_lut, lut);
  }
  std::cout << "[parity paligemma] images=" << set.images.size() << " max|u8 diff|=" << worst_u8
            << " max|float diff| (via LUT)=" << worst_lut << " max|float diff| (vs reference .npy, "
            << npy_images << " images)=" << worst_npy << "\n";
  EXPECT_EQ(npy_images, static_cast<int>(set.images.size()));
}

TEST(PaliGemmaPreprocessCli, WritesReferencePixelValuesAndPrintsTokenCount) {
  const ReferenceSet set = testing::load_reference("paligemma");
  const fs::path out = testing::scratch_dir("paligemma_cli");
  const std::vector<std::string> stems{"rgb_17x9", "rgb_3000x2000", "gray_300x200",
                                       "photo_400x300"};
  std::vector<const testing::ReferenceImage*> refs;
  std::vector<fs::path> images;
  for (const auto& stem : stems) {
    const auto it = std::find_if(set.images.begin(), set.images.end(),
                                 [&](const auto& r) { return r.stem == stem; });
    ASSERT_NE(it, set.images.end()) << stem;
    refs.push_back(&*it);
    images.push_back(set.images_dir / it->file);
  }
  std::string output;
  ASSERT_EQ(testing::run_preprocess(testing::sample_model("paligemma-3b-pt-224"), images,
                                    out / "pv.npy", &output),
            0)
      << output;
  EXPECT_NE(output.find("image_seq_len: 256"), std::string::npos) << output;
  EXPECT_EQ(testing::output_field(output, "image 4:", "image_tokens"), "256") << output;
  EXPECT_EQ(testing::output_field(output, "image 4:", "rows"), "0") << output;
  EXPECT_EQ(testing::output_field(output, "total:", "image_tokens"), "1024") << output;
  const auto written = npy::read_f32(out / "pv.npy");
  ASSERT_EQ(written.shape, (std::vector<std::int64_t>{4, 3, 224, 224}));
  const std::size_t frame = 3 * 224 * 224;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    SCOPED_TRACE(refs[i]->file);
    const std::span<const float> values(written.values.data() + frame * i, frame);
    EXPECT_EQ(testing::max_float_diff_vs_npy(values, set, *refs[i]), 0.0);
  }
}

TEST(PaliGemmaPreprocessCli, SeqLenDisagreementWithConfigIsAnError) {
  const fs::path dir = testing::scratch_dir("paligemma_cli_seq_len");
  fs::copy_file(testing::sample_model("paligemma-3b-pt-224") / "config.json", dir / "config.json");
  auto pp =
      json::read_file(testing::sample_model("paligemma-3b-pt-224") / "preprocessor_config.json");
  pp["image_seq_length"] = 1024;
  { std::ofstream(dir / "preprocessor_config.json") << pp.dump(); }
  const ReferenceSet set = testing::load_reference("paligemma");
  std::string output;
  const int rc =
      testing::run_preprocess(dir, {set.images_dir / "rgb_17x9.png"}, dir / "x.npy", &output);
  EXPECT_NE(rc, 0);
  EXPECT_NE(output.find("image_seq_length"), std::string::npos) << output;
}

}  // namespace
}  // namespace vlmrt::paligemma
