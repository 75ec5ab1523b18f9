// Reading safetensors files: header validation (parse_safetensors_header) and SafetensorsFile.
#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

#include "core/mapped_file.hpp"
#include "core/safetensors.hpp"
#include "core/safetensors_internal.hpp"
#include "core/strict_json.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {

namespace safetensors_detail {

std::string quote(std::string_view name) {
  constexpr std::size_t kMaxShown = 120;
  if (name.size() <= kMaxShown) return "'" + std::string(name) + "'";
  std::size_t cut = kMaxShown;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xc0) == 0x80) --cut;
  return "'" + std::string(name.substr(0, cut)) + "...'";
}

std::string shape_string(std::span<const std::int64_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

std::optional<std::uint64_t> checked_element_count(std::span<const std::int64_t> shape) noexcept {
  std::uint64_t count = 1;
  for (const std::int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    const auto product = checked_mul(count, static_cast<std::uint64_t>(dim));
    if (!product || *product > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    count = *product;
  }
  return count;
}

}  // namespace safetensors_detail

using safetensors_detail::quote;
using safetensors_detail::shape_string;

std::int64_t TensorInfo::element_count() const noexcept {
  const auto count = safetensors_detail::checked_element_count(shape);
  return count ? static_cast<std::int64_t>(*count) : -1;
}

namespace {

constexpr std::string_view kMetadataKey = "__metadata__";
// A header is {name: {dtype, shape: [..]}} plus __metadata__ {str: str}: three levels. The cap
// keeps hostile nesting from costing time and memory.
constexpr std::size_t kMaxHeaderDepth = 8;

std::string json_type(const json::Json& value) {
  std::string type = value.type_name();  // "number" for all numbers; say which kind for dims
  if (value.is_number_float()) type = "non-integer number";
  return type;
}

class HeaderParser {
 public:
  HeaderParser(const std::string& source, const SafetensorsLimits& limits, std::uint64_t data_size)
      : source_(source), limits_(limits), data_size_(data_size) {}

  TensorInfo tensor(const std::string& name, const json::Json& entry) const {
    const std::string where = source_ + ": tensor " + quote(name);
    if (!entry.is_object())
      throw Error(ErrorKind::Format, where + ": entry must be an object with dtype, shape and " +
                                         "data_offsets, found " + json_type(entry));
    TensorInfo info;
    info.name = name;
    info.dtype = dtype(where, field(where, entry, "dtype"));
    info.shape = shape(where, field(where, entry, "shape"));
    std::tie(info.data_begin, info.data_end) = offsets(where, field(where, entry, "data_offsets"));

    const auto count = safetensors_detail::checked_element_count(info.shape);
    const auto needed =
        count ? safetensors_detail::checked_mul(*count, dtype_size(info.dtype)) : std::nullopt;
    if (!count || !needed)
      throw Error(ErrorKind::Format, where + ": shape " + shape_string(info.shape) + " of " +
                                         std::string(dtype_name(info.dtype)) +
                                         " has more elements or bytes than fit in 64 bits");
    if (info.byte_size() != *needed)
      throw Error(ErrorKind::Format, where + ": data_offsets " + offsets_string(info) + " hold " +
                                         std::to_string(info.byte_size()) + " bytes but shape " +
                                         shape_string(info.shape) + " of " +
                                         std::string(dtype_name(info.dtype)) + " needs " +
                                         std::to_string(*needed));
    return info;
  }

  std::map<std::string, std::string> metadata(const json::Json& value) const {
    const std::string where = source_ + ": " + std::string(kMetadataKey);
    if (!value.is_object())
      throw Error(ErrorKind::Format,
                  where + " must be an object of strings, found " + json_type(value));
    std::map<std::string, std::string> result;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string())
        throw Error(ErrorKind::Format, where + ": value of " + quote(key) +
                                           " must be a string, found " + json_type(item));
      result.emplace(key, item.get<std::string>());
    }
    return result;
  }

  static std::string offsets_string(const TensorInfo& info) {
    return "[" + std::to_string(info.data_begin) + ", " + std::to_string(info.data_end) + "]";
  }

 private:
  static const json::Json& field(const std::string& where, const json::Json& entry,
                                 const char* key) {
    const auto it = entry.find(key);
    if (it == entry.end()) throw Error(ErrorKind::Format, where + ": '" + key + "' is missing");
    return *it;
  }

  DType dtype(const std::string& where, const json::Json& value) const {
    if (!value.is_string())
      throw Error(ErrorKind::Format,
                  where + ": 'dtype' must be a string, found " + json_type(value));
    const auto& name = value.get_ref<const std::string&>();
    const auto dtype = dtype_from_name(name);
    if (!dtype)
      throw Error(ErrorKind::Unsupported,
                  where + " has dtype " + quote(name) +
                      ", which vlmrt does not support (supported: F32, F16, BF16, I64, I32, U8, "
                      "I8, BOOL)");
    return *dtype;
  }

  std::vector<std::int64_t> shape(const std::string& where, const json::Json& value) const {
    if (!value.is_array())
      throw Error(ErrorKind::Format,
                  where + ": 'shape' must be an array of integers, found " + json_type(value));
    if (value.size() > limits_.max_rank)
      throw Error(ErrorKind::LimitExceeded, where + ": shape has " + std::to_string(value.size()) +
                                                " dims, more than the limit of " +
                                                std::to_string(limits_.max_rank));
    std::vector<std::int64_t> dims;
    dims.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
      const auto& dim = value[i];
      const std::string label = where + ": shape dim " + std::to_string(i);
      if (dim.is_number_unsigned()) {
        const auto v = dim.get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          throw Error(ErrorKind::Format, label + " is " + std::to_string(v) + ", above 2^63-1");
        dims.push_back(static_cast<std::int64_t>(v));
      } else if (dim.is_number_integer()) {
        throw Error(ErrorKind::Format, label + " is " + std::to_string(dim.get<std::int64_t>()) +
                                           "; dims must be >= 0");
      } else {
        throw Error(ErrorKind::Format,
                    label + " must be a non-negative integer, found " + json_type(dim));
      }
    }
    return dims;
  }

  std::pair<std::uint64_t, std::uint64_t> offsets(const std::string& where,
                                                  const json::Json& value) const {
    if (!value.is_array() || value.size() != 2)
      throw Error(ErrorKind::Format,
                  where + ": 'data_offsets' must be an array [begin, end] of two integers, found " +
                      (value.is_array() ? "an array of " + std::to_string(value.size())
                                        : json_type(value)));
    for (const auto& item : value)
      if (!item.is_number_unsigned())
        throw Error(ErrorKind::Format,
                    where + ": 'data_offsets' must hold non-negative integers, found " +
                        (item.is_number_integer() ? std::to_string(item.get<std::int64_t>())
                                                  : json_type(item)));
    const auto begin = value[0].get<std::uint64_t>();
    const auto end = value[1].get<std::uint64_t>();
    const std::string shown = "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (end < begin)
      throw Error(ErrorKind::Format, where + ": data_offsets " + shown + " end before they begin");
    if (end > data_size_)
      throw Error(ErrorKind::Format, where + ": data_offsets " + shown +
                                         " run past the end of the data section (" +
                                         std::to_string(data_size_) + " bytes)");
    return {begin, end};
  }

  const std::string& source_;
  const SafetensorsLimits& limits_;
  std::uint64_t data_size_;
};

void check_no_overlap(const std::vector<TensorInfo>& sorted, const std::string& source) {
  const TensorInfo* furthest = nullptr;  // the non-empty tensor reaching furthest so far
  for (const auto& info : sorted) {
    if (info.byte_size() == 0) continue;  // an empty tensor occupies no bytes
    if (furthest != nullptr && info.data_begin < furthest->data_end)
      throw Error(ErrorKind::Format,
                  source + ": tensors " + quote(furthest->name) + " " +
                      HeaderParser::offsets_string(*furthest) + " and " + quote(info.name) + " " +
                      HeaderParser::offsets_string(info) + " overlap in the data section");
    if (furthest == nullptr || info.data_end > furthest->data_end) furthest = &info;
  }
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes,
                                           const std::string& source,
                                           const SafetensorsLimits& limits) {
  if (file_bytes.size() < 8)
    throw Error(ErrorKind::Format, source + ": file is " + std::to_string(file_bytes.size()) +
                                       " bytes, too short for the 8-byte header length");
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i)  // little-endian, whatever the host order
    header_length = (header_length << 8) | std::to_integer<std::uint64_t>(file_bytes[i]);
  if (header_length > limits.max_header_bytes)
    throw Error(ErrorKind::LimitExceeded,
                source + ": header length " + std::to_string(header_length) +
                    " bytes is above the limit of " + std::to_string(limits.max_header_bytes));
  const std::uint64_t available = file_bytes.size() - 8;
  if (header_length > available)
    throw Error(ErrorKind::Format, source + ": header length " + std::to_string(header_length) +
                                       " runs past the end of the file (" +
                                       std::to_string(available) + " bytes follow it)");

  const std::string_view text(reinterpret_cast<const char*>(file_bytes.data()) + 8,
                              static_cast<std::size_t>(header_length));
  const json::Json root = json::parse_strict(text, source, "header", kMaxHeaderDepth);
  if (!root.is_object())
    throw Error(ErrorKind::Format,
                source + ": header must be a JSON object, found " + std::string(root.type_name()));

  SafetensorsHeader header;
  header.data_offset = 8 + header_length;
  header.data_size = available - header_length;
  const HeaderParser parser(source, limits, header.data_size);
  header.tensors.reserve(root.size());
  for (const auto& [name, entry] : root.items()) {
    if (name == kMetadataKey) {
      header.metadata = parser.metadata(entry);
    } else {
      header.tensors.push_back(parser.tensor(name, entry));
    }
  }
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.data_begin, a.data_end, a.name) <
                     std::tie(b.data_begin, b.data_end, b.name);
            });
  check_no_overlap(header.tensors, source);
  return header;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path,
                                      const SafetensorsLimits& limits) {
  auto mapping = std::make_unique<MappedFile>(MappedFile::open(path));
  SafetensorsHeader header = parse_safetensors_header(mapping->bytes(), path.string(), limits);

  SafetensorsFile file;
  file.path_ = path;
  file.data_section_ = mapping->bytes().subspan(static_cast<std::size_t>(header.data_offset));
  file.mapping_ = std::move(mapping);
  file.tensors_ = std::move(header.tensors);
  file.metadata_ = std::move(header.metadata);
  for (std::size_t i = 0; i < file.tensors_.size(); ++i)
    file.index_.emplace(file.tensors_[i].name, i);
  return file;
}

SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

const TensorInfo* SafetensorsFile::find(std::string_view name) const noexcept {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

TensorView SafetensorsFile::view(std::string_view name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr)
    throw Error(ErrorKind::NotFound,
                path_.string() + ": no tensor named " + safetensors_detail::quote(name));
  // Offsets were checked against the data section when the header was parsed.
  return {info, data_section_.subspan(static_cast<std::size_t>(info->data_begin),
                                      static_cast<std::size_t>(info->byte_size()))};
}

}  // namespace vlmrt
