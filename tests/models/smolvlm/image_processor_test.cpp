#include "models/smolvlm/image_processor.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::smolvlm {
namespace {

ImageProcessorConfig smolvlm_config() {
  return default_image_processor_config(ModelFamily::SmolVlm);
}

// A scaled-down geometry (tile 32, longest edge 128) with the same rules, to keep tests fast.
ImageProcessorConfig small_config() {
  auto config = smolvlm_config();
  config.size.longest_edge = 128;
  config.max_image_size = 32;
  return config;
}

TEST(LongestEdgeSize, MatchesWorkedExamples) {
  EXPECT_EQ(longest_edge_size({640, 480}, 2048), (Extent{2048, 1536}));
  EXPECT_EQ(longest_edge_size({100, 80}, 2048), (Extent{2048, 1638}));
  EXPECT_EQ(longest_edge_size({1000, 100}, 2048), (Extent{2048, 204}));
  EXPECT_EQ(longest_edge_size({100, 1000}, 2048), (Extent{204, 2048}));
  EXPECT_EQ(longest_edge_size({1, 1}, 2048), (Extent{2048, 2048}));
}

TEST(LongestEdgeSize, TruncatesThenRoundsOddEdgeUpToEven) {
  // 2048 / 1.5 = 1365.33 → int 1365 → odd → 1366; 2048 / (17/9) = 1084.2 → 1084 stays.
  EXPECT_EQ(longest_edge_size({3000, 2000}, 2048), (Extent{2048, 1366}));
  EXPECT_EQ(longest_edge_size({17, 9}, 2048), (Extent{2048, 1084}));
  // Portrait: 2048 · (333/500) = 1363.97 → 1363 → 1364.
  EXPECT_EQ(longest_edge_size({333, 500}, 2048), (Extent{1364, 2048}));
}

TEST(LongestEdgeSize, UpscalesSmallImagesAndKeepsAtLeastOnePixel) {
  EXPECT_EQ(longest_edge_size({10000, 1}, 2048), (Extent{2048, 1}));
  EXPECT_EQ(longest_edge_size({1, 10000}, 2048), (Extent{1, 2048}));
}

TEST(LongestEdgeSize, ClampsToMaxImageSize4096) {
  EXPECT_EQ(longest_edge_size({800, 600}, 8192), (Extent{4096, 3072}));
}

TEST(VisionEncoderSize, RoundsBothEdgesUpToTileMultiples) {
  EXPECT_EQ(vision_encoder_size({2048, 1638}, 512), (Extent{2048, 2048}));
  EXPECT_EQ(vision_encoder_size({2048, 1536}, 512), (Extent{2048, 1536}));
  EXPECT_EQ(vision_encoder_size({2048, 204}, 512), (Extent{2048, 512}));
  EXPECT_EQ(vision_encoder_size({204, 2048}, 512), (Extent{512, 2048}));
  EXPECT_EQ(vision_encoder_size({2048, 1}, 512), (Extent{2048, 512}));
}

TEST(ImageProcessorPlan, CountsRowsColsAndFramesOfWorkedExamples) {
  const ImageProcessor processor(smolvlm_config());
  const auto a = processor.plan({640, 480});
  EXPECT_EQ(a.rows, 3);
  EXPECT_EQ(a.cols, 4);
  EXPECT_EQ(a.num_frames, 13);
  const auto b = processor.plan({100, 80});
  EXPECT_EQ(b.rows, 4);
  EXPECT_EQ(b.cols, 4);
  EXPECT_EQ(b.num_frames, 17);
  const auto c = processor.plan({1000, 100});
  EXPECT_EQ(c.rows, 1);
  EXPECT_EQ(c.cols, 4);
  EXPECT_EQ(c.num_frames, 5);
  EXPECT_EQ(c.frame, (Extent{512, 512}));
}

TEST(ImageProcessorPlan, WithoutSplittingGivesOneTileSquareFrame) {
  auto config = smolvlm_config();
  config.do_image_splitting = false;
  const auto plan = ImageProcessor(config).plan({640, 480});
  EXPECT_EQ(plan.rows, 0);
  EXPECT_EQ(plan.cols, 0);
  EXPECT_EQ(plan.num_frames, 1);
  EXPECT_EQ(plan.frame, (Extent{512, 512}));
}

TEST(ImageProcessorPlan, DoesNotSplitWhenStageTwoIsOneTile) {
  auto config = smolvlm_config();
  config.size.longest_edge = 512;
  const auto plan = ImageProcessor(config).plan({640, 480});
  EXPECT_EQ(plan.encoder, (Extent{512, 512}));
  EXPECT_EQ(plan.rows, 0);
  EXPECT_EQ(plan.num_frames, 1);
}

TEST(ImageProcessorPlan, RefusesHugeUnresizedImages) {
  auto config = smolvlm_config();
  config.do_resize = false;
  try {
    (void)ImageProcessor(config).plan({20000, 20000});
    FAIL() << "expected LimitExceeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::LimitExceeded);
  }
}

TEST(ImageProcessorFrames, TilesAreViewsIntoTheStageTwoImageAndGlobalComesLast) {
  const ImageProcessor processor(small_config());
  const auto image = testing::noise_image(40, 30, 1);  // → 128×96 → 4 cols × 3 rows of 32
  const auto frames = processor.frames(image);
  ASSERT_EQ(frames.rows, 3);
  ASSERT_EQ(frames.cols, 4);
  ASSERT_EQ(frames.frames.size(), 13u);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      const auto& tile = frames.frames[static_cast<std::size_t>(r * 4 + c)];
      EXPECT_FALSE(tile.owns_pixels());
      EXPECT_EQ(tile.width(), 32);
      EXPECT_EQ(tile.height(), 32);
      EXPECT_EQ(tile.data(), frames.encoder.row(r * 32) + 3 * 32 * c);
    }
  const auto& global = frames.frames.back();
  EXPECT_TRUE(global.owns_pixels());
  EXPECT_EQ(global.width(), 32);
  EXPECT_EQ(global.height(), 32);
}

TEST(ImageProcessorProcess, ConcatenatesImagesInOrderWithoutMask) {
  const ImageProcessor processor(small_config());
  const std::vector<ImageRgb8> images{testing::noise_image(40, 30, 2),
                                      testing::noise_image(100, 10, 3)};
  const auto batch = processor.process(images);
  ASSERT_EQ(batch.images.size(), 2u);
  EXPECT_EQ(batch.images[0].num_frames, 13);
  EXPECT_EQ(batch.images[1].rows, 1);
  EXPECT_EQ(batch.images[1].cols, 4);
  EXPECT_EQ(batch.images[1].first_frame, 13);
  EXPECT_EQ(batch.num_frames, 18);
  EXPECT_EQ(batch.shape(), (std::array<std::int64_t, 4>{18, 3, 32, 32}));
  EXPECT_FALSE(batch.has_mask());
  const auto alone = processor.process(std::span(&images[1], 1));
  ASSERT_EQ(alone.num_frames, 5);
  for (int f = 0; f < 5; ++f) {
    const auto a = alone.frame(f);
    const auto b = batch.frame(13 + f);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << "frame " << f;
  }
}

TEST(ImageProcessorProcessBatch, PadsToMostFramesWithZeroFramesAndMask) {
  const ImageProcessor processor(small_config());
  const std::vector<std::vector<ImageRgb8>> prompts{{testing::noise_image(100, 10, 4)},
                                                    {testing::noise_image(40, 30, 5)}};
  const auto batch = processor.process_batch(prompts);
  EXPECT_EQ(batch.num_samples, 2);
  EXPECT_EQ(batch.frames_per_sample, 13);
  EXPECT_EQ(batch.num_frames, 26);
  ASSERT_TRUE(batch.has_mask());
  ASSERT_EQ(batch.images.size(), 2u);
  EXPECT_EQ(batch.images[1].first_frame, 13);
  EXPECT_EQ(batch.images[1].sample, 1);
  const std::size_t plane = 32 * 32;
  for (int f = 0; f < 26; ++f) {
    const bool real = f < 5 || f >= 13;
    const auto values = batch.frame(f);
    const bool all_zero =
        std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; });
    EXPECT_EQ(all_zero, !real) << "frame " << f;
    const auto* mask = batch.pixel_attention_mask.data() + plane * f;
    EXPECT_TRUE(
        std::all_of(mask, mask + plane, [&](std::uint8_t m) { return m == (real ? 1 : 0); }))
        << "frame " << f;
  }
}

TEST(ImageProcessorProcessBatch, WithoutPadRejectsPromptsWithDifferentFrameCounts) {
  auto config = small_config();
  config.do_pad = false;
  const std::vector<std::vector<ImageRgb8>> prompts{{testing::noise_image(100, 10, 4)},
                                                    {testing::noise_image(40, 30, 5)}};
  EXPECT_THROW((void)ImageProcessor(config).process_batch(prompts), Error);
}

TEST(ImageGrid, ExpandsToOneSeqLenPerFrame) {
  ImageGrid grid;
  grid.rows = 3;
  grid.cols = 4;
  grid.num_frames = 13;
  EXPECT_EQ(grid.image_tokens(64), 832);
  grid.num_frames = 17;
  EXPECT_EQ(grid.image_tokens(64), 1088);
}

TEST(ImageProcessor, RejectsConfigWithoutTileEdge) {
  EXPECT_THROW(ImageProcessor(default_image_processor_config(ModelFamily::PaliGemma)), Error);
}

}  // namespace
}  // namespace vlmrt::smolvlm
