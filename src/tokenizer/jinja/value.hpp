// Values of the Jinja subset used by chat templates, with Python semantics (str(), repr(),
// truthiness, ==, ordering) since HF renders templates with Python's jinja2.
//
// Data is an immutable nlohmann::ordered_json (insertion order kept, as Python dicts do, so
// `tojson` prints keys in the order the caller wrote them). Sub-values alias their parent through
// shared_ptr's aliasing constructor, so `messages[0]['content']` copies nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vlmrt/errors.hpp"

#include "core/utf8.hpp"

namespace vlmrt::jinja {

using Json = nlohmann::ordered_json;

class Value;

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> call;
};

// namespace(): the one mutable object in Jinja (`{% set ns.x = 1 %}` escapes loop scopes).
struct Namespace {
  std::vector<std::pair<std::string, Value>> attributes;
  const Value* find(std::string_view name) const;
  void set(const std::string& name, Value value);
};

class Value {
 public:
  enum class Kind { Undefined, Data, Namespace, Callable };

  Value() = default;  // undefined
  Value(Json data);   // NOLINT(google-explicit-constructor): literals read naturally
  Value(std::shared_ptr<const Json> data);
  Value(std::shared_ptr<Namespace> ns);
  Value(std::shared_ptr<const Callable> fn);
  static Value undefined(std::string hint);

  Kind kind() const noexcept { return kind_; }
  bool is_undefined() const noexcept { return kind_ == Kind::Undefined; }
  bool is_data() const noexcept { return kind_ == Kind::Data; }
  const Json& data() const { return *data_; }
  // A child of this value's data that shares its storage (no copy).
  Value child(const Json& element) const {
    return Value(std::shared_ptr<const Json>(data_, &element));
  }
  const std::shared_ptr<Namespace>& ns() const noexcept { return ns_; }
  const std::shared_ptr<const Callable>& callable() const noexcept { return fn_; }
  // For undefined values: the expression that produced it, for error messages.
  const std::string& hint() const noexcept { return hint_; }

  bool is_string() const { return is_data() && data_->is_string(); }
  bool is_number() const { return is_data() && data_->is_number(); }
  bool is_integer() const { return is_data() && data_->is_number_integer(); }
  bool is_array() const { return is_data() && data_->is_array(); }
  bool is_object() const { return is_data() && data_->is_object(); }
  bool is_none() const { return is_data() && data_->is_null(); }
  bool is_bool() const { return is_data() && data_->is_boolean(); }

 private:
  Kind kind_ = Kind::Undefined;
  std::shared_ptr<const Json> data_;
  std::shared_ptr<Namespace> ns_;
  std::shared_ptr<const Callable> fn_;
  std::string hint_;
};

// Thrown by the engine for template faults (syntax, undefined access, type errors); render()
// turns it into a vlmrt::Error (Format) naming the template and line. raise_exception() in a
// template throws vlmrt::Error (InvalidArgument) directly: the conversation is at fault.
class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& message);

bool truthy(const Value& value);
// Python str() of a value as `{{ }}` prints it (undefined prints as "").
std::string to_str(const Value& value);
std::string py_str(const Json& data);
std::string py_repr(const Json& data);
std::string py_float_repr(double value);
// The value as plain data (namespaces become objects); callables and undefined are errors
// except undefined → null where `lenient`.
Json to_json(const Value& value, bool lenient = false);
// json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=sort_keys) — HF's tojson filter.
std::string py_json_dumps(const Json& data, int indent = -1, bool sort_keys = false);

// Python ==, and ordering (<0, 0, >0) that throws a Format error for unorderable types.
bool equals(const Value& a, const Value& b);
bool data_equals(const Json& a, const Json& b);
int compare(const Value& a, const Value& b);

bool py_isspace(char32_t c);

// A type name for messages ("string", "list", "dict", "int", "undefined", ...).
std::string type_name(const Value& value);

}  // namespace vlmrt::jinja
