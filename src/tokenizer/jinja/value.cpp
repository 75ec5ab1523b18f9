#include "tokenizer/jinja/value.hpp"

#include "core/utf8.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace vlmrt::jinja {

const Value* Namespace::find(std::string_view name) const {
  for (const auto& [key, value] : attributes)
    if (key == name) return &value;
  return nullptr;
}

void Namespace::set(const std::string& name, Value value) {
  for (auto& [key, existing] : attributes)
    if (key == name) {
      existing = std::move(value);
      return;
    }
  attributes.emplace_back(name, std::move(value));
}

Value::Value(Json data) : kind_(Kind::Data), data_(std::make_shared<const Json>(std::move(data))) {}
Value::Value(std::shared_ptr<const Json> data) : kind_(Kind::Data), data_(std::move(data)) {}
Value::Value(std::shared_ptr<Namespace> ns) : kind_(Kind::Namespace), ns_(std::move(ns)) {}
Value::Value(std::shared_ptr<const Callable> fn) : kind_(Kind::Callable), fn_(std::move(fn)) {}

Value Value::undefined(std::string hint) {
  Value v;
  v.hint_ = std::move(hint);
  return v;
}

void fail(const std::string& message) {
  throw TemplateError(message);
}

bool truthy(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::Undefined:
      return false;
    case Value::Kind::Namespace:
    case Value::Kind::Callable:
      return true;
    case Value::Kind::Data:
      break;
  }
  const Json& d = value.data();
  switch (d.type()) {
    case Json::value_t::null:
      return false;
    case Json::value_t::boolean:
      return d.get<bool>();
    case Json::value_t::number_integer:
      return d.get<std::int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return d.get<std::uint64_t>() != 0;
    case Json::value_t::number_float:
      return d.get<double>() != 0.0;
    case Json::value_t::string:
      return !d.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object:
      return !d.empty();
    default:
      return true;
  }
}

// Python's float repr: the shortest round-trip digits, fixed notation for exponents -4..15,
// otherwise d.ddde+XX.
std::string py_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string sci(buffer, result.ptr);
  const auto e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  if (exponent >= -4 && exponent < 16) {
    std::string out;
    if (exponent < 0) {
      out = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else {
      const auto int_len = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out = digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    }
    return sign + out;
  }
  std::string out = digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_text[16];
  std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return sign + out + exp_text;
}

namespace {

void append_hex_escape(std::string& out, char32_t c) {
  char text[16];
  if (c < 0x100)
    std::snprintf(text, sizeof text, "\\x%02x", static_cast<unsigned>(c));
  else
    std::snprintf(text, sizeof text, "\\u%04x", static_cast<unsigned>(c));
  out += text;
}

std::string repr_string(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      append_hex_escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::string number_str(const Json& d) {
  if (d.is_number_unsigned()) return std::to_string(d.get<std::uint64_t>());
  if (d.is_number_integer()) return std::to_string(d.get<std::int64_t>());
  return py_float_repr(d.get<double>());
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char text[8];
          std::snprintf(text, sizeof text, "\\u%04x", static_cast<unsigned>(c));
          out += text;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void dump(std::string& out, const Json& d, int indent, bool sort_keys, int depth) {
  const auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * level), ' ');
  };
  switch (d.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += d.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_float: {
      const double v = d.get<double>();
      if (std::isnan(v))
        out += "NaN";
      else if (std::isinf(v))
        out += v < 0 ? "-Infinity" : "Infinity";
      else
        out += py_float_repr(v);
      return;
    }
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      out += number_str(d);
      return;
    case Json::value_t::string:
      json_string(out, d.get_ref<const std::string&>());
      return;
    case Json::value_t::array: {
      if (d.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& item : d) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        dump(out, item, indent, sort_keys, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case Json::value_t::object: {
      if (d.empty()) {
        out += "{}";
        return;
      }
      std::vector<std::pair<const std::string*, const Json*>> items;
      for (auto it = d.begin(); it != d.end(); ++it) items.emplace_back(&it.key(), &it.value());
      if (sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](const auto& a, const auto& b) { return *a.first < *b.first; });
      out += '{';
      bool first = true;
      for (const auto& [key, item] : items) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        json_string(out, *key);
        out += ": ";
        dump(out, *item, indent, sort_keys, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    default:
      fail("tojson: cannot serialise a binary value");
  }
}

}  // namespace

std::string py_repr(const Json& d) {
  switch (d.type()) {
    case Json::value_t::string:
      return repr_string(d.get_ref<const std::string&>());
    case Json::value_t::array: {
      std::string out = "[";
      bool first = true;
      for (const auto& item : d) {
        if (!first) out += ", ";
        first = false;
        out += py_repr(item);
      }
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (auto it = d.begin(); it != d.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        out += repr_string(it.key()) + ": " + py_repr(it.value());
      }
      return out + "}";
    }
    default:
      return py_str(d);
  }
}

std::string py_str(const Json& d) {
  switch (d.type()) {
    case Json::value_t::null:
      return "None";
    case Json::value_t::boolean:
      return d.get<bool>() ? "True" : "False";
    case Json::value_t::string:
      return d.get<std::string>();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return number_str(d);
    default:
      return py_repr(d);
  }
}

std::string to_str(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::Undefined:
      return "";
    case Value::Kind::Namespace:
      return "<Namespace " + py_repr(to_json(value, true)) + ">";
    case Value::Kind::Callable:
      return "<function " + value.callable()->name + ">";
    case Value::Kind::Data:
      break;
  }
  return py_str(value.data());
}

Json to_json(const Value& value, bool lenient) {
  switch (value.kind()) {
    case Value::Kind::Data:
      return value.data();
    case Value::Kind::Namespace: {
      Json object = Json::object();
      for (const auto& [key, item] : value.ns()->attributes) object[key] = to_json(item, lenient);
      return object;
    }
    case Value::Kind::Undefined:
      if (lenient) return nullptr;
      fail("cannot use an undefined value" +
           (value.hint().empty() ? "" : " ('" + value.hint() + "')") + " as data");
    case Value::Kind::Callable:
      break;
  }
  fail("cannot use function '" + value.callable()->name + "' as data");
}

std::string py_json_dumps(const Json& data, int indent, bool sort_keys) {
  std::string out;
  dump(out, data, indent, sort_keys, 0);
  return out;
}

namespace {

bool is_numeric(const Json& d) {
  return d.is_number() || d.is_boolean();
}

double as_double(const Json& d) {
  if (d.is_boolean()) return d.get<bool>() ? 1.0 : 0.0;
  return d.get<double>();
}

// Exact when both are integers (doubles lose precision past 2^53).
int compare_numbers(const Json& a, const Json& b) {
  const bool ai = !a.is_number_float(), bi = !b.is_number_float();
  if (ai && bi && !a.is_number_unsigned() && !b.is_number_unsigned()) {
    const auto x = a.is_boolean() ? std::int64_t{a.get<bool>()} : a.get<std::int64_t>();
    const auto y = b.is_boolean() ? std::int64_t{b.get<bool>()} : b.get<std::int64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const double x = as_double(a), y = as_double(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

int compare_data(const Json& a, const Json& b) {
  if (is_numeric(a) && is_numeric(b)) return compare_numbers(a, b);
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_array() && b.is_array()) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (data_equals(a[i], b[i])) continue;
      return compare_data(a[i], b[i]);
    }
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
  }
  fail("cannot order " + std::string(a.type_name()) + " and " + b.type_name());
}

}  // namespace

bool data_equals(const Json& a, const Json& b) {
  if (is_numeric(a) && is_numeric(b)) return compare_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!data_equals(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      if (other == b.end() || !data_equals(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool equals(const Value& a, const Value& b) {
  if (a.is_data() && b.is_data()) return data_equals(a.data(), b.data());
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.kind() == Value::Kind::Namespace && b.kind() == Value::Kind::Namespace)
    return a.ns() == b.ns();
  if (a.kind() == Value::Kind::Callable && b.kind() == Value::Kind::Callable)
    return a.callable() == b.callable();
  return false;
}

int compare(const Value& a, const Value& b) {
  if (!a.is_data() || !b.is_data()) fail("cannot order " + type_name(a) + " and " + type_name(b));
  return compare_data(a.data(), b.data());
}

// str.isspace(): ASCII whitespace, the information separators 0x1c-0x1f, and Unicode spaces.
bool py_isspace(char32_t c) {
  if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)) return true;
  switch (c) {
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200a;
  }
}

std::string type_name(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::Undefined:
      return "undefined";
    case Value::Kind::Namespace:
      return "namespace";
    case Value::Kind::Callable:
      return "function";
    case Value::Kind::Data:
      break;
  }
  switch (value.data().type()) {
    case Json::value_t::null:
      return "none";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_float:
      return "float";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "list";
    case Json::value_t::object:
      return "dict";
    default:
      return "binary";
  }
}

}  // namespace vlmrt::jinja
