// Reading JSON configuration files with errors that name the file and the field at fault.
//
// Typed getters take a `where` label such as "config.json: text_config" so a failure reads
// "config.json: field 'text_config.hidden_size' must be an integer, found string".
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "vlmrt/errors.hpp"

namespace vlmrt::json {

using Json = nlohmann::json;

// Parses a whole file. Missing file → NotFound; unreadable → Io; malformed → Format (with the
// parser's byte position). Files over `max_bytes` are refused (LimitExceeded).
Json read_file(const std::filesystem::path& path, std::uint64_t max_bytes = 256ull << 20);
Json parse(std::string_view text, const std::string& source_name);

// A label for a nested object: child_where("config.json", "text_config") → "config.json:
// text_config".
std::string child_where(const std::string& where, std::string_view key);

namespace detail {
[[noreturn]] void throw_missing(const std::string& where, std::string_view key);
[[noreturn]] void throw_wrong_type(const std::string& where, std::string_view key,
                                   std::string_view expected, const Json& found);
[[noreturn]] void throw_not_object(const std::string& where);
template <typename T>
constexpr std::string_view type_label() {
  if constexpr (std::is_same_v<T, bool>)
    return "a boolean";
  else if constexpr (std::is_integral_v<T>)
    return "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (std::is_same_v<T, Json>)
    return "a JSON value";
  else
    return "a value of the expected type";
}
template <typename T>
bool holds(const Json& value) {
  if constexpr (std::is_same_v<T, bool>)
    return value.is_boolean();
  else if constexpr (std::is_integral_v<T>) {
    if (value.is_number_integer()) return true;
    // 3.0 written for an integer field is accepted when it is integral.
    return value.is_number_float() &&
           value.get<double>() == static_cast<double>(static_cast<long long>(value.get<double>()));
  } else if constexpr (std::is_floating_point_v<T>)
    return value.is_number();
  else if constexpr (std::is_same_v<T, std::string>)
    return value.is_string();
  else
    return true;
}
template <typename T>
T convert(const Json& value, const std::string& where, std::string_view key) {
  if (!holds<T>(value)) throw_wrong_type(where, key, type_label<T>(), value);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    const long double v = value.is_number_unsigned()
                              ? static_cast<long double>(value.get<std::uint64_t>())
                              : static_cast<long double>(value.get<double>());
    if (value.is_number_integer() && !value.is_number_unsigned()) {
      const auto i = value.get<std::int64_t>();
      if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          (i > 0 && static_cast<std::uint64_t>(i) >
                        static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
        throw_wrong_type(where, key, "an integer in range", value);
      return static_cast<T>(i);
    }
    if (v < static_cast<long double>(std::numeric_limits<T>::min()) ||
        v > static_cast<long double>(std::numeric_limits<T>::max()))
      throw_wrong_type(where, key, "an integer in range", value);
    return static_cast<T>(v);
  } else {
    return value.get<T>();
  }
}
}  // namespace detail

// The value of `key` in `object`; throws Format naming the field when missing or mistyped.
template <typename T>
T get(const Json& object, std::string_view key, const std::string& where) {
  if (!object.is_object()) detail::throw_not_object(where);
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) detail::throw_missing(where, key);
  return detail::convert<T>(*it, where, key);
}

// The value of `key`, or nullopt when absent or null; a present value of the wrong type throws.
template <typename T>
std::optional<T> get_optional(const Json& object, std::string_view key, const std::string& where) {
  if (!object.is_object()) detail::throw_not_object(where);
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return detail::convert<T>(*it, where, key);
}

template <typename T>
T get_or(const Json& object, std::string_view key, T fallback, const std::string& where) {
  auto value = get_optional<T>(object, key, where);
  return value ? std::move(*value) : std::move(fallback);
}

}  // namespace vlmrt::json
