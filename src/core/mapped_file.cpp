#include "core/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "vlmrt/errors.hpp"

namespace vlmrt {

namespace {
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

MappedFile MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      throw Error(ErrorKind::NotFound, path.string() + ": file not found");
    throw Error(ErrorKind::Io, path.string() + ": cannot open for reading: " + std::strerror(err));
  }
  FdCloser closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    throw Error(ErrorKind::Io, path.string() + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw Error(ErrorKind::Io, path.string() + ": not a regular file");

  MappedFile file;
  file.path_ = path;
  if (info.st_size == 0) return file;  // mmap of length 0 is EINVAL; an empty span is the answer
  const auto size = static_cast<std::size_t>(info.st_size);
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED)
    throw Error(ErrorKind::Io, path.string() + ": cannot map " + std::to_string(size) +
                                   " bytes: " + std::strerror(errno));
  file.data_ = static_cast<const std::byte*>(data);
  file.size_ = size;
  return file;  // the mapping stays valid after the descriptor is closed
}

MappedFile::~MappedFile() {
  reset();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::reset() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace vlmrt
