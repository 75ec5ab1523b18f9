// vlmrt — typed errors.
//
// The public API reports every failure on user input (bad files, bad arguments, unsupported
// models) by throwing vlmrt::Error. The message names the file, field or tensor at fault and
// what was expected; kind() lets callers branch without parsing text.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace vlmrt {

enum class ErrorKind {
  InvalidArgument,  // a caller-supplied value is out of its domain
  NotFound,         // a file, tensor or field that must exist does not
  Io,               // the operating system refused a read/write/map
  Format,           // a file exists but its content is malformed or inconsistent
  Unsupported,      // well-formed input that vlmrt does not handle (yet)
  LimitExceeded,    // input larger than a configured safety cap
  Backend,          // an inference backend failed or is unavailable
  Internal,         // a broken invariant inside vlmrt (a bug: please report)
};

std::string_view to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);

  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace vlmrt
