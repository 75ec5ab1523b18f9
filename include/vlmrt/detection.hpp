// vlmrt — task outputs: PaliGemma's detection and segmentation answers as boxes, and drawing
// them onto an image.
//
// PaliGemma answers "detect cat ; dog" (and "segment cat") with text such as
//   <loc0123><loc0456><loc0789><loc1011> cat ; <loc0100><loc0200><loc0300><loc0400> dog
// Each object is four <locNNNN> tokens (NNNN = 0000..1023) in the order y_min, x_min, y_max,
// x_max, each a bin of 1024 over the image height or width; segmentation answers add sixteen
// <segNNN> tokens (NNN = 000..127) after the four locations and before the label. Objects are
// separated by ';'.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vlmrt/image.hpp"

namespace vlmrt {

// An axis-aligned box in the pixels of the image the model was asked about (not of the resized
// model input), x to the right and y down from the top-left corner.
struct Box {
  float x_min = 0;
  float y_min = 0;
  float x_max = 0;
  float y_max = 0;
};

struct Detection {
  Box box;
  std::string label;  // as the model wrote it, trimmed; empty when the model gave none
  // Empty, or the 16 codes (0..127) of a segmentation answer. These are inputs to PaliGemma's
  // VQ-VAE mask decoder, which vlmrt does not ship: they are codes, not a mask.
  std::vector<int> segmentation_codes;
};

// Parses a PaliGemma detection or segmentation answer into boxes for an image of
// image_width x image_height pixels (the size of the image given to the model, before resizing).
//
// A location value v becomes the pixel coordinate v / 1024 * size, for min and max edges alike
// (so <loc0000> is 0 and <loc1023> is 1023/1024 of the size; the last bin's far edge, size, is
// never produced).
//
// Whitespace around ';' and around the label is ignored, empty entries (a trailing ';') are
// skipped, and a missing label gives an empty label. Text with no <loc...> or <seg...> token at
// all (a caption, an answer) gives an empty result. Anything else that is not a well-formed
// object throws Error(ErrorKind::Format) whose message quotes the offending fragment and says
// what was expected: fewer or more than four loc tokens, a loc value that is not four digits or
// above 1023, a seg value that is not three digits or above 127, a seg count other than 0 or 16,
// tokens out of order or after the label, or y_min > y_max / x_min > x_max. Negative image sizes
// throw Error(ErrorKind::InvalidArgument).
std::vector<Detection> parse_detections(std::string_view text, int image_width, int image_height);

// Draws each detection onto `image`: the box outline (2 px, thicker on large images), in one
// colour per distinct label (assigned in order of first appearance, so the result depends only
// on the arguments), with the label written on a filled background just above the box (inside
// its top edge when there is no room above). Everything is clipped to the image: boxes partly or
// wholly outside it, zero-size boxes and empty images are fine; boxes with NaN coordinates are
// skipped. Labels are drawn with a built-in 5x7 font for printable ASCII; other characters are
// drawn as a hollow box.
void draw_detections(ImageRgb8& image, const std::vector<Detection>& detections);

}  // namespace vlmrt
