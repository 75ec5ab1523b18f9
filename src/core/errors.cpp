#include "vlmrt/errors.hpp"

namespace vlmrt {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument:
      return "invalid argument";
    case ErrorKind::NotFound:
      return "not found";
    case ErrorKind::Io:
      return "I/O error";
    case ErrorKind::Format:
      return "format error";
    case ErrorKind::Unsupported:
      return "unsupported";
    case ErrorKind::LimitExceeded:
      return "limit exceeded";
    case ErrorKind::Backend:
      return "backend error";
    case ErrorKind::Internal:
      return "internal error";
  }
  return "unknown error";
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

}  // namespace vlmrt
