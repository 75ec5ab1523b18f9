// The parsed form of a template: statement and expression trees.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.hpp"

namespace vlmrt::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Literal,    // literal
  Name,       // name
  List,       // items
  Tuple,      // items
  Dict,       // items as key, value pairs
  GetAttr,    // items[0] . name
  GetItem,    // items[0] [ items[1] ]
  Slice,      // items[0] [ items[1] : items[2] : items[3] ] (null pointers for absent parts)
  Call,       // items[0] ( items[1..] ), keyword args in `keywords`
  Filter,     // items[0] | name ( items[1..] )
  Test,       // items[0] is [not] name ( items[1..] ); negated
  Unary,      // op items[0]: "-", "+", "not"
  Binary,     // items[0] op items[1]: + - * / // % ** ~ and or
  Compare,    // items[0] ops[0] items[1] ops[1] items[2] ...: == != < <= > >= in notin
  Condition,  // items[0] if items[1] else items[2] (items[2] may be null)
};

struct Expr {
  ExprKind kind = ExprKind::Literal;
  int line = 0;
  std::string name;  // Name / GetAttr / Filter / Test name, or the operator
  Value literal;
  bool negated = false;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  std::vector<std::string> ops;  // Compare
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  Text,      // text
  Output,    // {{ expr }}
  If,        // conditions[i] → bodies[i]; else_body
  For,       // for targets in expr [if condition]: body / else_body
  Set,       // set target = expr (targets: names; or ns.attr via attribute)
  SetBlock,  // {% set name %}body{% endset %}
  Macro,     // {% macro name(params) %}body{% endmacro %}
  Break,
  Continue,
  Block,  // a transparent wrapper ({% generation %}): body
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  StmtKind kind = StmtKind::Text;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;                // For's filter
  std::vector<ExprPtr> conditions;  // If
  std::vector<Body> bodies;         // If
  Body body;
  Body else_body;
  std::vector<std::string> targets;  // For / Set names (several = tuple unpacking)
  std::string attribute;             // Set ns.attribute: targets[0] is the namespace
  std::vector<MacroParam> params;    // Macro
};

// Parses a whole template; throws TemplateError ("line N: ...") on syntax errors and on tags
// outside the supported subset.
Body parse_template(std::string_view source);

}  // namespace vlmrt::jinja
