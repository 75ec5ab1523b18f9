// Recursive-descent parser with jinja2's operator precedence (lowest first): conditional
// `a if b else c`, or, and, not, comparisons / in / not in, + -, ~, * / // %, **, unary - +,
// then primary with postfix .attr [index] (call), filters `|` and tests `is`.
#include <initializer_list>

#include "tokenizer/jinja/ast.hpp"
#include "tokenizer/jinja/lexer.hpp"

namespace vlmrt::jinja {
namespace {

// Deep nesting from a hostile template must not overflow the stack.
constexpr int kMaxDepth = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse() {
    Body body = parse_body({});
    if (peek().type != TokenType::End) error("unexpected '" + peek_tag_name() + "' tag");
    return body;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    const std::size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  [[noreturn]] void error(const std::string& message) const {
    fail("line " + std::to_string(peek().line) + ": " + message);
  }
  bool at_op(std::string_view op) const {
    return peek().type == TokenType::Operator && peek().value == op;
  }
  bool at_name(std::string_view name) const {
    return peek().type == TokenType::Name && peek().value == name;
  }
  void expect_op(std::string_view op) {
    if (!at_op(op)) error("expected '" + std::string(op) + "', found " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().type != TokenType::Name) error("expected a name, found " + describe(peek()));
    return next().value;
  }
  void expect_block_end() {
    if (peek().type != TokenType::BlockEnd) error("expected '%}', found " + describe(peek()));
    next();
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::End:
        return "end of template";
      case TokenType::VarEnd:
        return "'}}'";
      case TokenType::BlockEnd:
        return "'%}'";
      case TokenType::String:
        return "a string";
      default:
        return "'" + t.value + "'";
    }
  }
  std::string peek_tag_name() const {
    return peek(1).type == TokenType::Name ? peek(1).value : describe(peek(1));
  }

  // Statements until a block tag whose name is in `end_names` (left unconsumed: the caller
  // reads it) or the end of the template.
  Body parse_body(std::initializer_list<std::string_view> end_names) {
    Guard guard(*this);
    Body body;
    while (peek().type != TokenType::End) {
      const Token& t = peek();
      if (t.type == TokenType::Text) {
        auto s = make_stmt(StmtKind::Text);
        s->text = next().value;
        body.push_back(std::move(s));
      } else if (t.type == TokenType::VarBegin) {
        next();
        auto s = make_stmt(StmtKind::Output);
        s->expr = parse_tuple(true);
        if (peek().type != TokenType::VarEnd) error("expected '}}', found " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        const std::string name = peek(1).type == TokenType::Name ? peek(1).value : "";
        for (auto end : end_names)
          if (name == end) return body;
        next();
        body.push_back(parse_statement());
      } else {
        error("unexpected " + describe(t));
      }
    }
    if (end_names.size() != 0) error("missing '{% " + std::string(*(end_names.end() - 1)) + " %}'");
    return body;
  }

  StmtPtr make_stmt(StmtKind kind) const {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = peek().line;
    return s;
  }

  void end_tag(std::string_view name) {
    if (peek().type != TokenType::BlockBegin ||
        !(peek(1).type == TokenType::Name && peek(1).value == name))
      error("expected '{% " + std::string(name) + " %}'");
    next();
    next();
    expect_block_end();
  }

  StmtPtr parse_statement() {
    const std::string keyword = expect_name();
    if (keyword == "if") return parse_if();
    if (keyword == "for") return parse_for();
    if (keyword == "set") return parse_set();
    if (keyword == "macro") return parse_macro();
    if (keyword == "break" || keyword == "continue") {
      auto s = make_stmt(keyword == "break" ? StmtKind::Break : StmtKind::Continue);
      expect_block_end();
      return s;
    }
    if (keyword == "generation") {  // HF's AssistantTracker tag: renders its body unchanged
      auto s = make_stmt(StmtKind::Block);
      expect_block_end();
      s->body = parse_body({"endgeneration"});
      end_tag("endgeneration");
      return s;
    }
    const std::string where = "line " + std::to_string(tokens_[pos_ - 1].line) + ": ";
    if (keyword.rfind("end", 0) == 0 || keyword == "else" || keyword == "elif")
      fail(where + "unexpected '{% " + keyword + " %}'");
    fail(where + "unsupported tag '" + keyword + "'");
  }

  StmtPtr parse_if() {
    auto s = make_stmt(StmtKind::If);
    s->conditions.push_back(parse_tuple(true));
    expect_block_end();
    while (true) {
      s->bodies.push_back(parse_body({"elif", "else", "endif"}));
      next();  // {%
      const std::string tag = next().value;
      if (tag == "elif") {
        s->conditions.push_back(parse_tuple(true));
        expect_block_end();
        continue;
      }
      expect_block_end();
      if (tag == "else") {
        s->else_body = parse_body({"endif"});
        end_tag("endif");
      }
      return s;
    }
  }

  StmtPtr parse_for() {
    auto s = make_stmt(StmtKind::For);
    s->targets = parse_targets();
    if (!at_name("in")) error("expected 'in' in for loop, found " + describe(peek()));
    next();
    s->expr = parse_tuple(false);
    if (at_name("if")) {
      next();
      s->condition = parse_expression(true);
    }
    if (at_name("recursive")) error("recursive for loops are not supported");
    expect_block_end();
    s->body = parse_body({"else", "endfor"});
    next();
    if (next().value == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"});
      end_tag("endfor");
    } else {
      expect_block_end();
    }
    return s;
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = at_op("(");
    if (paren) next();
    names.push_back(expect_name());
    while (at_op(",")) {
      next();
      if (peek().type != TokenType::Name) break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_set() {
    auto s = make_stmt(StmtKind::Set);
    if (peek().type == TokenType::Name && peek(1).type == TokenType::Operator &&
        peek(1).value == ".") {
      s->targets.push_back(next().value);
      next();
      s->attribute = expect_name();
    } else {
      s->targets = parse_targets();
    }
    if (peek().type == TokenType::BlockEnd) {
      if (s->targets.size() != 1 || !s->attribute.empty()) error("block set needs one plain name");
      next();
      s->kind = StmtKind::SetBlock;
      s->body = parse_body({"endset"});
      end_tag("endset");
      return s;
    }
    expect_op("=");
    s->expr = parse_tuple(true);
    expect_block_end();
    return s;
  }

  StmtPtr parse_macro() {
    auto s = make_stmt(StmtKind::Macro);
    s->text = expect_name();
    expect_op("(");
    while (!at_op(")")) {
      MacroParam param;
      param.name = expect_name();
      if (at_op("=")) {
        next();
        param.default_value = parse_expression(true);
      }
      s->params.push_back(std::move(param));
      if (!at_op(",")) break;
      next();
    }
    expect_op(")");
    expect_block_end();
    s->body = parse_body({"endmacro"});
    end_tag("endmacro");
    return s;
  }

  // ---- expressions ----

  struct Guard {
    explicit Guard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxDepth) parser.error("template nested too deeply");
    }
    ~Guard() { --parser.depth_; }
    Parser& parser;
  };

  ExprPtr make(ExprKind kind, int line) const {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right) const {
    auto e = make(ExprKind::Binary, left->line);
    e->name = std::move(op);
    e->items.push_back(std::move(left));
    e->items.push_back(std::move(right));
    return e;
  }

  // `a, b` without brackets is a tuple (in {{ }}, set and for).
  ExprPtr parse_tuple(bool with_condition) {
    const int line = peek().line;
    ExprPtr first = parse_expression(with_condition);
    if (!at_op(",")) return first;
    auto tuple = make(ExprKind::Tuple, line);
    tuple->items.push_back(std::move(first));
    while (at_op(",")) {
      next();
      if (peek().type == TokenType::VarEnd || peek().type == TokenType::BlockEnd || at_name("if"))
        break;
      tuple->items.push_back(parse_expression(with_condition));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_condition) {
    Guard guard(*this);
    ExprPtr expr = parse_or();
    if (!with_condition) return expr;
    while (at_name("if")) {
      next();
      auto cond = make(ExprKind::Condition, expr->line);
      cond->items.push_back(std::move(expr));
      cond->items.push_back(parse_or());
      if (at_name("else")) {
        next();
        cond->items.push_back(parse_expression(true));
      } else {
        cond->items.push_back(nullptr);
      }
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      next();
      left = binary("or", std::move(left), parse_and());
    }
    return left;
  }
  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      next();
      left = binary("and", std::move(left), parse_not());
    }
    return left;
  }
  ExprPtr parse_not() {
    if (at_name("not")) {
      Guard guard(*this);
      const int line = next().line;
      auto e = make(ExprKind::Unary, line);
      e->name = "not";
      e->items.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  // `a < b < c` is one Compare node (a < b and b < c, b evaluated once), as in jinja2.
  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    static constexpr std::string_view kOps[] = {"==", "!=", "<", "<=", ">", ">="};
    ExprPtr compare;
    while (true) {
      std::string op;
      if (peek().type == TokenType::Operator) {
        for (auto candidate : kOps)
          if (peek().value == candidate) op = candidate;
      }
      if (!op.empty()) {
        next();
      } else if (at_name("in")) {
        next();
        op = "in";
      } else if (at_name("not") && peek(1).type == TokenType::Name && peek(1).value == "in") {
        next();
        next();
        op = "notin";
      } else {
        return compare ? std::move(compare) : std::move(first);
      }
      if (!compare) {
        compare = make(ExprKind::Compare, first->line);
        compare->items.push_back(std::move(first));
      }
      compare->ops.push_back(std::move(op));
      compare->items.push_back(parse_math1());
    }
  }
  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      const std::string op = next().value;
      left = binary(op, std::move(left), parse_concat());
    }
    return left;
  }
  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (at_op("~")) {
      next();
      left = binary("~", std::move(left), parse_math2());
    }
    return left;
  }
  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const std::string op = next().value;
      left = binary(op, std::move(left), parse_pow());
    }
    return left;
  }
  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (at_op("**")) {
      next();
      left = binary("**", std::move(left), parse_unary(true));
    }
    return left;
  }
  ExprPtr parse_unary(bool with_filter) {
    Guard guard(*this);
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      node = make(ExprKind::Unary, t.line);
      node->name = t.value;
      node->items.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filters(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    const int line = t.line;
    if (t.type == TokenType::Name) {
      const std::string name = next().value;
      if (name == "true" || name == "True" || name == "false" || name == "False") {
        auto e = make(ExprKind::Literal, line);
        e->literal = Value(Json(name == "true" || name == "True"));
        return e;
      }
      if (name == "none" || name == "None") {
        auto e = make(ExprKind::Literal, line);
        e->literal = Value(Json(nullptr));
        return e;
      }
      auto e = make(ExprKind::Name, line);
      e->name = name;
      return e;
    }
    if (t.type == TokenType::String) {
      std::string text = next().value;
      while (peek().type == TokenType::String) text += next().value;  // 'a' 'b' → 'ab'
      auto e = make(ExprKind::Literal, line);
      e->literal = Value(Json(std::move(text)));
      return e;
    }
    if (t.type == TokenType::Integer || t.type == TokenType::Float) {
      const Token& number = next();
      auto e = make(ExprKind::Literal, line);
      try {
        if (number.type == TokenType::Integer)
          e->literal = Value(Json(std::stoll(number.value)));
        else
          e->literal = Value(Json(std::stod(number.value)));
      } catch (const std::exception&) {
        error("number literal '" + number.value + "' is out of range");
      }
      return e;
    }
    if (at_op("(")) {
      next();
      if (at_op(")")) {
        next();
        return make(ExprKind::Tuple, line);
      }
      ExprPtr inner = parse_tuple(true);
      expect_op(")");
      return inner;
    }
    if (at_op("[") || at_op("{")) {
      const bool is_dict = at_op("{");
      next();
      auto e = make(is_dict ? ExprKind::Dict : ExprKind::List, line);
      const char* close = is_dict ? "}" : "]";
      while (!at_op(close)) {
        e->items.push_back(parse_expression(true));
        if (is_dict) {
          expect_op(":");
          e->items.push_back(parse_expression(true));
        }
        if (!at_op(",")) break;
        next();
      }
      expect_op(close);
      return e;
    }
    error("unexpected " + describe(t) + " in expression");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (at_op(".")) {
        next();
        auto e = make(peek().type == TokenType::Integer ? ExprKind::GetItem : ExprKind::GetAttr,
                      node->line);
        if (peek().type == TokenType::Integer) {  // foo.0 is foo[0]
          auto index = make(ExprKind::Literal, node->line);
          index->literal = Value(Json(std::stoll(next().value)));
          e->items.push_back(std::move(node));
          e->items.push_back(std::move(index));
        } else {
          e->name = expect_name();
          e->items.push_back(std::move(node));
        }
        node = std::move(e);
      } else if (at_op("[")) {
        next();
        node = parse_subscript(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node), ExprKind::Call, "");
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const int line = node->line;
    ExprPtr parts[3];
    int colons = 0;
    while (!at_op("]")) {
      if (at_op(":")) {
        if (++colons > 2) error("too many ':' in slice");
        next();
        continue;
      }
      if (parts[colons]) error("expected ']' or ':' in subscript");
      parts[colons] = parse_expression(true);
    }
    next();
    if (colons == 0) {
      if (!parts[0]) error("empty subscript");
      auto e = make(ExprKind::GetItem, line);
      e->items.push_back(std::move(node));
      e->items.push_back(std::move(parts[0]));
      return e;
    }
    auto e = make(ExprKind::Slice, line);
    e->items.push_back(std::move(node));
    for (auto& part : parts) e->items.push_back(std::move(part));
    return e;
  }

  // Call arguments after `(`: positional then name=value.
  ExprPtr parse_call(ExprPtr callee, ExprKind kind, std::string name) {
    auto e = make(kind, callee->line);
    e->name = std::move(name);
    e->items.push_back(std::move(callee));
    if (!at_op("(")) return e;
    next();
    while (!at_op(")")) {
      if (peek().type == TokenType::Name && peek(1).type == TokenType::Operator &&
          peek(1).value == "=") {
        std::string key = next().value;
        next();
        e->keywords.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!e->keywords.empty()) error("positional argument after keyword argument");
        e->items.push_back(parse_expression(true));
      }
      if (!at_op(",")) break;
      next();
    }
    expect_op(")");
    return e;
  }

  ExprPtr parse_filters(ExprPtr node) {
    while (true) {
      if (at_op("|")) {
        next();
        std::string name = expect_name();
        node = parse_call(std::move(node), ExprKind::Filter, std::move(name));
      } else if (at_name("is")) {
        next();
        bool negated = false;
        if (at_name("not")) {
          next();
          negated = true;
        }
        std::string name = expect_name();
        const Token& t = peek();
        const bool bare_arg = (t.type == TokenType::Name || t.type == TokenType::String ||
                               t.type == TokenType::Integer || t.type == TokenType::Float ||
                               at_op("[") || at_op("{")) &&
                              !(at_name("else") || at_name("or") || at_name("and") ||
                                at_name("if") || at_name("in") || at_name("not") || at_name("is"));
        if (bare_arg) {  // `x is divisibleby 3`
          auto e = make(ExprKind::Test, node->line);
          e->name = std::move(name);
          e->items.push_back(std::move(node));
          e->items.push_back(parse_postfix(parse_primary()));
          node = std::move(e);
        } else {
          node = parse_call(std::move(node), ExprKind::Test, std::move(name));
        }
        node->negated = negated;
      } else if (at_op("(")) {
        node = parse_call(std::move(node), ExprKind::Call, "");
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) {
  return Parser(lex(source)).parse();
}

}  // namespace vlmrt::jinja
