// Stop strings matched on the decoded text, so a stop string may span several tokens (and a token
// may hold a stop string plus more text). Text that might be the start of a stop string is held
// back from the stream until the next piece shows whether it is; text from the first match on is
// dropped. transformers' StopStringCriteria stops at the same token but keeps the stop string in
// the output; vlmrt returns the text before it, which is what a caller streaming to a user wants.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vlmrt::gen {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stop_strings);

  struct Update {
    std::string_view release;  // text now safe to stream (valid until the next call)
    bool stopped = false;      // a stop string matched; nothing more will be released
  };

  // Adds decoded text (whole UTF-8 characters). After a stop, further pushes release nothing.
  Update push(std::string_view piece);
  // End of the stream: releases the held-back text (it was not a stop string after all).
  Update finish();

  // The text up to (excluding) the first stop string, or all text pushed when none matched.
  const std::string& text() const noexcept { return text_; }
  bool stopped() const noexcept { return stopped_; }

 private:
  std::size_t held_back_length() const;

  std::vector<std::string> stop_strings_;
  std::size_t longest_ = 0;
  std::string text_;
  std::size_t released_ = 0;  // text_[0, released_) was released
  bool stopped_ = false;
};

}  // namespace vlmrt::gen
