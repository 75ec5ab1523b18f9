#include "generation/stop_strings.hpp"

#include <algorithm>

namespace vlmrt::gen {

StopStringFilter::StopStringFilter(std::vector<std::string> stop_strings)
    : stop_strings_(std::move(stop_strings)) {
  // An empty stop string would match everywhere; validate() rejects it, this keeps the class safe.
  std::erase_if(stop_strings_, [](const std::string& s) { return s.empty(); });
  for (const std::string& s : stop_strings_) longest_ = std::max(longest_, s.size());
}

// The longest suffix of text_ that is a proper prefix of some stop string. Stop strings and
// text are valid UTF-8, so such a suffix starts on a character boundary: holding it back never
// splits a character.
std::size_t StopStringFilter::held_back_length() const {
  const std::size_t limit = std::min(longest_ == 0 ? 0 : longest_ - 1, text_.size() - released_);
  for (std::size_t length = limit; length > 0; --length) {
    const std::string_view tail = std::string_view(text_).substr(text_.size() - length);
    for (const std::string& s : stop_strings_) {
      if (s.size() > length && std::string_view(s).substr(0, length) == tail) return length;
    }
  }
  return 0;
}

StopStringFilter::Update StopStringFilter::push(std::string_view piece) {
  if (stopped_ || piece.empty()) return {};
  const std::size_t old_size = text_.size();
  text_.append(piece);
  if (!stop_strings_.empty()) {
    // A new match must end in the new piece, so it starts at most longest_ - 1 bytes earlier.
    const std::size_t from = old_size >= longest_ - 1 ? old_size - (longest_ - 1) : 0;
    std::size_t match = std::string::npos;
    for (const std::string& s : stop_strings_) match = std::min(match, text_.find(s, from));
    if (match != std::string::npos) {
      // Everything from `match` on was held back (it was a prefix of a stop string), so the
      // released text never reaches into a stop string.
      const std::size_t start = released_;
      text_.resize(std::max(match, released_));
      released_ = text_.size();
      stopped_ = true;
      return {std::string_view(text_).substr(start), true};
    }
  }
  const std::size_t start = released_;
  released_ = text_.size() - held_back_length();
  return {std::string_view(text_).substr(start, released_ - start), false};
}

StopStringFilter::Update StopStringFilter::finish() {
  if (stopped_) return {{}, true};
  const std::size_t start = released_;
  released_ = text_.size();
  return {std::string_view(text_).substr(start), false};
}

}  // namespace vlmrt::gen
