// A Jinja2 template engine for chat templates: the subset HF model repositories use, rendered
// with HF's settings (trim_blocks, lstrip_blocks, loop controls, HF's tojson, raise_exception,
// strftime_now, the {% generation %} tag) so the output is byte-identical to
// transformers' apply_chat_template.
//
// Supported: {{ }}, {% %}, {# #}, whitespace control (- and +), raw; if/elif/else, for/else with
// `if` filters, loop.index/index0/revindex/revindex0/first/last/length/previtem/nextitem,
// break/continue, set (names, tuples, namespace attributes, block set), macros (positional and
// keyword arguments with defaults); literals, lists, dicts, tuples, attributes, subscripts,
// slices, calls, arithmetic, ~, comparisons, in / not in, and/or/not, conditional expressions;
// filters and tests listed in builtins.hpp; str/dict methods (strip, split, startswith, get,
// items, ...). Not supported: extends/include/import, call blocks, filter blocks, recursive loops.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/jinja/value.hpp"

namespace vlmrt::jinja {

struct Stmt;

class Template {
 public:
  // Parses `source`; `name` labels errors ("chat_template.json: line 3: unexpected 'endfor'").
  // Throws vlmrt::Error (Format) on syntax errors or unsupported tags.
  Template(std::string_view source, std::string name);

  // Renders with the variables of `context` (a JSON object). Template faults (undefined
  // attribute access, type errors) throw Error (Format) naming the line; raise_exception()
  // throws Error (InvalidArgument) with the template's message; output beyond 64 MiB or runaway
  // loops / recursion throw LimitExceeded.
  std::string render(const Json& context) const;

  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace vlmrt::jinja
