// A read-only memory mapping of a whole file: checkpoints are read through it so opening one
// touches only the pages actually used (the header), and tensor views point into the page cache.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace vlmrt {

class MappedFile {
 public:
  // Maps `path` read-only. Missing file → NotFound; anything else the OS refuses (permissions,
  // a folder, mmap failure) → Io; both name the path. An empty file maps to an empty span.
  static MappedFile open(const std::filesystem::path& path);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Valid while this object lives. A file truncated by another process after mapping makes
  // reads past the new end fault (SIGBUS): the usual mmap contract, not checked here.
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::size_t size() const noexcept { return size_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  void reset() noexcept;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vlmrt
