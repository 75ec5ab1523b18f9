#include "core/npy.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "vlmrt/errors.hpp"

namespace vlmrt::npy {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

std::string shape_tuple(std::span<const std::int64_t> shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) text += ",";
    if (i + 1 < shape.size()) text += " ";
  }
  return text + ")";
}

[[noreturn]] void bad(const fs::path& path, const std::string& what) {
  throw Error(ErrorKind::Format, path.string() + ": not a float32 C-order .npy file: " + what);
}

}  // namespace

namespace {

// Writes one array in .npy 1.0 layout; `descr` is NumPy's type string ('<f4', '<i8').
void write_array(const fs::path& path, std::string_view descr, std::span<const std::int64_t> shape,
                 std::span<const std::byte> bytes, std::size_t element_size) {
  std::uint64_t count = 1;
  for (auto dim : shape) {
    if (dim < 0)
      throw Error(ErrorKind::InvalidArgument, path.string() + ": negative dimension in npy shape");
    count *= static_cast<std::uint64_t>(dim);
  }
  if (count * element_size != bytes.size())
    throw Error(ErrorKind::InvalidArgument, path.string() + ": npy shape " + shape_tuple(shape) +
                                                " holds " + std::to_string(count) +
                                                " values, got " +
                                                std::to_string(bytes.size() / element_size));
  std::string header = "{'descr': '" + std::string(descr) +
                       "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64,
  // ending in '\n' (the format's alignment rule).
  const std::size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  const fs::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorKind::Io, temp.string() + ": cannot open for writing");
    const auto header_size = static_cast<std::uint16_t>(header.size());
    const char version[2] = {1, 0};
    const char size_le[2] = {static_cast<char>(header_size & 0xff),
                             static_cast<char>(header_size >> 8)};
    out.write(kMagic, kMagicSize)
        .write(version, 2)
        .write(size_le, 2)
        .write(header.data(), header.size());
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(ErrorKind::Io, temp.string() + ": write failed");
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec)
    throw Error(ErrorKind::Io,
                path.string() + ": cannot move the written file into place: " + ec.message());
}

}  // namespace

void write_f32(const fs::path& path, std::span<const std::int64_t> shape,
               std::span<const float> values) {
  write_array(path, "<f4", shape, std::as_bytes(values), sizeof(float));
}

void write_i64(const fs::path& path, std::span<const std::int64_t> shape,
               std::span<const std::int64_t> values) {
  write_array(path, "<i8", shape, std::as_bytes(values), sizeof(std::int64_t));
}

Array<float> read_f32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::NotFound, path.string() + ": cannot open");
  char prefix[10];
  if (!in.read(prefix, sizeof prefix) || std::memcmp(prefix, kMagic, kMagicSize) != 0)
    bad(path, "missing magic");
  if (prefix[6] != 1) bad(path, "only format version 1.0 is read");
  const std::size_t header_size =
      static_cast<unsigned char>(prefix[8]) |
      (static_cast<std::size_t>(static_cast<unsigned char>(prefix[9])) << 8);
  std::string header(header_size, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_size)))
    bad(path, "truncated header");
  if (header.find("'descr': '<f4'") == std::string::npos) bad(path, "descr is not '<f4'");
  if (header.find("'fortran_order': False") == std::string::npos)
    bad(path, "fortran_order is not False");
  const auto open = header.find("'shape': (");
  const auto close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) bad(path, "no shape");

  Array<float> array;
  std::uint64_t count = 1;
  std::size_t pos = open + 10;
  while (pos < close) {
    while (pos < close && (header[pos] == ' ' || header[pos] == ',')) ++pos;
    if (pos >= close) break;
    std::size_t used = 0;
    long long dim = 0;
    try {
      dim = std::stoll(header.substr(pos, close - pos), &used);
    } catch (const std::exception&) {
      bad(path, "unreadable shape");
    }
    if (dim < 0 || (dim > 0 && count > (std::uint64_t{1} << 40) / static_cast<std::uint64_t>(dim)))
      bad(path, "shape out of range");
    count *= static_cast<std::uint64_t>(dim);
    array.shape.push_back(dim);
    pos += used;
  }
  const auto data_start = static_cast<std::uint64_t>(in.tellg());
  std::error_code ec;
  const auto file_size = fs::file_size(path, ec);
  if (ec || file_size < data_start || (file_size - data_start) != count * sizeof(float))
    bad(path, "data size does not match shape " + shape_tuple(array.shape));
  array.values.resize(count);
  in.read(reinterpret_cast<char*>(array.values.data()),
          static_cast<std::streamsize>(count * sizeof(float)));
  if (!in) throw Error(ErrorKind::Io, path.string() + ": read failed");
  return array;
}

}  // namespace vlmrt::npy
