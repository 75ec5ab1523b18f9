// JPEG decoding with TurboJPEG (libjpeg-turbo 2.1), matching Pillow's JPEG plugin, which uses the
// same library with its defaults: the accurate integer DCT (JDCT_ISLOW) and fancy upsampling.
#include <cstring>
#include <memory>
#include <string>

#include <turbojpeg.h>

#include "image/codecs.hpp"
#include "image/exif.hpp"

namespace vlmrt::image_codec {
namespace {

constexpr std::string_view kFormat = "JPEG";

struct TjDestroy {
  void operator()(void* handle) const noexcept { tjDestroy(static_cast<tjhandle>(handle)); }
};
using TjHandle = std::unique_ptr<void, TjDestroy>;

// Pillow's CMYK → RGB (Convert.c cmyk2rgb) applied to Adobe-inverted samples, which is how Pillow
// reads every CMYK JPEG (rawmode "CMYK;I"): c = 255 − stored, and out = nk − c·nk/255 with
// nk = 255 − k and Pillow's rounded division by 255.
inline std::uint8_t cmyk_channel(std::uint8_t stored_c, std::uint8_t stored_k) {
  const int c = 255 - stored_c;
  const int nk = stored_k;  // 255 - (255 - stored_k)
  const int tmp = c * nk + 128;
  const int v = nk - (((tmp >> 8) + tmp) >> 8);
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

ImageRgb8 decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                      std::string_view source_name) {
  TjHandle handle(tjInitDecompress());
  if (!handle)
    throw Error(
        ErrorKind::Internal,
        std::string(source_name) + ": JPEG: cannot create a decoder: " + tjGetErrorStr2(nullptr));
  tjhandle tj = static_cast<tjhandle>(handle.get());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, bytes.data(), static_cast<unsigned long>(bytes.size()), &width,
                          &height, &subsampling, &colorspace) != 0)
    throw_format(source_name, kFormat,
                 std::string("cannot read the header: ") + tjGetErrorStr2(tj));
  // On data that ends before the frame header libjpeg inserts an EOI and TurboJPEG reports
  // success with a 0x0 size: that is a truncated file, not an empty image.
  if (width <= 0 || height <= 0)
    throw_format(source_name, kFormat, "no frame header (SOF) before the end of the data");
  check_dimensions(width, height, options, source_name, kFormat);

  // TJFLAG_LIMITSCANS refuses progressive files with > 500 scans (a decoding-time bomb).
  const int flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS;
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  ImageRgb8 image = allocate_rgb(width, height);
  std::vector<std::uint8_t> cmyk_pixels;
  unsigned char* target = image.data();
  int pixel_format = TJPF_RGB;
  if (cmyk) {
    cmyk_pixels.resize(static_cast<std::size_t>(width) * height * 4);
    target = cmyk_pixels.data();
    pixel_format = TJPF_CMYK;
  }
  if (tjDecompress2(tj, bytes.data(), static_cast<unsigned long>(bytes.size()), target, width, 0,
                    height, pixel_format, flags) != 0) {
    const std::string message = tjGetErrorStr2(tj);
    // Pillow ignores libjpeg's corrupt-data warnings but fails on truncated files ("image file
    // is truncated"); libjpeg reports the latter as the warning "Premature end of JPEG file".
    const bool warning_only = tjGetErrorCode(tj) == TJERR_WARNING;
    if (!warning_only || message.find("Premature end") != std::string::npos)
      throw_format(source_name, kFormat,
                   (warning_only ? "the data is truncated: " : "cannot decode: ") + message);
  }
  if (cmyk) {
    const std::uint8_t* in = cmyk_pixels.data();
    std::uint8_t* out = image.data();
    const std::size_t count = image.pixel_count();
    for (std::size_t i = 0; i < count; ++i, in += 4, out += 3) {
      out[0] = cmyk_channel(in[0], in[3]);
      out[1] = cmyk_channel(in[1], in[3]);
      out[2] = cmyk_channel(in[2], in[3]);
    }
  }
  if (options.apply_exif_orientation) {
    const int orientation = exif_orientation(find_jpeg_exif(bytes));
    if (orientation != 1) image = apply_orientation(std::move(image), orientation);
  }
  return image;
}

}  // namespace vlmrt::image_codec
