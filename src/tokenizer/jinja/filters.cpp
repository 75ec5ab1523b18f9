// jinja2's built-in filters and tests (the subset chat templates use), with HF's tojson.
#include <algorithm>
#include <cmath>

#include "tokenizer/jinja/builtins.hpp"

#include "core/utf8.hpp"
#include "tokenizer/jinja/string_ops.hpp"

namespace vlmrt::jinja {
namespace {

std::string input_str(const Value& v) {
  return to_str(v);
}

// jinja2's attribute lookup for filters (selectattr, map, join): dotted paths, items or attrs.
Value attribute_path(const Value& item, const std::string& path) {
  Value current = item;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    current = numeric ? get_item(current, Value(Json(std::stoll(part))))
                      : get_item(current, Value(Json(part)));
    if (dot == std::string::npos || current.is_undefined()) return current;
    start = dot + 1;
  }
}

CallArgs rest_args(const CallArgs& args, std::size_t skip) {
  CallArgs rest;
  for (std::size_t i = skip; i < args.positional.size(); ++i)
    rest.positional.push_back(args.positional[i]);
  return rest;
}

Value select_items(const Value& input, const CallArgs& args, bool by_attribute, bool keep_when) {
  Json out = Json::array();
  const std::size_t test_index = by_attribute ? 1 : 0;
  const Value* test_name = find_arg(args, test_index, "test_name");
  std::string attr;
  if (by_attribute) {
    const Value* a = find_arg(args, 0, "attribute");
    if (!a || !a->is_string()) fail("selectattr/rejectattr need an attribute name");
    attr = a->data().get<std::string>();
  }
  for (const Value& item : iterate(input)) {
    const Value subject = by_attribute ? attribute_path(item, attr) : item;
    bool pass;
    if (test_name) {
      if (!test_name->is_string()) fail("the test name must be a string");
      CallArgs test_args = rest_args(args, test_index + 1);
      pass = apply_test(test_name->data().get<std::string>(), subject, test_args);
    } else {
      pass = truthy(subject);
    }
    if (pass == keep_when) out.push_back(to_json(item, true));
  }
  return Value(std::move(out));
}

Value to_number(const Value& input, const CallArgs& args, bool integer) {
  const Value fallback = arg_or(args, 0, "default", Value(Json(integer ? Json(0) : Json(0.0))));
  if (input.is_bool()) return Value(Json(input.data().get<bool>() ? 1 : 0));
  if (input.is_integer()) return integer ? input : Value(Json(input.data().get<double>()));
  if (input.is_number()) {
    const double d = input.data().get<double>();
    if (!integer) return input;
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return fallback;
    return Value(Json(static_cast<std::int64_t>(d)));
  }
  if (input.is_string()) {
    const std::string s = py_strip(input.data().get<std::string>(), nullptr, true, true);
    try {
      std::size_t used = 0;
      if (integer) {
        const long long v = std::stoll(s, &used, 10);
        if (used == s.size()) return Value(Json(static_cast<std::int64_t>(v)));
      }
      const double d = std::stod(s, &used);
      if (used == s.size())
        return integer ? Value(Json(static_cast<std::int64_t>(d))) : Value(Json(d));
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

}  // namespace

Value apply_filter(const std::string& name, const Value& input, CallArgs& args) {
  if (name == "default" || name == "d") {
    const bool boolean = truthy(arg_or(args, 1, "boolean", Value(Json(false))));
    if (input.is_undefined() || (boolean && !truthy(input)))
      return arg_or(args, 0, "default_value", Value(Json("")));
    return input;
  }
  if (name == "length" || name == "count") {
    if (input.is_undefined()) return Value(Json(0));
    if (input.is_string())
      return Value(
          Json(static_cast<std::int64_t>(utf8::decode(input.data().get<std::string>()).size())));
    if (input.is_array() || input.is_object())
      return Value(Json(static_cast<std::int64_t>(input.data().size())));
    if (input.kind() == Value::Kind::Namespace)
      return Value(Json(static_cast<std::int64_t>(input.ns()->attributes.size())));
    fail("object of type '" + type_name(input) + "' has no len()");
  }
  if (name == "string") return Value(Json(input_str(input)));
  if (name == "safe") return input;
  if (name == "upper") return Value(Json(py_upper(input_str(input))));
  if (name == "lower") return Value(Json(py_lower(input_str(input))));
  if (name == "capitalize") return Value(Json(py_capitalize(input_str(input))));
  if (name == "title") return Value(Json(jinja_title(input_str(input))));
  if (name == "trim") {
    const Value chars = arg_or(args, 0, "chars", Value(Json(nullptr)));
    if (chars.is_none()) return Value(Json(py_strip(input_str(input), nullptr, true, true)));
    const std::string set = to_str(chars);
    return Value(Json(py_strip(input_str(input), &set, true, true)));
  }
  if (name == "replace") {
    const Value* from = find_arg(args, 0, "old");
    const Value* to = find_arg(args, 1, "new");
    if (!from || !to) fail("replace needs two arguments");
    const Value count = arg_or(args, 2, "count", Value(Json(nullptr)));
    return Value(Json(py_replace(input_str(input), to_str(*from), to_str(*to),
                                 count.is_none() ? -1 : to_int(count, "replace count"))));
  }
  if (name == "first" || name == "last") {
    const std::vector<Value> items = iterate(input);
    if (items.empty()) return Value::undefined(name);
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    Json out = Json::array();
    for (const Value& item : iterate(input)) out.push_back(to_json(item, true));
    return Value(std::move(out));
  }
  if (name == "reverse") {
    if (input.is_string()) {
      std::u32string text = utf8::decode(input.data().get<std::string>());
      std::reverse(text.begin(), text.end());
      return Value(Json(utf8::encode(text)));
    }
    Json out = Json::array();
    const std::vector<Value> items = iterate(input);
    for (auto it = items.rbegin(); it != items.rend(); ++it) out.push_back(to_json(*it, true));
    return Value(std::move(out));
  }
  if (name == "join") {
    const Value separator = arg_or(args, 0, "d", Value(Json("")));
    const Value* attribute = find_arg(args, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(input)) {
      if (!first) out += to_str(separator);
      first = false;
      out += to_str(attribute ? attribute_path(item, to_str(*attribute)) : item);
    }
    return Value(Json(std::move(out)));
  }
  if (name == "items") {
    if (input.is_undefined()) return Value(Json::array());
    if (!input.is_object()) fail("items filter needs a mapping, got " + type_name(input));
    Json out = Json::array();
    for (auto it = input.data().begin(); it != input.data().end(); ++it)
      out.push_back(Json::array({it.key(), it.value()}));
    return Value(std::move(out));
  }
  if (name == "tojson") {
    // HF replaces jinja2's tojson: json.dumps(x, ensure_ascii=False, indent, sort_keys=False)
    // without HTML escaping.
    const Value indent = arg_or(args, 0, "indent", Value(Json(nullptr)));
    const bool sort_keys = truthy(arg_or(args, 99, "sort_keys", Value(Json(false))));
    return Value(Json(py_json_dumps(to_json(input),
                                    indent.is_none() ? -1
                                                     : static_cast<int>(std::clamp<std::int64_t>(
                                                           to_int(indent, "indent"), 0, 64)),
                                    sort_keys)));
  }
  if (name == "int") return to_number(input, args, true);
  if (name == "float") return to_number(input, args, false);
  if (name == "abs") {
    if (input.is_integer()) return Value(Json(std::llabs(input.data().get<std::int64_t>())));
    if (input.is_number()) return Value(Json(std::fabs(input.data().get<double>())));
    fail("abs needs a number");
  }
  if (name == "round") {
    const std::int64_t precision =
        to_int(arg_or(args, 0, "precision", Value(Json(0))), "precision");
    if (!input.is_number()) fail("round needs a number");
    const double scale = std::pow(10.0, static_cast<double>(precision));
    return Value(Json(std::round(input.data().get<double>() * scale) / scale));
  }
  if (name == "selectattr" || name == "rejectattr")
    return select_items(input, args, true, name == "selectattr");
  if (name == "select" || name == "reject")
    return select_items(input, args, false, name == "select");
  if (name == "map") {
    Json out = Json::array();
    const Value* attribute = find_arg(args, 99, "attribute");
    for (const Value& item : iterate(input)) {
      if (attribute) {
        Value v = attribute_path(item, to_str(*attribute));
        if (v.is_undefined()) v = arg_or(args, 99, "default", v);
        out.push_back(to_json(v, true));
      } else {
        if (args.positional.empty() || !args.positional[0].is_string())
          fail("map needs a filter name or attribute=");
        CallArgs inner = rest_args(args, 1);
        out.push_back(
            to_json(apply_filter(args.positional[0].data().get<std::string>(), item, inner), true));
      }
    }
    return Value(std::move(out));
  }
  if (name == "sum") {
    const Value* attribute = find_arg(args, 0, "attribute");
    Value total = arg_or(args, 1, "start", Value(Json(0)));
    for (const Value& item : iterate(input)) {
      const Value v = attribute ? attribute_path(item, to_str(*attribute)) : item;
      if (!(v.is_number() || v.is_bool()) || !(total.is_number() || total.is_bool()))
        fail("sum needs numbers, got " + type_name(v));
      if (total.is_integer() && v.is_integer())
        total = Value(Json(total.data().get<std::int64_t>() + v.data().get<std::int64_t>()));
      else
        total = Value(
            Json(total.data().get<double>() +
                 (v.is_bool() ? (v.data().get<bool>() ? 1.0 : 0.0) : v.data().get<double>())));
    }
    return total;
  }
  if (name == "indent") {
    // jinja2: indent every line but the first (unless first=True); blank lines only when
    // blank=True; `width` may be a number of spaces or a string.
    const Value width = arg_or(args, 0, "width", Value(Json(4)));
    const bool first = truthy(arg_or(args, 1, "first", Value(Json(false))));
    const bool blank = truthy(arg_or(args, 2, "blank", Value(Json(false))));
    const std::string pad = width.is_string()
                                ? width.data().get<std::string>()
                                : std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(
                                                  to_int(width, "indent width"), 0, 256)),
                                              ' ');
    std::string text = input_str(input);
    std::string out;
    std::size_t start = 0;
    bool first_line = true;
    while (true) {
      const auto nl = text.find('\n', start);
      const std::string line =
          text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      const bool indent =
          (first_line ? first : true) && (blank || !py_strip(line, nullptr, true, true).empty());
      out += (indent ? pad : "") + line;
      if (nl == std::string::npos) break;
      out += '\n';
      start = nl + 1;
      first_line = false;
    }
    return Value(Json(std::move(out)));
  }
  if (name == "unique") {
    Json out = Json::array();
    for (const Value& item : iterate(input)) {
      const Json j = to_json(item, true);
      if (std::none_of(out.begin(), out.end(),
                       [&](const Json& seen) { return data_equals(seen, j); }))
        out.push_back(j);
    }
    return Value(std::move(out));
  }
  fail("unknown filter '" + name + "'");
}

bool apply_test(const std::string& name, const Value& input, CallArgs& args) {
  const auto other = [&]() -> const Value& {
    if (args.positional.empty()) fail("test '" + name + "' needs an argument");
    return args.positional[0];
  };
  if (name == "defined") return !input.is_undefined();
  if (name == "undefined") return input.is_undefined();
  if (name == "none") return input.is_none();
  if (name == "boolean") return input.is_bool();
  if (name == "true") return input.is_bool() && input.data().get<bool>();
  if (name == "false") return input.is_bool() && !input.data().get<bool>();
  if (name == "integer") return input.is_integer();
  if (name == "float") return input.is_data() && input.data().is_number_float();
  if (name == "number") return input.is_number() || input.is_bool();
  if (name == "string") return input.is_string();
  if (name == "mapping") return input.is_object();
  if (name == "iterable")
    return input.is_undefined() || input.is_array() || input.is_object() || input.is_string();
  if (name == "sequence") return input.is_array() || input.is_object() || input.is_string();
  if (name == "callable") return input.kind() == Value::Kind::Callable;
  if (name == "lower")
    return input.is_string() && py_is(input.data().get<std::string>(), "islower");
  if (name == "upper")
    return input.is_string() && py_is(input.data().get<std::string>(), "isupper");
  if (name == "even" || name == "odd") {
    const std::int64_t v = to_int(input, "test '" + name + "' input");
    return (v % 2 == 0) == (name == "even");
  }
  if (name == "divisibleby") {
    const std::int64_t d = to_int(other(), "divisibleby argument");
    if (d == 0) fail("divisibleby 0");
    return to_int(input, "divisibleby input") % d == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(input, other());
  if (name == "ne" || name == "!=") return !equals(input, other());
  if (name == "lt" || name == "lessthan" || name == "<") return compare(input, other()) < 0;
  if (name == "le" || name == "<=") return compare(input, other()) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare(input, other()) > 0;
  if (name == "ge" || name == ">=") return compare(input, other()) >= 0;
  if (name == "sameas") {
    const Value& o = other();
    if (input.is_data() && o.is_data() && (input.data().is_null() || input.data().is_boolean()))
      return input.data() == o.data();
    return equals(input, o) && input.kind() != Value::Kind::Data;
  }
  if (name == "in") {
    const Value& container = other();
    for (const Value& item : iterate(container))
      if (equals(item, input)) return true;
    if (container.is_string() && input.is_string())
      return container.data().get<std::string>().find(input.data().get<std::string>()) !=
             std::string::npos;
    return false;
  }
  fail("unknown test '" + name + "'");
}

}  // namespace vlmrt::jinja
