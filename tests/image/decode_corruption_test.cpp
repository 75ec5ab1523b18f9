// decode_image on hostile input: truncation, wrong magic, huge or zero sizes, broken EXIF and
// random mutations must all end in a typed vlmrt::Error (never a crash, never a huge allocation).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "decode_corpus.hpp"
#include "image/exif.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {
namespace {

using decode_testing::corpus_file;
using Bytes = std::vector<std::uint8_t>;

Bytes text_bytes(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

// The error decode_image throws, or nullopt when it succeeds. Any other exception fails the test.
std::optional<Error> decode_error(const Bytes& bytes, const DecodeOptions& options = {}) {
  try {
    decode_image(bytes, options, "hostile.bin");
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "non-vlmrt exception: " << e.what();
  }
  return std::nullopt;
}

ErrorKind expect_error_kind(const Bytes& bytes, const DecodeOptions& options = {}) {
  const auto error = decode_error(bytes, options);
  if (!error) {
    ADD_FAILURE() << "decoding succeeded";
    return ErrorKind::Internal;
  }
  return error->kind();
}

void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_le32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A PNG signature and IHDR (CRC left zero: the size check comes before libpng reads it).
Bytes png_with_size(std::uint32_t width, std::uint32_t height) {
  static constexpr std::uint8_t kHead[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                             0,    0,   0,   13,  'I',  'H',  'D',  'R'};
  Bytes b(33, 0);  // sized up front: GCC 12 -O3 misreports growing a 16-byte vector
  std::copy(std::begin(kHead), std::end(kHead), b.begin());
  put_be32(b, 16, width);
  put_be32(b, 20, height);
  b[24] = 8;  // bit depth
  b[25] = 2;  // RGB
  return b;
}

// A 24-bit BMP header with the given size fields (no pixel data).
Bytes bmp_with_size(std::uint32_t width, std::uint32_t height, std::uint32_t compression = 0,
                    std::uint16_t bits = 24) {
  Bytes b(54, 0);
  b[0] = 'B';
  b[1] = 'M';
  put_le32(b, 10, 54);
  put_le32(b, 14, 40);
  put_le32(b, 18, width);
  put_le32(b, 22, height);
  b[26] = 1;
  b[28] = static_cast<std::uint8_t>(bits);
  put_le32(b, 30, compression);
  return b;
}

const char* const kTruncationFiles[] = {"jpeg_420_64x48.jpg",
                                        "jpeg_progressive_420.jpg",
                                        "jpeg_gray.jpg",
                                        "jpeg_cmyk.jpg",
                                        "png_rgb8.png",
                                        "png_adam7_rgb8.png",
                                        "png_palette4.png",
                                        "png_gray16.png",
                                        "bmp_rgb24.bmp",
                                        "bmp_palette4.bmp",
                                        "bmp_rgb16_565_bitfields.bmp",
                                        "bmp_os2_palette8.bmp",
                                        "pnm_p6.pnm",
                                        "pnm_p5_maxval1000.pnm",
                                        "pnm_p4.pnm",
                                        "pnm_p3_plain.pnm"};

TEST(DecodeCorruption, TruncatedFilesOfEveryFormatAreFormatErrors) {
  for (const char* name : kTruncationFiles) {
    const Bytes full = corpus_file(name);
    ASSERT_GT(full.size(), 60u) << name;
    const std::size_t n = full.size();
    for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5},
                                  std::size_t{8}, std::size_t{13}, std::size_t{20}, std::size_t{33},
                                  std::size_t{54}, n / 4, n / 2, 3 * n / 4, n - 25}) {
      if (cut + 20 > n) continue;  // the last bytes hold only trailers (IEND, EOI, padding)
      const Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
      const auto error = decode_error(part);
      ASSERT_TRUE(error) << name << " cut to " << cut << " bytes decoded";
      // Cutting inside the magic bytes leaves an unknown format; anything longer is corrupt.
      if (cut >= 8) {
        EXPECT_EQ(error->kind(), ErrorKind::Format) << name << " @" << cut << ": " << error->what();
        EXPECT_NE(std::string(error->what()).find("hostile.bin"), std::string::npos);
      } else {
        EXPECT_TRUE(error->kind() == ErrorKind::Format || error->kind() == ErrorKind::Unsupported)
            << name << " @" << cut << ": " << error->what();
      }
    }
  }
}

TEST(DecodeCorruption, UnknownFormatsAreUnsupportedAndListWhatIsSupported) {
  for (const std::string& text :
       {std::string("GIF89a\x01\x00\x01\x00", 10), std::string("RIFF"),
        std::string("P7\nWIDTH 1\n"), std::string(""), std::string("\xff\xd8", 2)}) {
    const auto error = decode_error(text_bytes(text));
    ASSERT_TRUE(error);
    EXPECT_EQ(error->kind(), ErrorKind::Unsupported) << error->what();
    EXPECT_NE(std::string(error->what()).find("JPEG, PNG, BMP"), std::string::npos)
        << error->what();
  }
  EXPECT_EQ(expect_error_kind(text_bytes("P6x 1 1 255\n...")), ErrorKind::Unsupported);
}

TEST(DecodeCorruption, HugeDeclaredSizesAreLimitExceededBeforeAllocation) {
  const auto error = decode_error(png_with_size(100000, 100000));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), ErrorKind::LimitExceeded);
  const std::string message = error->what();
  EXPECT_NE(message.find("100000x100000"), std::string::npos) << message;
  EXPECT_NE(message.find("100000000"), std::string::npos) << message;   // the cap
  EXPECT_NE(message.find("max_pixels"), std::string::npos) << message;  // how to raise it

  EXPECT_EQ(expect_error_kind(png_with_size(0x7fffffff, 0x7fffffff)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(png_with_size(0xffffffff, 1)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(bmp_with_size(0x7fffffff, 0x7fffffff)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(bmp_with_size(0x80000000, 2)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(text_bytes("P6\n100000 100000\n255\n")), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(text_bytes("P4 9999999999 1\n")), ErrorKind::LimitExceeded);

  // JPEG: patch the SOF0 frame size of a real file to 65000 x 65000.
  Bytes jpeg = corpus_file("jpeg_444_64x48.jpg");
  std::size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
  ASSERT_LT(sof + 9, jpeg.size());
  jpeg[sof + 5] = jpeg[sof + 7] = 0xFD;
  jpeg[sof + 6] = jpeg[sof + 8] = 0xE8;
  EXPECT_EQ(expect_error_kind(jpeg), ErrorKind::LimitExceeded);
}

TEST(DecodeCorruption, MaxPixelsIsTheExactCap) {
  const Bytes png = corpus_file("png_rgb8.png");  // 31 x 17 = 527 pixels
  DecodeOptions options;
  options.max_pixels = 526;
  EXPECT_EQ(expect_error_kind(png, options), ErrorKind::LimitExceeded);
  options.max_pixels = 527;
  EXPECT_FALSE(decode_error(png, options));
}

TEST(DecodeCorruption, ZeroSizesAreRejected) {
  EXPECT_EQ(expect_error_kind(png_with_size(0, 10)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(png_with_size(10, 0)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(bmp_with_size(0, 10)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(bmp_with_size(10, 0)), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(text_bytes("P5 0 3 255\n")), ErrorKind::LimitExceeded);
  EXPECT_EQ(expect_error_kind(text_bytes("P5 -4 3 255\n")), ErrorKind::LimitExceeded);
  // libjpeg itself refuses a zero-height frame (DNL) before vlmrt sees the size.
  Bytes jpeg = corpus_file("jpeg_444_64x48.jpg");
  std::size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
  jpeg[sof + 5] = jpeg[sof + 6] = 0;
  const ErrorKind kind = expect_error_kind(jpeg);
  EXPECT_TRUE(kind == ErrorKind::Format || kind == ErrorKind::LimitExceeded);
}

TEST(DecodeCorruption, UnsupportedBmpVariantsSaySo) {
  const auto rle = decode_error(bmp_with_size(4, 4, 1, 8));
  ASSERT_TRUE(rle);
  EXPECT_EQ(rle->kind(), ErrorKind::Unsupported);
  EXPECT_NE(std::string(rle->what()).find("RLE"), std::string::npos) << rle->what();
  EXPECT_EQ(expect_error_kind(bmp_with_size(4, 4, 4)), ErrorKind::Unsupported);     // JPEG payload
  EXPECT_EQ(expect_error_kind(bmp_with_size(4, 4, 0, 2)), ErrorKind::Unsupported);  // 2-bit
  Bytes odd_header = bmp_with_size(4, 4);
  put_le32(odd_header, 14, 56);
  EXPECT_EQ(expect_error_kind(odd_header), ErrorKind::Unsupported);
  Bytes odd_masks = bmp_with_size(4, 4, 3, 16);  // bit fields 0x0F00/0x00F0/0x000F (4-4-4)
  odd_masks.resize(66 + 32, 0);
  put_le32(odd_masks, 54, 0xF00);
  put_le32(odd_masks, 58, 0xF0);
  put_le32(odd_masks, 62, 0xF);
  EXPECT_EQ(expect_error_kind(odd_masks), ErrorKind::Unsupported);
}

TEST(DecodeCorruption, PnmHeaderAndSampleErrorsAreFormatErrors) {
  EXPECT_EQ(expect_error_kind(text_bytes("P5 2 2 0\n....")), ErrorKind::Format);
  EXPECT_EQ(expect_error_kind(text_bytes("P5 2 2 65536\n....")), ErrorKind::Format);
  EXPECT_EQ(expect_error_kind(text_bytes("P5 2x 2 255\n....")), ErrorKind::Format);
  EXPECT_EQ(expect_error_kind(text_bytes("P5 12345678901 2 255\n")), ErrorKind::Format);
  EXPECT_EQ(expect_error_kind(text_bytes("P2 2 1 10\n3 11\n")), ErrorKind::Format);  // > maxval
  EXPECT_EQ(expect_error_kind(text_bytes("P2 2 1 10\n3 -1\n")), ErrorKind::Format);
  EXPECT_EQ(expect_error_kind(text_bytes("P1 2 1\n0 2\n")), ErrorKind::Format);
  EXPECT_EQ(expect_error_kind(text_bytes("P3 1 1 255\n1 2\n")), ErrorKind::Format);  // short
}

// ---------------------------------------------------------------------------- EXIF parser
Bytes tiff_ifd(bool big_endian, std::vector<std::array<std::uint32_t, 4>> entries,
               std::uint32_t ifd_offset = 8) {
  Bytes b = big_endian ? Bytes{'M', 'M', 0, 42} : Bytes{'I', 'I', 42, 0};
  const auto put = [&](std::uint32_t v, int size) {
    for (int i = 0; i < size; ++i) {
      const int shift = big_endian ? 8 * (size - 1 - i) : 8 * i;
      b.push_back(static_cast<std::uint8_t>(v >> shift));
    }
  };
  put(ifd_offset, 4);
  put(static_cast<std::uint32_t>(entries.size()), 2);
  for (const auto& [tag, type, count, value] : entries) {
    put(tag, 2);
    put(type, 2);
    put(count, 4);
    if (type == 3) {
      put(value, 2);
      put(0, 2);
    } else {
      put(value, 4);
    }
  }
  put(0, 4);
  return b;
}

TEST(DecodeExif, ReadsOrientationInBothByteOrders) {
  using image_codec::exif_orientation;
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 3, 1, 6}})), 6);
  EXPECT_EQ(exif_orientation(tiff_ifd(true, {{0x0100, 4, 1, 9}, {0x0112, 3, 1, 8}})), 8);
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 4, 1, 3}})), 3);  // LONG works too
  Bytes with_header = {'E', 'x', 'i', 'f', 0, 0};
  const Bytes tiff = tiff_ifd(true, {{0x0112, 3, 1, 5}});
  with_header.insert(with_header.end(), tiff.begin(), tiff.end());
  EXPECT_EQ(exif_orientation(with_header), 5);
  // Pillow keeps the last of repeated tags.
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 3, 1, 6}, {0x0112, 3, 1, 2}})), 2);
}

TEST(DecodeExif, MalformedOrientationMeansUpright) {
  using image_codec::exif_orientation;
  EXPECT_EQ(exif_orientation({}), 1);
  EXPECT_EQ(exif_orientation(text_bytes("II*")), 1);
  EXPECT_EQ(exif_orientation(text_bytes("XX*\0\x08\0\0\0")), 1);
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 3, 1, 6}}, 0xFFFFFFF0u)), 1);
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 3, 1, 6}}, 0xFFFFFFFFu)), 1);
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 3, 2, 6}})), 1);  // a tuple in Pillow
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 2, 1, 6}})), 1);  // ASCII
  EXPECT_EQ(exif_orientation(tiff_ifd(false, {{0x0112, 3, 1, 9}})), 1);
  // An entry count far past the data: entries are bounds-checked one by one.
  Bytes huge_count = tiff_ifd(false, {{0x0100, 3, 1, 1}});
  huge_count[8] = huge_count[9] = 0xFF;
  EXPECT_EQ(exif_orientation(huge_count), 1);
  // The orientation entry itself cut short.
  Bytes cut = tiff_ifd(false, {{0x0112, 3, 1, 6}});
  cut.resize(8 + 2 + 6);
  EXPECT_EQ(exif_orientation(cut), 1);
}

TEST(DecodeExif, FindsOnlyWellFormedJpegExifSegments) {
  using image_codec::find_jpeg_exif;
  const Bytes good = {0xFF, 0xD8, 0xFF, 0xE1, 0, 9, 'E', 'x', 'i', 'f', 0, 0, 'I'};
  EXPECT_EQ(find_jpeg_exif(good).size(), 7u);
  Bytes past_end = good;
  past_end[5] = 200;  // segment length past the end of the data
  EXPECT_TRUE(find_jpeg_exif(past_end).empty());
  const Bytes after_sos = {0xFF, 0xD8, 0xFF, 0xDA, 0,   2,   0xFF, 0xE1,
                           0,    8,    'E',  'x',  'i', 'f', 0,    0};
  EXPECT_TRUE(find_jpeg_exif(after_sos).empty());
  EXPECT_TRUE(find_jpeg_exif(Bytes{0xFF, 0xD8, 0xFF, 0xE1, 0, 1}).empty());  // length < 2
}

// ---------------------------------------------------------------------------- mutations
TEST(DecodeCorruption, RandomMutationsEndInSuccessOrTypedErrors) {
  std::mt19937 rng(1234);
  DecodeOptions options;
  options.max_pixels = 1 << 20;
  int failures = 0, successes = 0;
  for (const char* name : kTruncationFiles) {
    const Bytes original = corpus_file(name);
    for (int trial = 0; trial < 150; ++trial) {
      Bytes mutated = original;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < flips; ++i)
        mutated[rng() % mutated.size()] = static_cast<std::uint8_t>(rng());
      if (trial % 3 == 0) mutated.resize(rng() % mutated.size() + 1);
      try {
        decode_image(mutated, options, name);
        ++successes;
      } catch (const Error&) {
        ++failures;
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << " trial " << trial << ": " << e.what();
      }
    }
  }
  EXPECT_GT(failures, 0);
  EXPECT_GT(successes, 0);
}

}  // namespace
}  // namespace vlmrt
