#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.hpp"

#include "core/utf8.hpp"

#include <pcre2.h>

#include "tokenizer/unicode.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::tok {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
};

namespace {

// One match-data block and JIT stack per thread, shared by every pattern: only group 0 is read,
// and a 1-pair ovector still reports it. The larger JIT stack keeps `\s+(?!\S)` on very long
// whitespace runs from failing with PCRE2_ERROR_JIT_STACKLIMIT.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* context = nullptr;
  ThreadMatchState() {
    data = pcre2_match_data_create(1, nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    if (context != nullptr && stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

Regex::Regex(std::string_view pattern, const std::string& context) : code_(new Code) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw Error(ErrorKind::Format, context + ": regex '" + std::string(pattern) +
                                       "' does not compile at offset " + std::to_string(offset) +
                                       ": " + reinterpret_cast<const char*>(message));
  }
  code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  if (code_) pcre2_code_free(code_->code);
}

void Regex::find_all(std::string_view text,
                     std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  ThreadMatchState& state = thread_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t search_from = 0;
  bool have_last = false;
  std::size_t last_match_end = 0;
  while (search_from <= text.size()) {
    // The caller validated the text once, so PCRE2 need not re-check it on every call.
    int rc = code_->jit ? pcre2_jit_match(code_->code, subject, text.size(), search_from,
                                          PCRE2_NO_UTF_CHECK, state.data, state.context)
                        : pcre2_match(code_->code, subject, text.size(), search_from,
                                      PCRE2_NO_UTF_CHECK, state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0 && rc != 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error(ErrorKind::Internal, std::string("tokenizer: regex match failed: ") +
                                           reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    std::size_t start = ovector[0], end = ovector[1];
    if (start == end && have_last && last_match_end == end) {
      // Same rule as the onig crate's FindMatches: no empty match right after the last one.
      if (search_from >= text.size()) return;
      search_from += utf8::sequence_length(static_cast<unsigned char>(text[search_from]));
      continue;
    }
    out.emplace_back(start, end);
    search_from = end;
    have_last = true;
    last_match_end = end;
    if (start == end) {
      // onig retries at `end`, where the rule above then steps one char; do it directly.
      if (search_from >= text.size()) return;
      search_from += utf8::sequence_length(static_cast<unsigned char>(text[search_from]));
    }
  }
}

}  // namespace vlmrt::tok
