// EXIF Orientation: a minimal, bounds-checked reader of IFD0 and PIL's transposes.
#include "image/exif.hpp"

#include <cstring>

namespace vlmrt::image_codec {
namespace {

struct TiffReader {
  std::span<const std::uint8_t> data;
  bool big_endian = false;

  bool has(std::size_t offset, std::size_t length) const {
    return offset <= data.size() && length <= data.size() - offset;
  }
  std::uint32_t u16(std::size_t o) const {
    return big_endian ? (data[o] << 8) | data[o + 1] : data[o] | (data[o + 1] << 8);
  }
  std::uint32_t u32(std::size_t o) const {
    return big_endian ? (std::uint32_t{data[o]} << 24) | (data[o + 1] << 16) | (data[o + 2] << 8) |
                            data[o + 3]
                      : data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) |
                            (std::uint32_t{data[o + 3]} << 24);
  }
};

}  // namespace

int exif_orientation(std::span<const std::uint8_t> exif) {
  static constexpr std::uint8_t kExifHeader[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (exif.size() >= 6 && std::memcmp(exif.data(), kExifHeader, 6) == 0) exif = exif.subspan(6);
  TiffReader r{exif};
  if (!r.has(0, 8)) return 1;
  if (exif[0] == 'M' && exif[1] == 'M') {
    r.big_endian = true;
  } else if (!(exif[0] == 'I' && exif[1] == 'I')) {
    return 1;
  }
  const std::size_t ifd = r.u32(4);
  if (!r.has(ifd, 2)) return 1;
  const std::size_t count = r.u16(ifd);
  // Pillow keeps the entries read before a truncated one, and a repeated tag overrides earlier
  // ones.
  int orientation = 1;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t entry = ifd + 2 + i * 12;
    if (!r.has(entry, 12)) break;
    if (r.u16(entry) != 0x0112) continue;
    const std::uint32_t type = r.u16(entry + 2);
    std::uint32_t value = 0;
    switch (type) {
      case 1:  // BYTE
        value = exif[entry + 8];
        break;
      case 3:  // SHORT
        value = r.u16(entry + 8);
        break;
      case 4:  // LONG
        value = r.u32(entry + 8);
        break;
      default:  // other types never compare equal to 2..8 in Pillow
        value = 0;
        break;
    }
    // Pillow returns a tuple (never equal to 2..8) unless the count is 1.
    if (r.u32(entry + 4) != 1) value = 0;
    orientation = value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return orientation;
}

std::span<const std::uint8_t> find_jpeg_exif(std::span<const std::uint8_t> jpeg) {
  std::size_t pos = 2;  // after SOI
  while (pos + 4 <= jpeg.size()) {
    if (jpeg[pos] != 0xFF) return {};
    const std::uint8_t marker = jpeg[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return {};  // SOS / EOI: no more metadata
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      pos += 2;
      continue;
    }
    const std::size_t length = (std::size_t{jpeg[pos + 2]} << 8) | jpeg[pos + 3];
    if (length < 2 || pos + 2 + length > jpeg.size()) return {};
    const auto payload = jpeg.subspan(pos + 4, length - 2);
    if (marker == 0xE1 && payload.size() >= 5 && std::memcmp(payload.data(), "Exif", 5) == 0)
      return payload;
    pos += 2 + length;
  }
  return {};
}

namespace {

// Output pixel (x, y) takes source pixel src(x, y); templated so the per-pixel mapping inlines.
template <typename Map>
ImageRgb8 remap(const ImageRgb8& in, int out_width, int out_height, Map src) {
  ImageRgb8 out(out_width, out_height);
  for (int y = 0; y < out_height; ++y) {
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < out_width; ++x) {
      const auto [sx, sy] = src(x, y);
      const std::uint8_t* p = in.row(sy) + static_cast<std::size_t>(sx) * 3;
      dst[0] = p[0];
      dst[1] = p[1];
      dst[2] = p[2];
      dst += 3;
    }
  }
  return out;
}

struct Xy {
  int x, y;
};

}  // namespace

ImageRgb8 apply_orientation(ImageRgb8 image, int orientation) {
  const int w = image.width(), h = image.height();
  switch (orientation) {
    case 2:  // FLIP_LEFT_RIGHT
      return remap(image, w, h, [w](int x, int y) { return Xy{w - 1 - x, y}; });
    case 3:  // ROTATE_180
      return remap(image, w, h, [w, h](int x, int y) { return Xy{w - 1 - x, h - 1 - y}; });
    case 4:  // FLIP_TOP_BOTTOM
      return remap(image, w, h, [h](int x, int y) { return Xy{x, h - 1 - y}; });
    case 5:  // TRANSPOSE
      return remap(image, h, w, [](int x, int y) { return Xy{y, x}; });
    case 6:  // ROTATE_270 (counter-clockwise), i.e. 90 degrees clockwise
      return remap(image, h, w, [h](int x, int y) { return Xy{y, h - 1 - x}; });
    case 7:  // TRANSVERSE
      return remap(image, h, w, [w, h](int x, int y) { return Xy{w - 1 - y, h - 1 - x}; });
    case 8:  // ROTATE_90 (counter-clockwise)
      return remap(image, h, w, [w](int x, int y) { return Xy{w - 1 - y, x}; });
    default:
      return image;
  }
}

}  // namespace vlmrt::image_codec
