// Processor::prepare against every golden case of the tiny fixtures (tests/fixtures/models): the
// expanded text, the ids, the prefix-LM span and the pixel values the reference
// (scripts/reference/processing.py) saved.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/json.hpp"
#include "golden_cases.hpp"
#include "models/model_folder.hpp"
#include "models/processor.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

using testing::GoldenCase;

class ProcessorGolden : public ::testing::TestWithParam<GoldenCase> {};

std::string case_name(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.fixture + "_" + info.param.name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

std::vector<ImageRgb8> load_case_images(const GoldenCase& golden) {
  std::vector<ImageRgb8> images;
  for (const auto& file : golden.images) images.push_back(load_image(golden.dir / file));
  return images;
}

// Bit equality, not closeness: the processor must reproduce PIL + numpy exactly (MODELS.md §5).
std::size_t count_bit_differences(std::span<const float> a, std::span<const float> b) {
  std::size_t differing = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) ++differing;
  return differing;
}

TEST_P(ProcessorGolden, ReproducesReferenceTextIdsAndPixels) {
  const GoldenCase& golden = GetParam();
  const Processor processor = Processor::load(ModelFolder::inspect(golden.model_dir));
  const auto images = load_case_images(golden);
  const PreparedPrompt prepared = processor.prepare(images, golden.prompt);

  const json::Json spec = json::read_file(golden.dir / "case.json");
  EXPECT_EQ(prepared.text, spec.at("text").get<std::string>());
  EXPECT_EQ(golden.chat, !is_paligemma(processor.family()));
  const std::vector<tok::TokenId> expected_ids(golden.input_ids.begin(), golden.input_ids.end());
  EXPECT_EQ(prepared.ids, expected_ids);

  if (is_paligemma(processor.family())) {
    // token_type_ids all 0: the whole prompt is prefix (errata 5).
    ASSERT_EQ(golden.token_type_ids.size(), golden.input_ids.size());
    EXPECT_TRUE(std::all_of(golden.token_type_ids.begin(), golden.token_type_ids.end(),
                            [](std::int32_t t) { return t == 0; }));
    EXPECT_EQ(prepared.bidirectional_prefix, prepared.ids.size());
  } else {
    EXPECT_TRUE(golden.token_type_ids.empty());
    EXPECT_EQ(prepared.bidirectional_prefix, 0u);
  }

  ASSERT_EQ(prepared.images.size(), images.size());
  if (!golden.has_images()) {
    EXPECT_EQ(prepared.pixels.num_frames, 0);
    EXPECT_TRUE(prepared.pixels.pixel_values.empty());
    EXPECT_TRUE(prepared.image_token_starts.empty());
    return;
  }
  const auto reference = golden.array("pixel_values");
  const auto shape = prepared.pixels.shape();
  ASSERT_EQ(reference.shape, std::vector<std::int64_t>(shape.begin(), shape.end()));
  ASSERT_EQ(reference.values.size(), prepared.pixels.pixel_values.size());
  EXPECT_EQ(count_bit_differences(prepared.pixels.pixel_values, reference.values), 0u);
  EXPECT_FALSE(prepared.pixels.has_mask());  // one prompt: all pixels real ("all_ones")
}

// Each image's first image-token id sits right after its opening marker — <row_1_col_1> for a
// split image, <global-img> otherwise (MODELS.md §5.3); for PaliGemma the images are 256-token
// (here 16) runs at the start (§5.1). Between two starts lie exactly the earlier image's tokens.
TEST_P(ProcessorGolden, ImageTokenStartsPointAtEachImagesFirstImageToken) {
  const GoldenCase& golden = GetParam();
  const Processor processor = Processor::load(ModelFolder::inspect(golden.model_dir));
  const auto images = load_case_images(golden);
  const PreparedPrompt prepared = processor.plan(images, golden.prompt);
  ASSERT_EQ(prepared.image_token_starts.size(), images.size());
  EXPECT_TRUE(prepared.pixels.pixel_values.empty());  // plan() computes no pixels
  const auto& ids = prepared.ids;
  const tok::TokenId image_id = processor.image_token_id();
  const int seq_len = processor.image_seq_len();
  for (std::size_t k = 0; k < images.size(); ++k) {
    SCOPED_TRACE("image " + std::to_string(k));
    const std::size_t start = prepared.image_token_starts[k];
    ASSERT_LT(start, ids.size());
    EXPECT_EQ(ids[start], image_id);
    const std::size_t end = k + 1 < images.size() ? prepared.image_token_starts[k + 1] : ids.size();
    ASSERT_LT(start, end);
    EXPECT_EQ(std::count(ids.begin() + static_cast<std::ptrdiff_t>(start),
                         ids.begin() + static_cast<std::ptrdiff_t>(end), image_id),
              prepared.images[k].image_tokens(seq_len));
    if (is_paligemma(processor.family())) {
      EXPECT_EQ(start, k * static_cast<std::size_t>(seq_len));
    } else {
      ASSERT_GT(start, 0u);
      const char* marker = prepared.images[k].rows > 0 ? "<row_1_col_1>" : "<global-img>";
      EXPECT_EQ(ids[start - 1], processor.tokenizer().token_to_id(marker)) << marker;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TinyFixtures, ProcessorGolden,
                         ::testing::ValuesIn(testing::golden_cases()), case_name);

}  // namespace
}  // namespace vlmrt
