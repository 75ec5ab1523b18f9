// plan_vision_frames / check_pixel_batch: which frames run, which patches are valid and which
// position ids they read (MODELS.md §3.1, §3.2), on a 32x32 image with 8x8 patches (N = 4).
#include "backends/native/model/vision_inputs.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vision_encoder_test_support.hpp"

namespace vlmrt::native {
namespace {

using vision_testing::throws_error;

VisionConfig tiny_vision() {
  VisionConfig v;
  v.hidden_size = 32;
  v.num_attention_heads = 2;
  v.image_size = 32;
  v.patch_size = 8;
  return v;
}

// `frames` frames of 32x32 filled with `fill` (a real frame is never all zero).
PixelBatch batch(int frames, float fill = 0.5f) {
  PixelBatch b;
  b.num_frames = frames;
  b.height = 32;
  b.width = 32;
  b.frames_per_sample = frames;
  b.pixel_values.assign(b.frame_size() * frames, fill);
  return b;
}

// Marks the top-left rows x cols pixels of `frame` real, zeroing the rest of its pixels (as
// stack_samples pads).
void pad_frame(PixelBatch& b, int frame, int rows, int cols) {
  if (!b.has_mask()) b.pixel_attention_mask.assign(std::size_t{32} * 32 * b.num_frames, 1);
  std::uint8_t* mask = b.pixel_attention_mask.data() + std::size_t{32} * 32 * frame;
  float* pixels = b.frame(frame).data();
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      const bool real = y < rows && x < cols;
      mask[y * 32 + x] = real ? 1 : 0;
      if (!real)
        for (int c = 0; c < 3; ++c) pixels[(c * 32 + y) * 32 + x] = 0.0f;
    }
  }
}

std::vector<std::int32_t> identity(int n) {
  std::vector<std::int32_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i;
  return ids;
}

std::vector<std::int32_t> positions(const VisionFramePlan& plan, std::size_t i) {
  const auto span = plan.positions_of(i);
  return {span.begin(), span.end()};
}

TEST(PlanVisionFrames, FullFramesGetIdentityPositionsAndNoMask) {
  VisionFramePlan plan;
  plan_vision_frames(batch(2), tiny_vision(), /*bucketed=*/true, plan);
  EXPECT_EQ(plan.frames, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.patches, 16u);
  EXPECT_EQ(positions(plan, 0), identity(16));
  EXPECT_EQ(positions(plan, 1), identity(16));
  EXPECT_EQ(plan.key_valid_of(0), nullptr);
  EXPECT_EQ(plan.key_valid_of(1), nullptr);
}

// 12x20 real pixels: ceil(12/8) = 2 patch rows, ceil(20/8) = 3 columns; the valid region gets
// floor(r·4/2)·4 + floor(c·4/3) = rows {0, 2} x columns {0, 1, 2}; invalid patches read row 0.
TEST(PlanVisionFrames, PartlyPaddedFrameGetsBucketedIdsAndAKeyMask) {
  PixelBatch b = batch(2);
  pad_frame(b, 1, 12, 20);
  VisionFramePlan plan;
  plan_vision_frames(b, tiny_vision(), true, plan);
  ASSERT_EQ(plan.frames, (std::vector<int>{0, 1}));
  EXPECT_EQ(positions(plan, 0), identity(16));
  EXPECT_EQ(plan.key_valid_of(0), nullptr);  // a full frame of a masked batch is unmasked
  EXPECT_EQ(positions(plan, 1), (std::vector<std::int32_t>{0, 1, 2, 0,   //
                                                           8, 9, 10, 0,  //
                                                           0, 0, 0, 0,   //
                                                           0, 0, 0, 0}));
  const std::uint8_t* valid = plan.key_valid_of(1);
  ASSERT_NE(valid, nullptr);
  EXPECT_EQ(std::vector<std::uint8_t>(valid, valid + 16),
            (std::vector<std::uint8_t>{1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(PlanVisionFrames, OneRealPixelMakesItsPatchValid) {
  PixelBatch b = batch(1);
  pad_frame(b, 0, 9, 1);  // row 8 lies in the second patch row
  VisionFramePlan plan;
  plan_vision_frames(b, tiny_vision(), true, plan);
  // nb_h = 2, nb_w = 1: ids floor(r·4/2)·4 + 0 = 0, 8.
  EXPECT_EQ(positions(plan, 0),
            (std::vector<std::int32_t>{0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(PlanVisionFrames, DropsAllZeroPaddingFramesOnlyForIdefics3) {
  PixelBatch b = batch(4);
  pad_frame(b, 2, 0, 0);  // an all-zero padding frame, mask 0
  b.frame(3)[5] = -0.0f;  // a real frame with a negative zero is still real
  VisionFramePlan plan;
  plan_vision_frames(b, tiny_vision(), true, plan);
  EXPECT_EQ(plan.frames, (std::vector<int>{0, 1, 3}));
  // PaliGemma has no padding frames and no mask: every frame runs with identity positions.
  plan_vision_frames(b, tiny_vision(), false, plan);
  EXPECT_EQ(plan.frames, (std::vector<int>{0, 1, 2, 3}));
  for (std::size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(positions(plan, i), identity(16));
    EXPECT_EQ(plan.key_valid_of(i), nullptr);
  }
}

TEST(PlanVisionFrames, AllZeroBatchKeepsItsFirstFrame) {
  VisionFramePlan plan;
  plan_vision_frames(batch(3, -0.0f), tiny_vision(), true, plan);
  EXPECT_EQ(plan.frames, (std::vector<int>{0}));
}

TEST(PlanVisionFrames, RejectsAMaskThatIsNotOneRectangle) {
  PixelBatch b = batch(1);
  pad_frame(b, 0, 16, 16);
  b.pixel_attention_mask[31 * 32 + 31] = 1;  // a stray real pixel in the last patch
  VisionFramePlan plan;
  EXPECT_TRUE(throws_error(
      ErrorKind::InvalidArgument, [&] { plan_vision_frames(b, tiny_vision(), true, plan); },
      "frame 0 has 5 valid patches, not the 2x2 rectangle"));
}

TEST(CheckPixelBatch, NamesTheExpectedSize) {
  const VisionConfig v = tiny_vision();
  PixelBatch wrong_side = batch(1);
  wrong_side.height = wrong_side.width = 48;
  wrong_side.pixel_values.resize(wrong_side.frame_size());
  EXPECT_TRUE(throws_error(
      ErrorKind::InvalidArgument, [&] { check_pixel_batch(wrong_side, v); },
      "pixel frames are 48x48, the vision tower expects 32x32 (vision_config.image_size)"));

  PixelBatch short_values = batch(2);
  short_values.pixel_values.pop_back();
  EXPECT_TRUE(throws_error(
      ErrorKind::InvalidArgument, [&] { check_pixel_batch(short_values, v); },
      "pixel_values holds 6143 floats, expected 6144 for 2 frames of 3x32x32"));

  PixelBatch short_mask = batch(2);
  short_mask.pixel_attention_mask.assign(32 * 32, 1);
  EXPECT_TRUE(throws_error(
      ErrorKind::InvalidArgument, [&] { check_pixel_batch(short_mask, v); },
      "pixel_attention_mask holds 1024 values, expected 2048"));

  EXPECT_TRUE(throws_error(
      ErrorKind::InvalidArgument, [&] { check_pixel_batch(batch(0), v); }, "no frames"));
  EXPECT_NO_THROW(check_pixel_batch(batch(2), v));
}

}  // namespace
}  // namespace vlmrt::native
