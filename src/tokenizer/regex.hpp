// PCRE2 (UTF + UCP + JIT) wrapper with the match iteration of the Oniguruma crate that Hugging
// Face `tokenizers` uses: an empty match right after the previous match is skipped by one char.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vlmrt::tok {

class Regex {
 public:
  // Throws Format naming `context` when the pattern does not compile.
  Regex(std::string_view pattern, const std::string& context);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every non-overlapping match [start, end) in `text` (valid UTF-8), appended to `out`.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

 private:
  struct Code;
  std::unique_ptr<Code> code_;
};

}  // namespace vlmrt::tok
