// Private: the per-format decoders behind vlmrt::decode_image and the checks they share.
//
// Every decoder follows Pillow's `Image.open(f).convert("RGB")` (transformers' load path, MODELS.md
// errata 3), validates the declared size against DecodeOptions::max_pixels before it allocates
// pixels, and reports malformed input as ErrorKind::Format naming the source.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vlmrt/image.hpp"

namespace vlmrt::image_codec {

// Throws LimitExceeded unless 0 < width, 0 < height and width·height ≤ options.max_pixels (and
// both fit in int). `format` names the container ("PNG") for the message.
void check_dimensions(std::int64_t width, std::int64_t height, const DecodeOptions& options,
                      std::string_view source_name, std::string_view format);

// Throws Format: "<source>: <format>: <what>".
[[noreturn]] void throw_format(std::string_view source_name, std::string_view format,
                               std::string_view what);
// Throws Unsupported: "<source>: <format>: <what>".
[[noreturn]] void throw_unsupported(std::string_view source_name, std::string_view format,
                                    std::string_view what);

// A new owning RGB image of the given (already checked) size, uninitialised pixels are never
// exposed: every decoder writes every pixel.
ImageRgb8 allocate_rgb(int width, int height);

ImageRgb8 decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                      std::string_view source_name);
ImageRgb8 decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     std::string_view source_name);
ImageRgb8 decode_bmp(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     std::string_view source_name);
ImageRgb8 decode_pnm(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     std::string_view source_name);

// Encoders used by save_image: they return the file bytes.
std::vector<std::uint8_t> encode_png(const ImageRgb8& image, std::string_view target_name);
std::vector<std::uint8_t> encode_ppm(const ImageRgb8& image);

}  // namespace vlmrt::image_codec
