// decode_image / load_image / save_image: format sniffing and dispatch to the per-format codecs.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>

#include "image/codecs.hpp"
#include "vlmrt/image.hpp"

namespace vlmrt {
namespace image_codec {

void check_dimensions(std::int64_t width, std::int64_t height, const DecodeOptions& options,
                      std::string_view source_name, std::string_view format) {
  const bool positive = width > 0 && height > 0;
  const bool fits_int =
      width <= std::numeric_limits<int>::max() && height <= std::numeric_limits<int>::max();
  // width and height are < 2^32 here when positive, so the product fits in unsigned 64 bits.
  const std::uint64_t pixels =
      positive ? static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) : 0;
  if (positive && fits_int && pixels <= options.max_pixels) return;
  std::string message = std::string(source_name) + ": " + std::string(format) + ": image is " +
                        std::to_string(width) + "x" + std::to_string(height);
  if (!positive) {
    message += ", but width and height must both be at least 1";
  } else {
    message += " (" + std::to_string(pixels) + " pixels), above the cap of " +
               std::to_string(options.max_pixels) +
               " pixels (DecodeOptions::max_pixels; raise it to decode larger images)";
    if (!fits_int) message += "; each side must also be below 2^31";
  }
  throw Error(ErrorKind::LimitExceeded, message);
}

void throw_format(std::string_view source_name, std::string_view format, std::string_view what) {
  throw Error(ErrorKind::Format,
              std::string(source_name) + ": " + std::string(format) + ": " + std::string(what));
}

void throw_unsupported(std::string_view source_name, std::string_view format,
                       std::string_view what) {
  throw Error(ErrorKind::Unsupported,
              std::string(source_name) + ": " + std::string(format) + ": " + std::string(what));
}

ImageRgb8 allocate_rgb(int width, int height) {
  // std::vector value-initialises; the cost (a memset) is small next to decoding.
  return ImageRgb8(width, height);
}

}  // namespace image_codec

namespace {

enum class Format { Jpeg, Png, Bmp, Pnm, Unknown };

// Magic bytes as Pillow's _accept functions test them (the name is never used).
Format sniff(std::span<const std::uint8_t> b) {
  static constexpr std::uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::Jpeg;
  if (b.size() >= 8 && std::equal(kPng, kPng + 8, b.begin())) return Format::Png;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return Format::Bmp;
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return Format::Pnm;
  return Format::Unknown;
}

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

}  // namespace

ImageRgb8 decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                       std::string_view source_name) {
  switch (sniff(bytes)) {
    case Format::Jpeg:
      return image_codec::decode_jpeg(bytes, options, source_name);
    case Format::Png:
      return image_codec::decode_png(bytes, options, source_name);
    case Format::Bmp:
      return image_codec::decode_bmp(bytes, options, source_name);
    case Format::Pnm:
      return image_codec::decode_pnm(bytes, options, source_name);
    case Format::Unknown:
      break;
  }
  std::string message = std::string(source_name) + ": ";
  message += bytes.empty() ? "the data is empty" : "the data is not in a supported image format";
  message +=
      "; vlmrt reads JPEG, PNG, BMP and PPM/PGM/PBM (recognised by their first bytes, not the "
      "file name)";
  throw Error(ErrorKind::Unsupported, message);
}

ImageRgb8 load_image(const std::filesystem::path& path, const DecodeOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorKind::NotFound, path.string() + ": no such image file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(ErrorKind::Io, path.string() + ": cannot determine the file size");
  in.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw Error(ErrorKind::Io, path.string() + ": read failed");
  return decode_image(bytes, options, path.string());
}

void save_image(const std::filesystem::path& path, const ImageRgb8& image) {
  const std::string ext = lower_extension(path);
  std::vector<std::uint8_t> bytes;
  if (image.empty())
    throw Error(ErrorKind::InvalidArgument,
                path.string() + ": cannot save an empty image (width and height must be >= 1)");
  if (ext == ".png") {
    bytes = image_codec::encode_png(image, path.string());
  } else if (ext == ".ppm") {
    bytes = image_codec::encode_ppm(image);
  } else {
    throw Error(ErrorKind::InvalidArgument,
                path.string() + ": cannot choose an image format from the extension '" + ext +
                    "'; use .png or .ppm");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorKind::Io, path.string() + ": cannot create: " + std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw Error(ErrorKind::Io, path.string() + ": write failed");
}

}  // namespace vlmrt
