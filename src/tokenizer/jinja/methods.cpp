// Attribute/item access, Python str and dict methods, and the template globals.
#include <utf8proc.h>

#include <ctime>

#include "tokenizer/jinja/builtins.hpp"

#include "core/utf8.hpp"
#include "tokenizer/jinja/string_ops.hpp"

namespace vlmrt::jinja {
namespace {

// jinja2's sandbox caps range() at this many items (MAX_RANGE).
constexpr std::int64_t kMaxRange = 100000;

Value make_function(std::string name, std::function<Value(CallArgs&)> fn) {
  return Value(std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)}));
}

void expect_arity(const CallArgs& args, std::size_t min, std::size_t max, const std::string& name) {
  const std::size_t n = args.positional.size() + args.keyword.size();
  if (n < min || n > max)
    fail(name + "() takes " +
         (min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max)) +
         " arguments, got " + std::to_string(n));
}

std::string string_arg(const Value& v, const std::string& what) {
  if (!v.is_string()) fail(what + " must be a string, got " + type_name(v));
  return v.data().get<std::string>();
}

// startswith/endswith accept a string or a tuple of strings.
bool affix_match(const std::string& s, const Value& affix, bool prefix, const std::string& what) {
  if (affix.is_array()) {
    for (const auto& item : affix.data()) {
      if (!item.is_string()) fail(what + "() tuple items must be strings");
      if (affix_match(s, Value(item), prefix, what)) return true;
    }
    return false;
  }
  const std::string a = string_arg(affix, what + "() argument");
  if (a.size() > s.size()) return false;
  return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
}

Value string_method(const Value& self, const std::string& name) {
  const std::string s = self.data().get<std::string>();
  const std::string label = "str." + name;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return make_function(label, [s, name, label](CallArgs& args) {
      expect_arity(args, 0, 1, label);
      const Value chars = arg_or(args, 0, "chars", Value(Json(nullptr)));
      const bool left = name != "rstrip", right = name != "lstrip";
      if (chars.is_none()) return Value(Json(py_strip(s, nullptr, left, right)));
      const std::string set = string_arg(chars, label + "() argument");
      return Value(Json(py_strip(s, &set, left, right)));
    });
  }
  if (name == "startswith" || name == "endswith") {
    return make_function(label, [s, name, label](CallArgs& args) {
      expect_arity(args, 1, 1, label);
      return Value(Json(affix_match(s, args.positional.at(0), name == "startswith", name)));
    });
  }
  if (name == "split" || name == "rsplit") {
    return make_function(label, [s, name, label](CallArgs& args) {
      expect_arity(args, 0, 2, label);
      const Value sep = arg_or(args, 0, "sep", Value(Json(nullptr)));
      const std::int64_t maxsplit =
          to_int(arg_or(args, 1, "maxsplit", Value(Json(-1))), "maxsplit");
      Json out = Json::array();
      const std::string sep_text = sep.is_none() ? "" : string_arg(sep, label + "() separator");
      if (!sep.is_none() && sep_text.empty()) fail(label + "(): empty separator");
      for (auto& piece :
           py_split(s, sep.is_none() ? nullptr : &sep_text, maxsplit, name == "rsplit"))
        out.push_back(std::move(piece));
      return Value(std::move(out));
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" ||
      name == "swapcase") {
    return make_function(label, [s, name, label](CallArgs& args) {
      expect_arity(args, 0, 0, label);
      if (name == "upper") return Value(Json(py_upper(s)));
      if (name == "lower") return Value(Json(py_lower(s)));
      if (name == "title") return Value(Json(py_title(s)));
      if (name == "capitalize") return Value(Json(py_capitalize(s)));
      return Value(Json(py_swapcase(s)));
    });
  }
  if (name == "replace") {
    return make_function(label, [s, label](CallArgs& args) {
      expect_arity(args, 2, 3, label);
      const std::string from = string_arg(args.positional.at(0), label + "() old");
      const std::string to = string_arg(args.positional.at(1), label + "() new");
      const std::int64_t count = to_int(arg_or(args, 2, "count", Value(Json(-1))), "count");
      return Value(Json(py_replace(s, from, to, count)));
    });
  }
  if (name == "join") {
    return make_function(label, [s, label](CallArgs& args) {
      expect_arity(args, 1, 1, label);
      std::string out;
      bool first = true;
      for (const Value& item : iterate(args.positional.at(0))) {
        if (!first) out += s;
        first = false;
        out += string_arg(item, label + "() item");
      }
      return Value(Json(std::move(out)));
    });
  }
  if (name == "find" || name == "count") {
    return make_function(label, [s, name, label](CallArgs& args) {
      expect_arity(args, 1, 1, label);
      const std::string needle = string_arg(args.positional.at(0), label + "() argument");
      if (name == "find") {
        const auto at = s.find(needle);
        return Value(Json(at == std::string::npos
                              ? std::int64_t{-1}
                              : static_cast<std::int64_t>(utf8::decode(s.substr(0, at)).size())));
      }
      return Value(Json(py_count(s, needle)));
    });
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isupper" ||
      name == "islower") {
    return make_function(label, [s, name, label](CallArgs& args) {
      expect_arity(args, 0, 0, label);
      return Value(Json(py_is(s, name)));
    });
  }
  return Value::undefined(name);
}

Value dict_method(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return make_function("dict." + name, [self, name](CallArgs& args) {
      expect_arity(args, 0, 0, "dict." + name);
      Json out = Json::array();
      for (auto it = self.data().begin(); it != self.data().end(); ++it) {
        if (name == "items")
          out.push_back(Json::array({it.key(), it.value()}));
        else if (name == "keys")
          out.push_back(it.key());
        else
          out.push_back(it.value());
      }
      return Value(std::move(out));
    });
  }
  if (name == "get") {
    return make_function("dict.get", [self](CallArgs& args) {
      expect_arity(args, 1, 2, "dict.get");
      const Value key = args.positional.at(0);
      if (key.is_string()) {
        const auto it = self.data().find(key.data().get<std::string>());
        if (it != self.data().end()) return self.child(*it);
      }
      return arg_or(args, 1, "default", Value(Json(nullptr)));
    });
  }
  return Value::undefined(name);
}

std::int64_t normalize_index(std::int64_t index, std::size_t size) {
  return index < 0 ? index + static_cast<std::int64_t>(size) : index;
}

}  // namespace

const Value* find_arg(const CallArgs& args, std::size_t index, std::string_view name) {
  if (index < args.positional.size()) return &args.positional[index];
  for (const auto& [key, value] : args.keyword)
    if (key == name) return &value;
  return nullptr;
}

Value arg_or(const CallArgs& args, std::size_t index, std::string_view name, Value fallback) {
  const Value* v = find_arg(args, index, name);
  return v ? *v : std::move(fallback);
}

std::int64_t to_int(const Value& value, const std::string& what) {
  if (value.is_bool()) return value.data().get<bool>() ? 1 : 0;
  if (!value.is_integer()) fail(what + " must be an integer, got " + type_name(value));
  if (value.data().is_number_unsigned()) {
    const auto u = value.data().get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) fail(what + " is out of range");
  }
  return value.data().get<std::int64_t>();
}

std::vector<Value> iterate(const Value& value) {
  std::vector<Value> out;
  if (value.is_undefined()) return out;  // jinja2's Undefined iterates as empty
  if (!value.is_data()) fail("'" + type_name(value) + "' object is not iterable");
  const Json& d = value.data();
  if (d.is_array()) {
    out.reserve(d.size());
    for (const auto& item : d) out.push_back(value.child(item));
  } else if (d.is_object()) {
    for (auto it = d.begin(); it != d.end(); ++it) out.emplace_back(Json(it.key()));
  } else if (d.is_string()) {
    for (char32_t c : utf8::decode(d.get_ref<const std::string&>()))
      out.emplace_back(Json(utf8::encode(std::u32string(1, c))));
  } else {
    fail("'" + type_name(value) + "' object is not iterable");
  }
  return out;
}

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::Undefined:
      fail("'" + (object.hint().empty() ? std::string("value") : object.hint()) +
           "' is undefined (reading attribute '" + name + "')");
    case Value::Kind::Namespace: {
      const Value* v = object.ns()->find(name);
      return v ? *v : Value::undefined(name);
    }
    case Value::Kind::Callable:
      return Value::undefined(name);
    case Value::Kind::Data:
      break;
  }
  const Json& d = object.data();
  if (d.is_string()) return string_method(object, name);
  if (d.is_object()) {
    Value method = dict_method(object, name);
    if (!method.is_undefined()) return method;
    const auto it = d.find(name);
    return it != d.end() ? object.child(*it) : Value::undefined(name);
  }
  return Value::undefined(name);
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined())
    fail("'" + (object.hint().empty() ? std::string("value") : object.hint()) +
         "' is undefined (reading an item)");
  if (object.kind() == Value::Kind::Namespace && key.is_string())
    return get_attribute(object, key.data().get<std::string>());
  if (!object.is_data()) return Value::undefined("item");
  const Json& d = object.data();
  if (d.is_array() && (key.is_integer() || key.is_bool())) {
    const std::int64_t i = normalize_index(to_int(key, "index"), d.size());
    if (i < 0 || i >= static_cast<std::int64_t>(d.size())) return Value::undefined("item");
    return object.child(d[static_cast<std::size_t>(i)]);
  }
  if (d.is_string() && (key.is_integer() || key.is_bool())) {
    const std::u32string text = utf8::decode(d.get_ref<const std::string&>());
    const std::int64_t i = normalize_index(to_int(key, "index"), text.size());
    if (i < 0 || i >= static_cast<std::int64_t>(text.size())) return Value::undefined("item");
    return Value(Json(utf8::encode(std::u32string(1, text[static_cast<std::size_t>(i)]))));
  }
  if (d.is_object() && key.is_string()) {
    const auto it = d.find(key.data().get<std::string>());
    if (it != d.end()) return object.child(*it);
  }
  if (key.is_string()) return get_attribute(object, key.data().get<std::string>());
  return Value::undefined("item");
}

Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  if (object.is_undefined()) fail("'" + object.hint() + "' is undefined (slicing)");
  const std::int64_t st = step.is_undefined() || step.is_none() ? 1 : to_int(step, "slice step");
  if (st == 0) fail("slice step cannot be zero");
  auto bound = [&](const Value& v, std::size_t size, bool is_start) -> std::int64_t {
    const auto n = static_cast<std::int64_t>(size);
    if (v.is_undefined() || v.is_none()) return is_start ? (st > 0 ? 0 : n - 1) : (st > 0 ? n : -1);
    std::int64_t i = to_int(v, "slice index");
    if (i < 0) i += n;
    if (st > 0) return std::clamp<std::int64_t>(i, 0, n);
    return std::clamp<std::int64_t>(i, -1, n - 1);
  };
  auto indices = [&](std::size_t size) {
    std::vector<std::size_t> out;
    const std::int64_t a = bound(start, size, true), b = bound(stop, size, false);
    for (std::int64_t i = a; st > 0 ? i < b : i > b; i += st)
      out.push_back(static_cast<std::size_t>(i));
    return out;
  };
  if (object.is_array()) {
    Json out = Json::array();
    for (std::size_t i : indices(object.data().size())) out.push_back(object.data()[i]);
    return Value(std::move(out));
  }
  if (object.is_string()) {
    const std::u32string text = utf8::decode(object.data().get_ref<const std::string&>());
    std::u32string out;
    for (std::size_t i : indices(text.size())) out += text[i];
    return Value(Json(utf8::encode(out)));
  }
  fail("cannot slice a " + type_name(object));
}

std::vector<std::pair<std::string, Value>> builtin_globals() {
  std::vector<std::pair<std::string, Value>> globals;
  globals.emplace_back("range", make_function("range", [](CallArgs& args) {
                         expect_arity(args, 1, 3, "range");
                         std::int64_t start = 0, stop = 0, step = 1;
                         if (args.positional.size() == 1) {
                           stop = to_int(args.positional[0], "range() stop");
                         } else {
                           start = to_int(args.positional.at(0), "range() start");
                           stop = to_int(args.positional.at(1), "range() stop");
                           if (args.positional.size() > 2)
                             step = to_int(args.positional[2], "range() step");
                         }
                         if (step == 0) fail("range() step must not be zero");
                         Json out = Json::array();
                         for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                           if (static_cast<std::int64_t>(out.size()) >= kMaxRange)
                             fail("range() is limited to " + std::to_string(kMaxRange) + " items");
                           out.push_back(i);
                         }
                         return Value(std::move(out));
                       }));
  globals.emplace_back("namespace", make_function("namespace", [](CallArgs& args) {
                         auto ns = std::make_shared<Namespace>();
                         for (const Value& initial : args.positional) {
                           if (!initial.is_object()) fail("namespace() takes a dict or keywords");
                           for (auto it = initial.data().begin(); it != initial.data().end(); ++it)
                             ns->set(it.key(), Value(it.value()));
                         }
                         for (auto& [key, value] : args.keyword) ns->set(key, value);
                         return Value(ns);
                       }));
  globals.emplace_back("dict", make_function("dict", [](CallArgs& args) {
                         Json out = Json::object();
                         for (auto& [key, value] : args.keyword) out[key] = to_json(value, true);
                         return Value(std::move(out));
                       }));
  globals.emplace_back(
      "raise_exception", make_function("raise_exception", [](CallArgs& args) -> Value {
        const Value* message = find_arg(args, 0, "message");
        throw Error(ErrorKind::InvalidArgument,
                    "chat template: " + (message ? to_str(*message) : std::string("error")));
      }));
  // HF exposes strftime_now(format) for templates that print today's date.
  globals.emplace_back(
      "strftime_now", make_function("strftime_now", [](CallArgs& args) {
        expect_arity(args, 1, 1, "strftime_now");
        const std::string format = string_arg(args.positional.at(0), "strftime_now() format");
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        char buffer[256];
        const std::size_t n = std::strftime(buffer, sizeof buffer, format.c_str(), &local);
        return Value(Json(std::string(buffer, n)));
      }));
  return globals;
}

}  // namespace vlmrt::jinja
