// Image frames through a vision tower a few at a time, for every backend: the activations of a
// chunk stay small (a SigLIP-B tile's MLP alone is ~12 MB; attention scores grow with the square
// of the patches) while each matrix product still has thousands of rows.
#pragma once

#include <functional>

#include "models/pixel_batch.hpp"
#include "runtime/backend.hpp"

namespace vlmrt::runtime {

inline constexpr int kFramesPerChunk = 4;

// Calls `encode` on consecutive chunks of at most `frames_per_chunk` frames and concatenates the
// features in frame order. A padded multi-prompt batch (one with a mask) goes whole, since its
// padding frames are dropped inside the tower.
ImageFeatures encode_in_chunks(const PixelBatch& pixels, int frames_per_chunk,
                               const std::function<ImageFeatures(const PixelBatch&)>& encode);

}  // namespace vlmrt::runtime
