#include "npy.hpp"

#include <array>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace vlmrt::onnx_check {
namespace {

struct TypeEntry {
  NpyType type;
  const char* descr;  // numpy's dtype.str for the little-endian layout
  const char* name;
  size_t size;
};

constexpr std::array<TypeEntry, 8> kTypes = {{
    {NpyType::kFloat32, "<f4", "float32", 4},
    {NpyType::kFloat16, "<f2", "float16", 2},
    {NpyType::kFloat64, "<f8", "float64", 8},
    {NpyType::kInt64, "<i8", "int64", 8},
    {NpyType::kInt32, "<i4", "int32", 4},
    {NpyType::kInt8, "|i1", "int8", 1},
    {NpyType::kUint8, "|u1", "uint8", 1},
    {NpyType::kBool, "|b1", "bool", 1},
}};

const TypeEntry& entry(NpyType type) {
  for (const auto& e : kTypes) {
    if (e.type == type) return e;
  }
  throw std::logic_error("unknown NpyType");
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

// The value of 'key' in the header dict, up to the next top-level ',' or '}' (a shape tuple
// keeps its inner commas).
std::string_view dict_value(std::string_view header, std::string_view key,
                            const std::string& path) {
  std::string quoted(1, '\'');  // built by appends: GCC 12 warns falsely on "'" + string
  quoted.append(key);
  quoted.push_back('\'');
  const size_t at = header.find(quoted);
  if (at == std::string_view::npos) fail(path, "npy header has no '" + std::string(key) + "'");
  size_t pos = header.find(':', at + quoted.size());
  if (pos == std::string_view::npos) fail(path, "npy header: no ':' after " + quoted);
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  size_t end = pos;
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

std::vector<int64_t> parse_shape(std::string_view text, const std::string& path) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    fail(path, "npy header: shape '" + std::string(text) + "' is not a tuple");
  }
  std::vector<int64_t> shape;
  int64_t value = -1;
  for (char c : text.substr(1, text.size() - 2)) {
    if (c >= '0' && c <= '9') {
      if (value < 0) value = 0;
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        fail(path, "npy header: a dimension of the shape overflows int64");
      }
      value = value * 10 + (c - '0');
    } else if (c == ',') {
      if (value < 0) fail(path, "npy header: empty dimension in shape");
      shape.push_back(value);
      value = -1;
    } else if (c != ' ' && c != 'L') {
      fail(path, "npy header: unexpected character in shape '" + std::string(text) + "'");
    }
  }
  if (value >= 0) shape.push_back(value);
  if (shape.size() > 16) fail(path, "npy header: more than 16 dimensions");
  return shape;
}

// Element count of `shape`, or throws when it (times the item size) overflows size_t.
size_t checked_bytes(const std::vector<int64_t>& shape, size_t item, const std::string& path) {
  size_t count = 1;
  for (int64_t d : shape) {
    const auto dim = static_cast<size_t>(d);
    if (dim != 0 && count > std::numeric_limits<size_t>::max() / dim) {
      fail(path, "shape element count overflows");
    }
    count *= dim;
  }
  if (count > std::numeric_limits<size_t>::max() / item) fail(path, "shape byte size overflows");
  return count * item;
}

}  // namespace

const char* npy_type_name(NpyType type) {
  return entry(type).name;
}
size_t npy_item_size(NpyType type) {
  return entry(type).size;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open .npy file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    fail(path, "not a .npy file (missing the \\x93NUMPY magic)");
  }
  const int major = bytes[6];
  size_t prefix = 0;
  size_t header_len = 0;
  if (major == 1) {
    prefix = 10;
    header_len = bytes[8] | (size_t{bytes[9]} << 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "npy header length is past the end of the file");
    prefix = 12;
    header_len =
        bytes[8] | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) | (size_t{bytes[11]} << 24);
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - prefix)
    fail(path, "npy header length is past the end of the file");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + prefix), header_len);

  NpyArray array;
  std::string_view descr = dict_value(header, "descr", path);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) {
    fail(path, "npy header: descr is not a string");
  }
  descr = descr.substr(1, descr.size() - 2);
  bool known = false;
  for (const auto& e : kTypes) {
    // numpy writes '|b1'/'|u1'/'|i1' for one-byte types; accept '<' too for them.
    const std::string_view want(e.descr);
    if (descr == want || (e.size == 1 && descr.size() == 3 && descr.substr(1) == want.substr(1))) {
      array.type = e.type;
      known = true;
    }
  }
  if (!known) {
    fail(path, "npy dtype '" + std::string(descr) +
                   "' is not supported (little-endian f4, f2, f8, i8, i4, i1, u1 or b1 expected)");
  }
  if (dict_value(header, "fortran_order", path) != "False") {
    fail(path, "Fortran-order arrays are not supported (write with np.ascontiguousarray)");
  }
  array.shape = parse_shape(dict_value(header, "shape", path), path);
  const size_t want = checked_bytes(array.shape, npy_item_size(array.type), path);
  const size_t have = bytes.size() - prefix - header_len;
  if (want != have) {
    fail(path, "npy data holds " + std::to_string(have) + " bytes, the shape needs " +
                   std::to_string(want));
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(prefix + header_len), bytes.end());
  return array;
}

void write_npy(const std::string& path, const NpyArray& array) {
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    shape += std::to_string(array.shape[i]);
    if (i + 1 < array.shape.size() || array.shape.size() == 1) shape += ",";
    if (i + 1 < array.shape.size()) shape += " ";
  }
  shape += ")";
  std::string header = "{'descr': '" + std::string(entry(array.type).descr) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Total prefix + header is padded to a multiple of 64 and ends in '\n' (npy format 1.0).
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) fail(path, "npy header too long for format 1.0");
  std::ofstream out(path, std::ios::binary);
  if (!out) fail(path, "cannot create output file");
  const char prefix[10] = {'\x93',
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           static_cast<char>(header.size() & 0xff),
                           static_cast<char>(header.size() >> 8)};
  out.write(prefix, sizeof(prefix));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(array.data.data()),
            static_cast<std::streamsize>(array.data.size()));
  if (!out) fail(path, "write failed");
}

}  // namespace vlmrt::onnx_check
