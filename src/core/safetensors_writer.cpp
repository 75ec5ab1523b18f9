// Writing safetensors files in the layout the reference implementation writes and reads.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/safetensors.hpp"
#include "core/safetensors_internal.hpp"
#include "core/strict_json.hpp"
#include "core/utf8.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {

namespace {

using safetensors_detail::quote;

void check_text(std::string_view text, std::string_view what) {
  // nlohmann's dump() would throw on invalid UTF-8 halfway through serialize(); refuse it here.
  if (!utf8::is_valid(text))
    throw Error(ErrorKind::InvalidArgument,
                "safetensors writer: " + std::string(what) + " is not valid UTF-8");
}

// The header JSON padded with spaces to a multiple of 8 bytes, so that the data section (which
// follows the 8-byte length) starts 8-aligned; the reference writer pads the same way.
std::string header_text(const std::map<std::string, std::string>& metadata,
                        const std::vector<std::pair<std::string, TensorInfo>>& layout) {
  // ordered_json keeps insertion order: __metadata__ first, then tensors in data order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& object = header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) object[key] = value;
  }
  for (const auto& [name, info] : layout) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = std::string(dtype_name(info.dtype));
    entry["shape"] = info.shape;
    entry["data_offsets"] = nlohmann::ordered_json::array({info.data_begin, info.data_end});
    header[name] = std::move(entry);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void append_u64_le(std::vector<std::byte>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xffu));
}

class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) : target_(target) {
    static std::atomic<unsigned> counter{0};
    const auto folder =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    // Built by appending: GCC 12 gives a false -Wrestrict on "." + std::string&&.
    std::string name(".");
    name += target.filename().string();
    name += ".tmp.";
    name += std::to_string(::getpid());
    name += '.';
    name += std::to_string(counter++);
    temp_ = folder / name;
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create " + temp_.string());
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("write failed");
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }
  void commit() {
    if (::fsync(fd_) != 0) fail("fsync failed");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close failed");
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename the temporary file");
    committed_ = true;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Io, target_.string() + ": " + what + ": " + std::strerror(errno));
  }
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<std::int64_t> shape,
                            std::span<const std::byte> bytes) {
  check_text(name, "tensor name " + quote(name));
  if (name == "__metadata__")
    throw Error(ErrorKind::InvalidArgument,
                "safetensors writer: '__metadata__' is reserved and cannot name a tensor");
  for (const auto& entry : entries_)
    if (entry.name == name)
      throw Error(ErrorKind::InvalidArgument,
                  "safetensors writer: tensor " + quote(name) + " was already added");
  const auto count = safetensors_detail::checked_element_count(shape);
  const auto needed =
      count ? safetensors_detail::checked_mul(*count, dtype_size(dtype)) : std::nullopt;
  if (!needed)
    throw Error(ErrorKind::InvalidArgument, "safetensors writer: tensor " + quote(name) +
                                                " has an invalid shape " +
                                                safetensors_detail::shape_string(shape));
  if (bytes.size() != *needed)
    throw Error(ErrorKind::InvalidArgument,
                "safetensors writer: tensor " + quote(name) + " of shape " +
                    safetensors_detail::shape_string(shape) + " and dtype " +
                    std::string(dtype_name(dtype)) + " needs " + std::to_string(*needed) +
                    " bytes, got " + std::to_string(bytes.size()));
  entries_.push_back(Entry{std::move(name), dtype, std::move(shape), {bytes.begin(), bytes.end()}});
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  check_text(key, "metadata key " + quote(key));
  check_text(value, "metadata value of " + quote(key));
  metadata_[std::move(key)] = std::move(value);
}

namespace {
template <typename Entries>
std::vector<std::pair<std::string, TensorInfo>> layout_of(const Entries& entries) {
  std::vector<std::pair<std::string, TensorInfo>> layout;
  std::uint64_t offset = 0;
  for (const auto& entry : entries) {
    TensorInfo info;
    info.dtype = entry.dtype;
    info.shape = entry.shape;
    info.data_begin = offset;
    info.data_end = offset + entry.bytes.size();
    offset = info.data_end;
    layout.emplace_back(entry.name, std::move(info));
  }
  return layout;
}
}  // namespace

std::vector<std::byte> SafetensorsWriter::serialize() const {
  const std::string header = header_text(metadata_, layout_of(entries_));
  std::size_t total = 8 + header.size();
  for (const auto& entry : entries_) total += entry.bytes.size();
  std::vector<std::byte> out;
  out.reserve(total);
  append_u64_le(out, header.size());
  const auto* text = reinterpret_cast<const std::byte*>(header.data());
  out.insert(out.end(), text, text + header.size());
  for (const auto& entry : entries_) out.insert(out.end(), entry.bytes.begin(), entry.bytes.end());
  return out;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  // Streamed rather than serialize()d so a large checkpoint is not held twice in memory.
  const std::string header = header_text(metadata_, layout_of(entries_));
  std::vector<std::byte> prefix;
  append_u64_le(prefix, header.size());
  TempFile file(path);
  file.write(prefix);
  file.write(std::as_bytes(std::span(header.data(), header.size())));
  for (const auto& entry : entries_) file.write(entry.bytes);
  file.commit();
}

}  // namespace vlmrt
