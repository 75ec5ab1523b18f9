// parse_detections: PaliGemma's <loc>/<seg> answers to boxes in image pixels, and the errors for
// malformed answers.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "vlmrt/detection.hpp"

namespace vlmrt {
namespace {

std::string locs(int y_min, int x_min, int y_max, int x_max) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "<loc%04d><loc%04d><loc%04d><loc%04d>", y_min, x_min, y_max,
                x_max);
  return buffer;
}

std::string segs(int count, int first = 0) {
  std::string text;
  for (int i = 0; i < count; ++i) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "<seg%03d>", (first + i) % 128);
    text += buffer;
  }
  return text;
}

void expect_box(const Detection& d, float x_min, float y_min, float x_max, float y_max) {
  EXPECT_EQ(d.box.x_min, x_min);
  EXPECT_EQ(d.box.y_min, y_min);
  EXPECT_EQ(d.box.x_max, x_max);
  EXPECT_EQ(d.box.y_max, y_max);
}

// The error description ("format error: ...") of parsing `text` for a 640x480 image.
std::string parse_error(const std::string& text) {
  return testing::error_of([&] { parse_detections(text, 640, 480); });
}

TEST(ParseDetections, MapsLocationBinsToPixelsAsValueOver1024TimesSize) {
  // y_min, x_min, y_max, x_max; pixel = value / 1024 * size for min and max edges alike.
  const auto d = parse_detections(locs(256, 512, 768, 1023) + " cat", 640, 480);
  ASSERT_EQ(d.size(), 1u);
  expect_box(d[0], 320.0f, 120.0f, 639.375f, 360.0f);
  EXPECT_EQ(d[0].label, "cat");
  EXPECT_TRUE(d[0].segmentation_codes.empty());
}

TEST(ParseDetections, UsesTheGivenSizeForEachAxis) {
  const std::string text = locs(0, 100, 512, 1023) + " car";
  expect_box(parse_detections(text, 224, 224).at(0), 21.875f, 0.0f, 223.78125f, 112.0f);
  expect_box(parse_detections(text, 1, 1).at(0), 0.09765625f, 0.0f, 0.9990234375f, 0.5f);
  expect_box(parse_detections(text, 1024, 2048).at(0), 100.0f, 0.0f, 1023.0f, 1024.0f);
  expect_box(parse_detections(text, 0, 0).at(0), 0.0f, 0.0f, 0.0f, 0.0f);
}

TEST(ParseDetections, ReadsSeveralObjectsInOrder) {
  const auto d = parse_detections(
      "<loc0123><loc0456><loc0789><loc1011> cat ; <loc0100><loc0200><loc0300><loc0400> dog", 1024,
      1024);
  ASSERT_EQ(d.size(), 2u);
  expect_box(d[0], 456.0f, 123.0f, 1011.0f, 789.0f);
  EXPECT_EQ(d[0].label, "cat");
  expect_box(d[1], 200.0f, 100.0f, 400.0f, 300.0f);
  EXPECT_EQ(d[1].label, "dog");
}

TEST(ParseDetections, KeepsSpacesInsideLabelsAndTrimsAroundThem) {
  const auto d = parse_detections(
      locs(0, 0, 10, 10) + "   traffic light  ;" + locs(1, 1, 2, 2) + "\tfire hydrant\n", 100, 100);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].label, "traffic light");
  EXPECT_EQ(d[1].label, "fire hydrant");
}

TEST(ParseDetections, ToleratesWhitespaceAroundSeparatorsAndATrailingSeparator) {
  const auto d = parse_detections(
      "  " + locs(0, 0, 1, 1) + " a;" + locs(0, 0, 2, 2) + " b  ;   " + locs(0, 0, 3, 3) + " c ; ",
      100, 100);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].label, "a");
  EXPECT_EQ(d[1].label, "b");
  EXPECT_EQ(d[2].label, "c");
}

TEST(ParseDetections, AMissingLabelGivesAnEmptyLabel) {
  const auto d = parse_detections(locs(0, 0, 512, 512) + " ; " + locs(1, 1, 2, 2), 100, 100);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].label, "");
  EXPECT_EQ(d[1].label, "");
  expect_box(d[0], 0.0f, 0.0f, 50.0f, 50.0f);
}

TEST(ParseDetections, ReadsSixteenSegmentationCodesAfterTheLocations) {
  const auto d = parse_detections(
      locs(0, 0, 1023, 1023) + segs(16, 120) + " cat ; " + locs(4, 4, 8, 8) + " dog", 512, 512);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].label, "cat");
  EXPECT_EQ(d[0].segmentation_codes,
            (std::vector<int>{120, 121, 122, 123, 124, 125, 126, 127, 0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_TRUE(d[1].segmentation_codes.empty());
}

TEST(ParseDetections, AcceptsZeroSizeBoxes) {
  const auto d = parse_detections(locs(5, 6, 5, 6) + " dot", 1024, 1024);
  expect_box(d.at(0), 6.0f, 5.0f, 6.0f, 5.0f);
}

TEST(ParseDetections, TextWithoutLocationTokensIsNoObjects) {
  EXPECT_TRUE(parse_detections("a cat sitting on a sofa", 640, 480).empty());
  EXPECT_TRUE(parse_detections("", 640, 480).empty());
  EXPECT_TRUE(parse_detections("cat ; dog ; <b>bird</b>", 640, 480).empty());
}

TEST(ParseDetections, RejectsThreeLocationTokens) {
  const std::string e = parse_error("<loc0100><loc0200><loc0300> cat");
  EXPECT_EQ(e.rfind("format error: ", 0), 0u) << e;
  EXPECT_NE(e.find("'<loc0100><loc0200><loc0300> cat'"), std::string::npos) << e;
  EXPECT_NE(e.find("has 3 <locNNNN> tokens; expected 4"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsFiveLocationTokens) {
  const std::string e = parse_error(locs(1, 2, 3, 4) + "<loc0005> cat");
  EXPECT_NE(e.find("has 5 <locNNNN> tokens; expected 4"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsALocationValueAbove1023) {
  const std::string e = parse_error("<loc0100><loc0200><loc1024><loc0400> cat");
  EXPECT_EQ(e.rfind("format error: ", 0), 0u) << e;
  EXPECT_NE(e.find("'<loc1024>' is out of range; expected a value from 0000 to 1023"),
            std::string::npos)
      << e;
}

TEST(ParseDetections, RejectsLocationTokensThatAreNotFourDigits) {
  for (const char* bad : {"<loc100>", "<loc00100>", "<loc01a0>", "<loc>", "<loc-100>"}) {
    const std::string e = parse_error(std::string(bad) + "<loc0200><loc0300><loc0400> cat");
    EXPECT_NE(e.find(std::string("malformed token '") + bad + "'"), std::string::npos) << e;
    EXPECT_NE(e.find("expected <locNNNN> with exactly 4 digits"), std::string::npos) << e;
  }
}

TEST(ParseDetections, RejectsAnUnterminatedToken) {
  const std::string e = parse_error("<loc0100><loc0200><loc0300><loc0400");
  EXPECT_NE(e.find("unterminated token '<loc0400'"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsASegmentationCountOtherThanSixteen) {
  for (const int count : {1, 15, 17}) {
    const std::string e = parse_error(locs(1, 2, 3, 4) + segs(count) + " cat");
    EXPECT_NE(e.find("has " + std::to_string(count) +
                     " <segNNN> tokens; expected 0 (detection) or 16 (segmentation)"),
              std::string::npos)
        << e;
  }
}

TEST(ParseDetections, RejectsMalformedOrOutOfRangeSegmentationTokens) {
  std::string e = parse_error(locs(1, 2, 3, 4) + "<seg128>" + segs(15) + " cat");
  EXPECT_NE(e.find("'<seg128>' is out of range; expected a value from 000 to 127"),
            std::string::npos)
      << e;
  e = parse_error(locs(1, 2, 3, 4) + "<seg0001>" + segs(15) + " cat");
  EXPECT_NE(e.find("malformed token '<seg0001>'; expected <segNNN> with exactly 3 digits"),
            std::string::npos)
      << e;
}

TEST(ParseDetections, RejectsSegmentationTokensBeforeTheLocations) {
  const std::string e = parse_error(segs(16) + locs(1, 2, 3, 4) + " cat");
  EXPECT_NE(e.find("a <locNNNN> token follows <segNNN> tokens"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsSegmentationTokensWithoutLocations) {
  const std::string e = parse_error(segs(16) + " cat");
  EXPECT_NE(e.find("has 0 <locNNNN> tokens; expected 4"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsYMinAboveYMax) {
  const std::string e = parse_error("<loc0500><loc0100><loc0400><loc0200> cat");
  EXPECT_EQ(e.rfind("format error: ", 0), 0u) << e;
  EXPECT_NE(e.find("'<loc0500><loc0100><loc0400><loc0200> cat'"), std::string::npos) << e;
  EXPECT_NE(e.find("y_min (500) is greater than y_max (400)"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsXMinAboveXMax) {
  const std::string e = parse_error("<loc0100><loc0500><loc0400><loc0200> cat");
  EXPECT_NE(e.find("x_min (500) is greater than x_max (200)"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsObjectsNotSeparatedBySemicolons) {
  const std::string e = parse_error(locs(1, 2, 3, 4) + " cat " + locs(5, 6, 7, 8) + " dog");
  EXPECT_NE(e.find("inside or after the label 'cat <loc0005>"), std::string::npos) << e;
  EXPECT_NE(e.find("';' between objects"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsTextBeforeTheTokens) {
  const std::string e = parse_error("I see " + locs(1, 2, 3, 4) + " cat");
  EXPECT_EQ(e.rfind("format error: ", 0), 0u) << e;
}

TEST(ParseDetections, RejectsAnObjectWithoutTokensAmongObjectsWithThem) {
  const std::string e = parse_error(locs(1, 2, 3, 4) + " cat ; dog");
  EXPECT_NE(e.find("object 'dog': has 0 <locNNNN> tokens; expected 4"), std::string::npos) << e;
}

TEST(ParseDetections, CutsVeryLongFragmentsInMessages) {
  const std::string e = parse_error("<loc0001> " + std::string(5000, 'x'));
  EXPECT_LT(e.size(), 600u);
  EXPECT_NE(e.find("...'"), std::string::npos) << e;
}

TEST(ParseDetections, RejectsNegativeImageSizes) {
  const std::string e =
      testing::error_of([] { parse_detections(locs(1, 2, 3, 4) + " cat", -1, 10); });
  EXPECT_EQ(e.rfind("invalid argument: ", 0), 0u) << e;
  EXPECT_NE(e.find("-1x10"), std::string::npos) << e;
}

}  // namespace
}  // namespace vlmrt
