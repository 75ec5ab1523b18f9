// Python str operations on UTF-8 text, code point by code point. Case mapping goes through
// utf8proc; of Python's one-to-many mappings only upper() of ß and the Latin ligatures is
// reproduced (lower("İ") and title-casing of ß differ from Python).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vlmrt::jinja {

// str.strip/lstrip/rstrip; `chars` null strips whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split / str.rsplit; `sep` null splits on whitespace runs.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, std::int64_t maxsplit,
                                  bool from_right);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string py_swapcase(std::string_view s);
// jinja2's `title` filter: words start after whitespace or one of - ( { [ <.
std::string jinja_title(std::string_view s);
std::string py_replace(std::string_view s, std::string_view from, std::string_view to,
                       std::int64_t count);
std::int64_t py_count(std::string_view s, std::string_view needle);
// isdigit / isspace / isalpha / isupper / islower.
bool py_is(std::string_view s, std::string_view predicate);

}  // namespace vlmrt::jinja
