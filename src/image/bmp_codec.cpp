// BMP decoding, following Pillow's BmpImagePlugin (9.4) header rules and raw modes.
//
// Supported: OS/2 v1 (12-byte) and Windows v3/v4/v5 (40/64/108/124-byte) headers; 1/4/8-bit
// palettes, 16-bit 5-5-5 (BI_RGB) and 5-5-5/5-6-5 bit fields, 24-bit, 32-bit BI_RGB and the
// 32-bit bit-field layouts Pillow accepts; bottom-up and top-down rows. RLE4/RLE8, JPEG/PNG
// payloads and other bit-field layouts are refused as Unsupported (Pillow refuses the latter too).
#include <array>
#include <cstring>
#include <string>

#include "image/codecs.hpp"

namespace vlmrt::image_codec {
namespace {

constexpr std::string_view kFormat = "BMP";

std::uint32_t u16le(const std::uint8_t* p) {
  return p[0] | (p[1] << 8);
}
std::uint32_t u32le(const std::uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t{p[3]} << 24);
}

enum class Layout { Palette1, Palette4, Palette8, Bgr15, Bgr16, Bgr24, Bytes32 };

// 16-bit samples expand as Pillow's Unpack.c does: v·255/max in integer arithmetic.
inline std::uint8_t scale5(unsigned v) {
  return static_cast<std::uint8_t>(v * 255 / 31);
}
inline std::uint8_t scale6(unsigned v) {
  return static_cast<std::uint8_t>(v * 255 / 63);
}

template <Layout kLayout>
void unpack_row(const std::uint8_t* in, std::uint8_t* out, int width,
                const std::array<std::array<std::uint8_t, 3>, 256>& table,
                const std::array<int, 3>& byte_of) {
  for (int x = 0; x < width; ++x, out += 3) {
    if constexpr (kLayout == Layout::Palette1) {
      std::memcpy(out, table[(in[x >> 3] >> (7 - (x & 7))) & 1].data(), 3);
    } else if constexpr (kLayout == Layout::Palette4) {
      std::memcpy(out, table[(in[x >> 1] >> ((x & 1) ? 0 : 4)) & 15].data(), 3);
    } else if constexpr (kLayout == Layout::Palette8) {
      std::memcpy(out, table[in[x]].data(), 3);
    } else if constexpr (kLayout == Layout::Bgr15) {
      const unsigned p = u16le(in + 2 * x);
      out[0] = scale5((p >> 10) & 31);
      out[1] = scale5((p >> 5) & 31);
      out[2] = scale5(p & 31);
    } else if constexpr (kLayout == Layout::Bgr16) {
      const unsigned p = u16le(in + 2 * x);
      out[0] = scale5((p >> 11) & 31);
      out[1] = scale6((p >> 5) & 63);
      out[2] = scale5(p & 31);
    } else if constexpr (kLayout == Layout::Bgr24) {
      out[0] = in[3 * x + 2];
      out[1] = in[3 * x + 1];
      out[2] = in[3 * x];
    } else {
      const std::uint8_t* p = in + 4 * x;
      out[0] = p[byte_of[0]];
      out[1] = p[byte_of[1]];
      out[2] = p[byte_of[2]];
    }
  }
}

}  // namespace

ImageRgb8 decode_bmp(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     std::string_view source_name) {
  const std::uint8_t* d = bytes.data();
  const std::size_t size = bytes.size();
  if (size < 18) throw_format(source_name, kFormat, "the file header is truncated");
  std::uint64_t offset = u32le(d + 10);
  const std::uint32_t header_size = u32le(d + 14);
  if (header_size != 12 && header_size != 40 && header_size != 64 && header_size != 108 &&
      header_size != 124)
    throw_unsupported(source_name, kFormat,
                      "unsupported info header size " + std::to_string(header_size) +
                          " (expected 12, 40, 64, 108 or 124)");
  if (size < 14 + std::size_t{header_size})
    throw_format(source_name, kFormat, "the info header is truncated");
  const std::uint8_t* h = d + 18;  // the info header after its size field

  std::int64_t width = 0, height = 0;
  std::uint32_t bits = 0, compression = 0, colors = 0;
  bool top_down = false;
  std::size_t palette_entry = 4;
  std::uint32_t masks[4] = {0, 0, 0, 0};
  if (header_size == 12) {
    width = u16le(h);
    height = u16le(h + 2);
    bits = u16le(h + 6);
    palette_entry = 3;
  } else {
    // Pillow treats the height as negative (top-down) when its top byte is 0xFF.
    top_down = h[7] == 0xFF;
    width = u32le(h);
    const std::uint32_t raw_height = u32le(h + 4);
    height = top_down ? (std::int64_t{1} << 32) - raw_height : raw_height;
    bits = u16le(h + 10);
    compression = u32le(h + 12);
    colors = u32le(h + 28);
    if (compression == 3) {
      if (header_size >= 56) {
        for (int i = 0; i < 4; ++i) masks[i] = u32le(h + 36 + 4 * i);
      } else {
        if (size < 14 + 40 + 12) throw_format(source_name, kFormat, "the bit masks are truncated");
        for (int i = 0; i < 3; ++i) masks[i] = u32le(d + 54 + 4 * i);
      }
    }
  }
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32)
    throw_unsupported(source_name, kFormat, "unsupported bit depth " + std::to_string(bits));
  check_dimensions(width, height, options, source_name, kFormat);
  const std::uint64_t palette_colors = colors != 0 ? colors : (std::uint64_t{1} << bits);
  // Pillow: pixel data that starts right after the header really starts after the palette.
  if (offset == 14 + std::uint64_t{header_size} && bits <= 8) offset += 4 * palette_colors;

  Layout layout = Layout::Bgr24;
  std::array<int, 3> byte_of = {2, 1, 0};  // 32-bit: where R, G, B sit in each 4-byte pixel
  switch (bits) {
    case 1:
      layout = Layout::Palette1;
      break;
    case 4:
      layout = Layout::Palette4;
      break;
    case 8:
      layout = Layout::Palette8;
      break;
    case 16:
      layout = Layout::Bgr15;
      break;
    case 24:
      layout = Layout::Bgr24;
      break;
    default:
      layout = Layout::Bytes32;
      break;
  }
  if (compression == 3) {  // BI_BITFIELDS: only the layouts Pillow knows
    const auto is = [&](std::uint32_t r, std::uint32_t g, std::uint32_t b) {
      return masks[0] == r && masks[1] == g && masks[2] == b;
    };
    bool known = false;
    if (bits == 32) {
      const std::uint32_t a = masks[3];
      if ((is(0xFF0000, 0xFF00, 0xFF) && (a == 0 || a == 0xFF000000)) || (is(0, 0, 0) && a == 0)) {
        byte_of = {2, 1, 0};  // BGRX / BGRA
        known = true;
      } else if (is(0xFF000000, 0xFF0000, 0xFF00) && (a == 0 || a == 0xFF)) {
        byte_of = {3, 2, 1};  // XBGR / ABGR
        known = true;
      } else if (is(0xFF, 0xFF00, 0xFF0000) && a == 0xFF000000) {
        byte_of = {0, 1, 2};  // RGBA
        known = true;
      }
    } else if (bits == 24) {
      known = is(0xFF0000, 0xFF00, 0xFF);
    } else if (bits == 16) {
      known = is(0xF800, 0x7E0, 0x1F) || is(0x7C00, 0x3E0, 0x1F);
      if (is(0xF800, 0x7E0, 0x1F)) layout = Layout::Bgr16;
    }
    if (!known)
      throw_unsupported(source_name, kFormat,
                        "unsupported bit-field layout for " + std::to_string(bits) + "-bit pixels");
  } else if (compression == 1 || compression == 2) {
    throw_unsupported(source_name, kFormat,
                      "run-length encoded (RLE4/RLE8) bitmaps are not supported; convert the "
                      "image to PNG");
  } else if (compression != 0) {
    throw_unsupported(source_name, kFormat,
                      "unsupported compression type " + std::to_string(compression));
  }

  std::array<std::array<std::uint8_t, 3>, 256> table;
  for (int i = 0; i < 256; ++i) {
    const auto v = static_cast<std::uint8_t>(i);
    table[i] = {v, v, v};  // Pillow's default palette for indices past the file's palette
  }
  if (bits <= 8) {
    if (palette_colors > 65536)
      throw_unsupported(
          source_name, kFormat,
          "palette of " + std::to_string(palette_colors) + " colours (at most 65536)");
    const std::size_t start = 14 + std::size_t{header_size};
    if (start + palette_colors * palette_entry > size)
      throw_format(source_name, kFormat, "the palette is truncated");
    for (std::uint64_t i = 0; i < palette_colors && i < 256; ++i) {
      const std::uint8_t* e = d + start + i * palette_entry;
      table[i] = {e[2], e[1], e[0]};
    }
  }

  const std::uint64_t stride = ((static_cast<std::uint64_t>(width) * bits + 31) >> 3) & ~3ULL;
  if (offset > size || stride * static_cast<std::uint64_t>(height) > size - offset)
    throw_format(source_name, kFormat,
                 "the pixel data is truncated (" + std::to_string(stride * height) +
                     " bytes expected at offset " + std::to_string(offset) + ", file has " +
                     std::to_string(size) + " bytes)");

  ImageRgb8 image = allocate_rgb(static_cast<int>(width), static_cast<int>(height));
  const int w = image.width(), rows = image.height();
  const auto run = [&](auto unpack) {
    for (int y = 0; y < rows; ++y) {
      const int file_row = top_down ? y : rows - 1 - y;
      unpack(d + offset + static_cast<std::uint64_t>(file_row) * stride, image.row(y), w, table,
             byte_of);
    }
  };
  switch (layout) {
    case Layout::Palette1:
      run(unpack_row<Layout::Palette1>);
      break;
    case Layout::Palette4:
      run(unpack_row<Layout::Palette4>);
      break;
    case Layout::Palette8:
      run(unpack_row<Layout::Palette8>);
      break;
    case Layout::Bgr15:
      run(unpack_row<Layout::Bgr15>);
      break;
    case Layout::Bgr16:
      run(unpack_row<Layout::Bgr16>);
      break;
    case Layout::Bgr24:
      run(unpack_row<Layout::Bgr24>);
      break;
    case Layout::Bytes32:
      run(unpack_row<Layout::Bytes32>);
      break;
  }
  return image;
}

}  // namespace vlmrt::image_codec
