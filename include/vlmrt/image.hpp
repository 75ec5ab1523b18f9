// vlmrt — images: an interleaved (HWC) pixel buffer that owns its pixels or views someone else's,
// and loading/saving of common file formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "vlmrt/errors.hpp"

namespace vlmrt {

// Height × width × C interleaved pixels of type T. Rows are `row_stride()` elements apart
// (≥ width·C); an owning image is always contiguous. Copying a view copies the view (not the
// pixels); clone() makes an owning deep copy.
template <typename T, int C>
class Image {
  static_assert(C >= 1 && C <= 4, "Image supports 1 to 4 channels");

 public:
  using value_type = T;
  static constexpr int kChannels = C;

  Image() = default;
  // Owning, zero-initialised. Throws InvalidArgument for negative sizes.
  Image(int width, int height)
      : Image(width, height, std::vector<T>(checked_count(width, height))) {}
  // Owning, takes `pixels` (must hold exactly width·height·C values).
  Image(int width, int height, std::vector<T> pixels)
      : storage_(std::make_shared<std::vector<T>>(std::move(pixels))),
        data_(storage_->data()),
        width_(width),
        height_(height),
        row_stride_(static_cast<std::size_t>(width) * C) {
    if (storage_->size() != checked_count(width, height))
      throw Error(ErrorKind::InvalidArgument,
                  "Image: pixel buffer size does not match width*height*channels");
  }
  // Non-owning view of caller memory; the caller keeps it alive.
  static Image view(T* data, int width, int height, std::size_t row_stride) {
    checked_count(width, height);
    if (row_stride < static_cast<std::size_t>(width) * C)
      throw Error(ErrorKind::InvalidArgument,
                  "Image::view: row stride is smaller than width*channels");
    Image image;
    image.data_ = data;
    image.width_ = width;
    image.height_ = height;
    image.row_stride_ = row_stride;
    return image;
  }

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  static constexpr int channels() noexcept { return C; }
  std::size_t row_stride() const noexcept { return row_stride_; }
  bool empty() const noexcept { return width_ == 0 || height_ == 0; }
  bool owns_pixels() const noexcept { return storage_ != nullptr; }
  bool is_contiguous() const noexcept {
    return row_stride_ == static_cast<std::size_t>(width_) * C;
  }
  std::size_t pixel_count() const noexcept { return static_cast<std::size_t>(width_) * height_; }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T* row(int y) noexcept { return data_ + static_cast<std::size_t>(y) * row_stride_; }
  const T* row(int y) const noexcept { return data_ + static_cast<std::size_t>(y) * row_stride_; }
  T& at(int x, int y, int c) noexcept { return row(y)[static_cast<std::size_t>(x) * C + c]; }
  const T& at(int x, int y, int c) const noexcept {
    return row(y)[static_cast<std::size_t>(x) * C + c];
  }

  // An owning, contiguous copy of the pixels.
  Image clone() const {
    Image copy(width_, height_);
    for (int y = 0; y < height_; ++y)
      std::copy(row(y), row(y) + static_cast<std::size_t>(width_) * C, copy.row(y));
    return copy;
  }

 private:
  static std::size_t checked_count(int width, int height) {
    if (width < 0 || height < 0) throw Error(ErrorKind::InvalidArgument, "Image: negative size");
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * C;
  }

  std::shared_ptr<std::vector<T>> storage_;
  T* data_ = nullptr;
  int width_ = 0;
  int height_ = 0;
  std::size_t row_stride_ = 0;
};

using ImageRgb8 = Image<std::uint8_t, 3>;

struct DecodeOptions {
  // Images with more pixels than this are refused before their pixels are allocated.
  std::uint64_t max_pixels = 100'000'000;
  // Rotate/flip JPEGs as their EXIF Orientation tag says (as transformers' load_image does).
  bool apply_exif_orientation = true;
};

// Decodes JPEG, PNG (8/16-bit, gray, palette, alpha), BMP or PPM/PGM (sniffed from the bytes,
// not the name) to 8-bit RGB the way Pillow 9.4's Image.convert("RGB") does: alpha is dropped
// (no compositing), gray is replicated, palettes are expanded, 16-bit colour and gray+alpha keep
// their high byte, but 16-bit gray (PNG, and PGM with maxval > 255, which Pillow opens as mode
// "I") is clamped to 0..255, so values of 256 and above become white. Throws Format for corrupt
// data, Unsupported for formats or variants vlmrt does not read (e.g. RLE BMPs), LimitExceeded
// for zero sizes or above max_pixels (checked before any pixel memory is allocated).
ImageRgb8 decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options = {},
                       std::string_view source_name = "<memory>");
ImageRgb8 load_image(const std::filesystem::path& path, const DecodeOptions& options = {});

// Writes PNG or PPM, chosen by the extension (".png", ".ppm").
void save_image(const std::filesystem::path& path, const ImageRgb8& image);

}  // namespace vlmrt
