// jinja2's built-in filters, tests and globals, plus the Python str/dict methods chat templates
// call (`message.content.strip()`, `d.get('k')`), with Python semantics.
#pragma once

#include <string>

#include "tokenizer/jinja/value.hpp"

namespace vlmrt::jinja {

// `value | name(args)`. Unknown filters fail with the filter's name.
Value apply_filter(const std::string& name, const Value& input, CallArgs& args);
// `value is name(args)`.
bool apply_test(const std::string& name, const Value& input, CallArgs& args);
// `obj.name`: jinja2 tries the Python attribute first (methods), then the item.
Value get_attribute(const Value& object, const std::string& name);
// `obj[key]`: the item first, then the attribute. Missing → undefined (no error), as jinja2.
Value get_item(const Value& object, const Value& key);
// `obj[start:stop:step]` on lists and strings (absent parts are undefined values).
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// The globals every template sees: range, namespace, dict, raise_exception, strftime_now.
std::vector<std::pair<std::string, Value>> builtin_globals();

// Helpers shared by the evaluator.
std::vector<Value> iterate(const Value& value);  // list items, dict keys, string characters
std::int64_t to_int(const Value& value, const std::string& what);

// Argument access for builtins: positional index i or keyword `name`, else `fallback`.
const Value* find_arg(const CallArgs& args, std::size_t index, std::string_view name);
Value arg_or(const CallArgs& args, std::size_t index, std::string_view name, Value fallback);

}  // namespace vlmrt::jinja
