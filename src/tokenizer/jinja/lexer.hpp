// Splits a Jinja template into text and tag tokens, applying whitespace control the way
// jinja2's lexer does: `-` strips on either side, `+` disables lstrip/trim, and with
// trim_blocks / lstrip_blocks (HF's chat template settings) the newline after a block or comment
// tag is dropped and indentation before one is removed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vlmrt::jinja {

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

enum class TokenType {
  Text,        // literal output
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,  // value holds the unescaped string
  Integer,
  Float,
  Operator,
  End,
};

struct Token {
  TokenType type = TokenType::End;
  std::string value;
  int line = 1;
};

// Throws TemplateError ("line N: ...") on an unclosed tag, comment or string.
std::vector<Token> lex(std::string_view source, const LexOptions& options = {});

}  // namespace vlmrt::jinja
