// Private: the EXIF Orientation tag and the transposes it asks for (PIL's ImageOps.exif_transpose).
#pragma once

#include <cstdint>
#include <span>

#include "vlmrt/image.hpp"

namespace vlmrt::image_codec {

// The Orientation (tag 0x0112) of IFD0 in a TIFF-structured EXIF block (starting at the "II"/"MM"
// byte-order mark; a leading "Exif\0\0" is skipped). Returns 1 (no change) when the block is
// absent, malformed or has no usable tag: like Pillow, a count-1 integer value is required.
// Every offset is bounds-checked; the parser reads IFD0 only, so IFD loops cannot occur.
int exif_orientation(std::span<const std::uint8_t> exif);

// The payload of the first APP1 "Exif\0" segment of a JPEG (what Pillow stores as info["exif"]),
// or an empty span. Stops at the first SOS; tolerates any malformed marker by returning empty.
std::span<const std::uint8_t> find_jpeg_exif(std::span<const std::uint8_t> jpeg);

// Returns `image` transposed as EXIF orientation 2..8 says (PIL's Transpose methods, see
// exif_transpose); orientation 1 or any other value returns `image` unchanged.
ImageRgb8 apply_orientation(ImageRgb8 image, int orientation);

}  // namespace vlmrt::image_codec
