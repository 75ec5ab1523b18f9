#include "models/paligemma/image_processor.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "../processor_parity.hpp"
#include "image/normalize.hpp"
#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::paligemma {
namespace {

TEST(PaliGemmaProcessorConfig, ParsesFixtureAsSiglip224Bicubic) {
  const auto config = load_image_processor_config(testing::sample_model("paligemma-3b-pt-224"),
                                                  ModelFamily::PaliGemma);
  EXPECT_TRUE(config.size.is_fixed());
  EXPECT_EQ(config.size.width, 224);
  EXPECT_EQ(config.size.height, 224);
  EXPECT_EQ(config.resample, image::ResampleFilter::Bicubic);
  EXPECT_FALSE(config.do_image_splitting);
  EXPECT_EQ(config.image_seq_length, 256);
  // "do_convert_rgb": null keeps the SigLIP default.
  EXPECT_FALSE(config.do_convert_rgb);
}

TEST(PaliGemmaProcessorConfig, RejectsLongestEdgeSize) {
  try {
    (void)parse_image_processor_config(json::parse(R"({"size": {"longest_edge": 224}})", "pp.json"),
                                       ModelFamily::PaliGemma2, "pp.json");
    FAIL() << "expected Format";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_NE(std::string(e.what()).find("'size'"), std::string::npos) << e.what();
  }
}

TEST(PaliGemmaProcessorConfig, DefaultsAreSiglip224Bicubic) {
  const auto config =
      parse_image_processor_config(json::Json::object(), ModelFamily::PaliGemma, "pp.json");
  EXPECT_EQ(config.size.width, 224);
  EXPECT_EQ(config.resample, image::ResampleFilter::Bicubic);
  EXPECT_DOUBLE_EQ(config.rescale_factor, 1.0 / 255.0);
}

TEST(PaliGemmaImageProcessor, GivesOneUnsplitFramePerImage) {
  const ImageProcessor processor(default_image_processor_config(ModelFamily::PaliGemma));
  const std::vector<ImageRgb8> images{testing::noise_image(50, 30, 1),
                                      testing::noise_image(300, 400, 2),
                                      testing::noise_image(224, 224, 3)};
  const auto batch = processor.process(images);
  EXPECT_EQ(batch.shape(), (std::array<std::int64_t, 4>{3, 3, 224, 224}));
  EXPECT_FALSE(batch.has_mask());
  ASSERT_EQ(batch.images.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(batch.images[i].rows, 0);
    EXPECT_EQ(batch.images[i].cols, 0);
    EXPECT_EQ(batch.images[i].first_frame, i);
    EXPECT_EQ(batch.images[i].num_frames, 1);
    EXPECT_EQ(batch.images[i].image_tokens(256), 256);
  }
}

TEST(PaliGemmaImageProcessor, ImageAlreadyAtSizeIsOnlyNormalised) {
  const ImageProcessor processor(default_image_processor_config(ModelFamily::PaliGemma));
  const auto image = testing::noise_image(224, 224, 4);
  const auto batch = processor.process(std::span(&image, 1));
  std::vector<float> expected(3 * 224 * 224);
  image::rescale_normalize_to_chw(image, processor.config().normalization(), expected);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), batch.pixel_values.begin()));
  // (0 / 255 - 0.5) / 0.5 = -1 and (255 / 255 - 0.5) / 0.5 = 1 bound every value.
  for (float v : batch.pixel_values) ASSERT_TRUE(v >= -1.0f && v <= 1.0f);
}

TEST(PaliGemmaImageProcessor, WithoutResizeRejectsImagesOfDifferentSizes) {
  auto config = default_image_processor_config(ModelFamily::PaliGemma);
  config.do_resize = false;
  const std::vector<ImageRgb8> images{testing::noise_image(50, 30, 1),
                                      testing::noise_image(30, 50, 2)};
  EXPECT_THROW((void)ImageProcessor(config).process(images), Error);
}

}  // namespace
}  // namespace vlmrt::paligemma
