#include "runtime/prompt_checks.hpp"

#include <string>

#include "vlmrt/errors.hpp"

namespace vlmrt::runtime {

namespace {

std::string str(std::size_t n) {
  return std::to_string(n);
}

}  // namespace

void check_prompt_chunk(const PromptChunk& chunk, const SequenceLimits& limits) {
  const std::size_t length = chunk.ids.size();
  if (length == 0) throw Error(ErrorKind::InvalidArgument, "the prompt chunk has no ids");
  const std::size_t free = limits.capacity - limits.cached;
  if (length > free)
    throw Error(ErrorKind::LimitExceeded, "the prompt needs " + str(length) +
                                              " positions but the sequence has " + str(free) +
                                              " free (capacity " + str(limits.capacity) + ", " +
                                              str(limits.cached) + " cached)");
  if (chunk.bidirectional_prefix > length)
    throw Error(ErrorKind::InvalidArgument,
                "the bidirectional prefix of " + str(chunk.bidirectional_prefix) +
                    " positions is longer than the prompt chunk (" + str(length) + " ids)");
  if (chunk.bidirectional_prefix > 0 && limits.cached > 0)
    throw Error(ErrorKind::InvalidArgument,
                "a bidirectional prefix is only allowed on the first chunk of a sequence (" +
                    str(limits.cached) + " positions are cached)");
  std::size_t image_ids = 0;
  for (std::size_t i = 0; i < length; ++i) {
    const gen::TokenId id = chunk.ids[i];
    if (id == limits.image_token_id) {
      ++image_ids;
      continue;
    }
    if (id < 0 || static_cast<std::size_t>(id) >= limits.embedding_rows)
      throw Error(ErrorKind::InvalidArgument, "prompt id " + std::to_string(id) + " at index " +
                                                  str(i) + " is outside the embedding table (" +
                                                  str(limits.embedding_rows) + " rows)");
  }
  const ImageFeatures& images = chunk.images;
  if (images.rows != image_ids)
    throw Error(ErrorKind::InvalidArgument,
                "the prompt has " + str(image_ids) + " image tokens (id " +
                    std::to_string(limits.image_token_id) + ") but the image features have " +
                    str(images.rows) + " rows");
  if (images.rows > 0 && images.width != limits.hidden_size)
    throw Error(ErrorKind::InvalidArgument, "the image features are " + str(images.width) +
                                                " wide, the text model's hidden size is " +
                                                str(limits.hidden_size));
  if (images.values.size() != images.rows * images.width)
    throw Error(ErrorKind::InvalidArgument, "the image features hold " + str(images.values.size()) +
                                                " values, expected rows · width = " +
                                                str(images.rows) + " · " + str(images.width));
}

}  // namespace vlmrt::runtime
