// PNG decoding and encoding with libpng 1.6, matching Pillow's PNG plugin (PngImagePlugin._MODES
// followed by convert("RGB")).
//
// libpng reports errors by longjmp. Each function that calls setjmp below holds only trivially
// destructible locals, and every C++ object (buffers, the libpng structs' RAII owner) lives in its
// caller, so a longjmp never skips a destructor; the caller turns the failure into vlmrt::Error.
#include <png.h>

#include <array>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

#include "image/codecs.hpp"
#include "image/exif.hpp"

namespace vlmrt::image_codec {
namespace {

constexpr std::string_view kFormat = "PNG";

struct PngIo {
  std::span<const std::uint8_t> input;
  std::size_t position = 0;
  std::vector<std::uint8_t>* output = nullptr;
  char message[256] = {};
};

void on_error(png_structp png, png_const_charp message) {
  auto* io = static_cast<PngIo*>(png_get_error_ptr(png));
  std::snprintf(io->message, sizeof io->message, "%s", message ? message : "unknown error");
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // Pillow ignores recoverable problems too

void on_read(png_structp png, png_bytep out, std::size_t length) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  if (length > io->input.size() - io->position)
    png_error(png, "unexpected end of data (the file is truncated)");
  std::memcpy(out, io->input.data() + io->position, length);
  io->position += length;
}

void on_write(png_structp png, png_bytep data, std::size_t length) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    io->output->insert(io->output->end(), data, data + length);
  } catch (...) {
    ok = false;
  }
  if (!ok) png_error(png, "out of memory while encoding");
}

void on_flush(png_structp) {}

struct ReadStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadStructs() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

struct WriteStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~WriteStructs() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

struct Header {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
};

bool read_header(png_structp png, png_infop info, Header* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  // Our own max_pixels check gives the better message; libpng's default cap is 1e6 per side.
  png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  // Pillow maps out-of-range palette indices through its default palette instead of failing.
  png_set_check_for_invalid_index(png, 0);
  png_read_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->bit_depth = png_get_bit_depth(png, info);
  header->color_type = png_get_color_type(png, info);
  return true;
}

// Sets the transforms so each row holds `bytes_per_pixel` bytes per pixel: palette indices (1),
// gray (1, or 2 big-endian bytes for 16-bit gray), or RGB (3). Returns 0 after a libpng error.
bool read_pixels(png_structp png, png_infop info, const Header* header, png_bytepp rows,
                 std::size_t expected_row_bytes, bool* row_bytes_match) {
  if (setjmp(png_jmpbuf(png))) return false;
  // No gamma, no tRNS expansion, no alpha compositing: Pillow ignores gAMA and convert("RGB")
  // simply drops alpha. 16-bit colour keeps the high byte (Pillow's "RGB;16B"/"LA;16B").
  if (header->bit_depth < 8) {
    if (header->color_type == PNG_COLOR_TYPE_PALETTE)
      png_set_packing(png);
    else
      png_set_expand_gray_1_2_4_to_8(png);  // Pillow's "1"/"L;2"/"L;4" scale the same way
  }
  if (header->bit_depth == 16 && header->color_type != PNG_COLOR_TYPE_GRAY) png_set_strip_16(png);
  if (header->color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  *row_bytes_match = png_get_rowbytes(png, info) == expected_row_bytes;
  if (!*row_bytes_match) return true;
  png_read_image(png, rows);
  return true;
}

bool read_end(png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_end(png, info);
  return true;
}

bool write_png(png_structp png, png_infop info, const ImageRgb8* image, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image->width()),
               static_cast<png_uint_32>(image->height()), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

}  // namespace

ImageRgb8 decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     std::string_view source_name) {
  // Check the IHDR size before libpng sees it, so zero, negative-looking and huge sizes all get
  // the same LimitExceeded message as the other formats (libpng would say "Invalid IHDR data").
  if (bytes.size() >= 24 && std::memcmp(bytes.data() + 12, "IHDR", 4) == 0) {
    const auto be32 = [&](std::size_t o) {
      return (std::uint32_t{bytes[o]} << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) |
             bytes[o + 3];
    };
    check_dimensions(be32(16), be32(20), options, source_name, kFormat);
  }
  PngIo io{bytes};
  ReadStructs s;
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
  if (s.png) s.info = png_create_info_struct(s.png);
  if (!s.png || !s.info)
    throw Error(ErrorKind::Internal, std::string(source_name) + ": PNG: cannot create a decoder");
  png_set_read_fn(s.png, &io, on_read);

  Header header;
  if (!read_header(s.png, s.info, &header)) throw_format(source_name, kFormat, io.message);
  check_dimensions(header.width, header.height, options, source_name, kFormat);
  const int width = static_cast<int>(header.width), height = static_cast<int>(header.height);

  const bool palette = header.color_type == PNG_COLOR_TYPE_PALETTE;
  const bool gray16 = header.color_type == PNG_COLOR_TYPE_GRAY && header.bit_depth == 16;
  const bool direct_rgb = (header.color_type & PNG_COLOR_MASK_COLOR) && !palette;
  const std::size_t bytes_per_pixel = direct_rgb ? 3 : (gray16 ? 2 : 1);

  ImageRgb8 image = allocate_rgb(width, height);
  std::vector<std::uint8_t> staging;  // palette indices or gray samples
  if (!direct_rgb) staging.resize(static_cast<std::size_t>(width) * height * bytes_per_pixel);
  const std::size_t row_bytes = static_cast<std::size_t>(width) * bytes_per_pixel;
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  for (int y = 0; y < height; ++y)
    rows[y] = direct_rgb ? image.row(y) : staging.data() + static_cast<std::size_t>(y) * row_bytes;

  bool row_bytes_match = false;
  if (!read_pixels(s.png, s.info, &header, rows.data(), row_bytes, &row_bytes_match))
    throw_format(source_name, kFormat, io.message);
  if (!row_bytes_match)
    throw Error(ErrorKind::Internal,
                std::string(source_name) + ": PNG: unexpected row size after libpng transforms");

  if (palette) {
    // Entries the PLTE lacks keep Pillow's default palette value (i, i, i).
    std::array<std::array<std::uint8_t, 3>, 256> table;
    for (int i = 0; i < 256; ++i) {
      const auto v = static_cast<std::uint8_t>(i);
      table[i] = {v, v, v};
    }
    png_colorp entries = nullptr;
    int count = 0;
    if (png_get_PLTE(s.png, s.info, &entries, &count) != 0 && entries) {
      for (int i = 0; i < count && i < 256; ++i)
        table[i] = {entries[i].red, entries[i].green, entries[i].blue};
    }
    const std::uint8_t* in = staging.data();
    std::uint8_t* out = image.data();
    for (std::size_t i = 0, n = image.pixel_count(); i < n; ++i, out += 3)
      std::memcpy(out, table[in[i]].data(), 3);
  } else if (gray16) {
    // Pillow opens 16-bit gray as mode "I", and I → RGB clamps to 0..255 (it does not take the
    // high byte): 256 and above all become white.
    const std::uint8_t* in = staging.data();
    std::uint8_t* out = image.data();
    for (std::size_t i = 0, n = image.pixel_count(); i < n; ++i, in += 2, out += 3) {
      const unsigned v = (unsigned{in[0]} << 8) | in[1];
      const auto g = static_cast<std::uint8_t>(v > 255 ? 255 : v);
      out[0] = out[1] = out[2] = g;
    }
  } else if (!direct_rgb) {
    const std::uint8_t* in = staging.data();
    std::uint8_t* out = image.data();
    for (std::size_t i = 0, n = image.pixel_count(); i < n; ++i, out += 3)
      out[0] = out[1] = out[2] = in[i];
  }

  if (options.apply_exif_orientation) {
    read_end(s.png, s.info);  // eXIf may follow IDAT; a broken tail does not spoil the pixels
    png_bytep exif = nullptr;
    png_uint_32 exif_size = 0;
    if (png_get_eXIf_1(s.png, s.info, &exif_size, &exif) != 0 && exif) {
      const int orientation = exif_orientation({exif, exif_size});
      if (orientation != 1) image = apply_orientation(std::move(image), orientation);
    }
  }
  return image;
}

std::vector<std::uint8_t> encode_png(const ImageRgb8& image, std::string_view target_name) {
  std::vector<std::uint8_t> output;
  PngIo io;
  io.output = &output;
  WriteStructs s;
  s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
  if (s.png) s.info = png_create_info_struct(s.png);
  if (!s.png || !s.info)
    throw Error(ErrorKind::Internal, std::string(target_name) + ": PNG: cannot create an encoder");
  png_set_write_fn(s.png, &io, on_write, on_flush);
  std::vector<png_bytep> rows(static_cast<std::size_t>(image.height()));
  for (int y = 0; y < image.height(); ++y)
    rows[y] = const_cast<png_bytep>(image.row(y));  // libpng's API is not const-correct
  if (!write_png(s.png, s.info, &image, rows.data()))
    throw Error(ErrorKind::Io, std::string(target_name) + ": PNG encoding failed: " + io.message);
  return output;
}

}  // namespace vlmrt::image_codec
