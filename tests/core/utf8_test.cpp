#include "core/utf8.hpp"

#include <gtest/gtest.h>

namespace vlmrt {
namespace {

TEST(Utf8, ValidatesPerTheStandard) {
  EXPECT_TRUE(utf8::is_valid("plain ascii"));
  EXPECT_TRUE(utf8::is_valid("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82"));  // é € 🙂
  EXPECT_FALSE(utf8::is_valid("\xC0\xAF"));                             // overlong '/'
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));                         // a surrogate
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));                     // above U+10FFFF
  EXPECT_EQ(utf8::find_invalid("ab\xE2\x82"), 2u);                      // truncated at the end
}

// "Substitution of maximal subparts": one U+FFFD per maximal invalid prefix, as Rust's
// from_utf8_lossy and WHATWG's TextDecoder produce.
TEST(Utf8, LossyDecodingReplacesMaximalSubparts) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::to_valid_lossy("a\xF0\x9F\x99"
                                 "b"),
            "a" + r + "b");                                    // one for the cut 🙂
  EXPECT_EQ(utf8::to_valid_lossy("\xC0\xAF"), r + r);          // each byte of an overlong
  EXPECT_EQ(utf8::to_valid_lossy("\xED\xA0\x80"), r + r + r);  // surrogate bytes
  EXPECT_EQ(utf8::to_valid_lossy("\xE2\x82"), r);
  EXPECT_TRUE(utf8::ends_with_replacement_char("x" + r));
}

TEST(Utf8, DecodesAndEncodesCodePoints) {
  const std::u32string code_points = utf8::decode("a\xC3\xA9\xF0\x9F\x99\x82");
  EXPECT_EQ(code_points, (std::u32string{U'a', U'\u00E9', U'\U0001F642'}));
  EXPECT_EQ(utf8::encode(code_points), "a\xC3\xA9\xF0\x9F\x99\x82");
  EXPECT_EQ(utf8::decode("\xFF"), std::u32string(1, U'\uFFFD'));
  std::size_t pos = 1;
  EXPECT_EQ(utf8::next_code_point("a\xE2\x82\xAC", pos), U'\u20AC');
  EXPECT_EQ(pos, 4u);
}

}  // namespace
}  // namespace vlmrt
