// libFuzzer target: decode_image must end every input in a decoded image or a vlmrt::Error, and
// must not allocate more than max_pixels allows. Seeds: fuzz/corpus/image_decode/.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vlmrt/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vlmrt::DecodeOptions options;
  options.max_pixels = 4'000'000;  // keeps each run's allocation small
  options.apply_exif_orientation = (size & 1) != 0;
  try {
    const auto image =
        vlmrt::decode_image(std::span<const std::uint8_t>(data, size), options, "fuzz-input");
    volatile std::uint8_t sink = image.empty() ? 0 : image.data()[0];
    (void)sink;
  } catch (const vlmrt::Error&) {
    // Typed errors are the expected outcome for malformed input.
  }
  return 0;
}
