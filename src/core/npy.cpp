#include "core/npy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string>

#include "vlmrt/errors.hpp"

namespace vlmrt::npy {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// NumPy's classic NPY_MAXDIMS; also bounds the shape vector a header can make us allocate.
constexpr std::size_t kMaxDims = 32;

struct TypeEntry {
  ElementType type;
  std::string_view descr;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<TypeEntry, 8> kTypes = {{
    {ElementType::Float32, "<f4", "float32", 4},
    {ElementType::Float16, "<f2", "float16", 2},
    {ElementType::Float64, "<f8", "float64", 8},
    {ElementType::Int64, "<i8", "int64", 8},
    {ElementType::Int32, "<i4", "int32", 4},
    {ElementType::Int8, "|i1", "int8", 1},
    {ElementType::Uint8, "|u1", "uint8", 1},
    {ElementType::Bool, "|b1", "bool", 1},
}};

const TypeEntry& entry(ElementType type) noexcept {
  for (const auto& e : kTypes) {
    if (e.type == type) return e;
  }
  return kTypes[0];  // unreachable for a valid enumerator
}

std::string shape_tuple(std::span<const std::int64_t> shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) text += ",";
    if (i + 1 < shape.size()) text += " ";
  }
  return text + ")";
}

// Element count of a shape whose dimensions are known to be >= 0; nullopt when the count or its
// byte size does not fit in 64 bits.
std::optional<std::uint64_t> checked_bytes(std::span<const std::int64_t> shape, std::size_t item) {
  std::uint64_t count = 1;
  for (const auto d : shape) {
    const auto dim = static_cast<std::uint64_t>(d);
    if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  if (count > std::numeric_limits<std::uint64_t>::max() / item) return std::nullopt;
  return count * item;
}

// ---- reading ----

// Format errors read "PATH: <context><what>"; read_f32 adds its own context.
class Reader {
 public:
  Reader(const fs::path& path, std::string_view context) : path_(path), context_(context) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Format, path_.string() + ": " + std::string(context_) + what);
  }

  // The value of 'key' in the header dict, up to the next top-level ',' or '}' (a shape tuple
  // keeps its inner commas).
  std::string_view dict_value(std::string_view header, std::string_view key) const {
    std::string quoted(1, '\'');  // built by appends: GCC 12 warns falsely on "'" + string
    quoted.append(key);
    quoted.push_back('\'');
    const std::size_t at = header.find(quoted);
    if (at == std::string_view::npos) fail("npy header has no " + quoted);
    std::size_t pos = header.find(':', at + quoted.size());
    if (pos == std::string_view::npos) fail("npy header: no ':' after " + quoted);
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    std::size_t end = pos;
    int depth = 0;
    while (end < header.size()) {
      const char c = header[end];
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (depth == 0 && (c == ',' || c == '}')) break;
      ++end;
    }
    return header.substr(pos, end - pos);
  }

  ElementType parse_descr(std::string_view text) const {
    if (text.size() < 2 || (text.front() != '\'' && text.front() != '"') ||
        text.back() != text.front()) {
      fail("npy header: descr " + std::string(text) + " is not a string");
    }
    const std::string_view descr = text.substr(1, text.size() - 2);
    for (const auto& e : kTypes) {
      // NumPy writes '|' for one-byte types, where byte order is moot; accept any order mark.
      if (descr == e.descr ||
          (e.size == 1 && descr.size() == 3 && descr.substr(1) == e.descr.substr(1))) {
        return e.type;
      }
    }
    fail("npy dtype '" + std::string(descr) +
         "' is not supported (little-endian f4, f2, f8, i8, i4, i1, u1 or b1 expected)");
  }

  std::vector<std::int64_t> parse_shape(std::string_view text) const {
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
      fail("npy header: shape '" + std::string(text) + "' is not a tuple");
    }
    std::vector<std::int64_t> shape;
    std::int64_t value = -1;
    for (const char c : text.substr(1, text.size() - 2)) {
      if (c >= '0' && c <= '9') {
        if (value < 0) value = 0;
        if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          fail("npy header: a dimension of the shape overflows int64");
        }
        value = value * 10 + (c - '0');
      } else if (c == ',') {
        if (value < 0) fail("npy header: empty dimension in shape " + std::string(text));
        if (shape.size() == kMaxDims) {
          fail("npy header: more than " + std::to_string(kMaxDims) + " dimensions");
        }
        shape.push_back(value);
        value = -1;
      } else if (c != ' ' && c != 'L') {  // 'L': Python 2's long suffix
        fail("npy header: unexpected character in shape '" + std::string(text) + "'");
      }
    }
    if (value >= 0) {
      if (shape.size() == kMaxDims) {
        fail("npy header: more than " + std::to_string(kMaxDims) + " dimensions");
      }
      shape.push_back(value);
    }
    return shape;
  }

  // Parses and checks everything before the data; on return the stream is at the data, which
  // holds exactly *data_size bytes (bounded by the file size). `required`: read_f32's type.
  RawArray read_header(std::optional<ElementType> required, std::uint64_t* data_size) {
    in_.open(path_, std::ios::binary);
    if (!in_) {
      std::error_code ec;
      if (fs::exists(path_, ec)) {
        throw Error(ErrorKind::Io, path_.string() + ": cannot open for reading");
      }
      throw Error(ErrorKind::NotFound, path_.string() + ": cannot open");
    }
    std::error_code ec;
    const std::uint64_t file_size = fs::file_size(path_, ec);
    if (ec) {
      throw Error(ErrorKind::Io, path_.string() + ": cannot read the file size: " + ec.message());
    }

    char start[12] = {};
    const auto start_size = static_cast<std::size_t>(std::min<std::uint64_t>(file_size, 12));
    read_into(start, start_size);
    if (start_size < kMagicSize + 2 || std::memcmp(start, kMagic, kMagicSize) != 0) {
      fail("not a .npy file (missing the \\x93NUMPY magic)");
    }
    const int major = static_cast<unsigned char>(start[6]);
    const int minor = static_cast<unsigned char>(start[7]);
    if (major < 1 || major > 3 || minor != 0) {
      fail("unsupported .npy format version " + std::to_string(major) + "." +
           std::to_string(minor) + " (1.0, 2.0 and 3.0 are read)");
    }
    // 1.0 has a 2-byte header length, 2.0 and 3.0 (UTF-8 header) a 4-byte one.
    const std::size_t length_size = major == 1 ? 2 : 4;
    const std::uint64_t prefix = kMagicSize + 2 + length_size;
    if (file_size < prefix) fail("truncated header: the file ends inside the npy prefix");
    std::uint64_t header_size = 0;
    for (std::size_t i = 0; i < length_size; ++i) {
      header_size |= std::uint64_t{static_cast<unsigned char>(start[8 + i])} << (8 * i);
    }
    if (header_size > file_size - prefix) {
      fail("npy header length " + std::to_string(header_size) + " is past the end of the file (" +
           std::to_string(file_size) + " bytes)");
    }

    std::string header(static_cast<std::size_t>(header_size), '\0');
    in_.seekg(static_cast<std::streamoff>(prefix));
    read_into(header.data(), header.size());
    RawArray array;
    array.type = parse_descr(dict_value(header, "descr"));
    if (required && array.type != *required) {
      fail("descr is '" + std::string(descr(array.type)) + "' (" +
           std::string(type_name(array.type)) + "), not '" + std::string(descr(*required)) + "'");
    }
    const std::string_view order = dict_value(header, "fortran_order");
    if (order == "True") {
      fail("Fortran-order arrays are not supported (write with np.ascontiguousarray)");
    }
    if (order != "False") {
      fail("npy header: fortran_order '" + std::string(order) + "' is not False");
    }
    array.shape = parse_shape(dict_value(header, "shape"));

    const auto want = checked_bytes(array.shape, item_size(array.type));
    if (!want) fail("npy shape " + shape_tuple(array.shape) + " overflows 64-bit sizes");
    const std::uint64_t have = file_size - prefix - header_size;
    if (*want != have) {
      fail("npy data holds " + std::to_string(have) + " bytes, the shape needs " +
           std::to_string(*want));
    }
    *data_size = have;
    return array;
  }

  void read_into(void* destination, std::uint64_t size) {
    if (!in_.read(static_cast<char*>(destination), static_cast<std::streamsize>(size))) {
      throw Error(ErrorKind::Io, path_.string() + ": read failed");
    }
  }

 private:
  const fs::path& path_;
  std::string_view context_;
  std::ifstream in_;
};

// ---- writing ----

void write_array(const fs::path& path, ElementType type, std::span<const std::int64_t> shape,
                 std::span<const std::byte> bytes) {
  for (const auto dim : shape) {
    if (dim < 0)
      throw Error(ErrorKind::InvalidArgument, path.string() + ": negative dimension in npy shape");
  }
  if (shape.size() > kMaxDims) {
    throw Error(ErrorKind::InvalidArgument,
                path.string() + ": npy shape has " + std::to_string(shape.size()) +
                    " dimensions, at most " + std::to_string(kMaxDims) + " are written");
  }
  const std::size_t item = item_size(type);
  const auto want = checked_bytes(shape, item);
  if (!want) {
    throw Error(ErrorKind::InvalidArgument,
                path.string() + ": npy shape " + shape_tuple(shape) + " overflows 64-bit sizes");
  }
  if (*want != bytes.size()) {
    const std::string got = bytes.size() % item == 0 ? std::to_string(bytes.size() / item)
                                                     : std::to_string(bytes.size()) + " bytes of " +
                                                           std::string(type_name(type));
    throw Error(ErrorKind::InvalidArgument, path.string() + ": npy shape " + shape_tuple(shape) +
                                                " holds " + std::to_string(*want / item) +
                                                " values, got " + got);
  }
  std::string header = "{'descr': '" + std::string(descr(type)) +
                       "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64,
  // ending in '\n' (the format's alignment rule). At most kMaxDims dims of at most 19 digits keep
  // the header far below the 1.0 limit of 65535 bytes.
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
        .write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw Error(ErrorKind::Io, temp.string() + ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error(ErrorKind::Io,
                path.string() + ": cannot move the written file into place: " + ec.message());
  }
}

}  // namespace

std::string_view descr(ElementType type) noexcept {
  return entry(type).descr;
}
std::string_view type_name(ElementType type) noexcept {
  return entry(type).name;
}
std::size_t item_size(ElementType type) noexcept {
  return entry(type).size;
}

RawArray read_raw(const fs::path& path) {
  Reader reader(path, "");
  std::uint64_t size = 0;
  RawArray array = reader.read_header(std::nullopt, &size);
  array.bytes.resize(static_cast<std::size_t>(size));
  reader.read_into(array.bytes.data(), size);
  return array;
}

void write_raw(const fs::path& path, const RawArray& array) {
  write_array(path, array.type, array.shape, array.bytes);
}

void write_f32(const fs::path& path, std::span<const std::int64_t> shape,
               std::span<const float> values) {
  write_array(path, ElementType::Float32, shape, std::as_bytes(values));
}

void write_i64(const fs::path& path, std::span<const std::int64_t> shape,
               std::span<const std::int64_t> values) {
  write_array(path, ElementType::Int64, shape, std::as_bytes(values));
}

Array<float> read_f32(const fs::path& path) {
  Reader reader(path, "not a float32 C-order .npy file: ");
  std::uint64_t size = 0;
  Array<float> array;
  array.shape = reader.read_header(ElementType::Float32, &size).shape;
  array.values.resize(static_cast<std::size_t>(size / sizeof(float)));
  reader.read_into(array.values.data(), size);
  return array;
}

}  // namespace vlmrt::npy
