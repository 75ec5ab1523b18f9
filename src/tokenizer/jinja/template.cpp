// The evaluator: executes the parsed template over Values with jinja2's scoping (each loop
// iteration and each macro call gets its own scope; `set` inside a loop does not leak out, which
// is why templates use namespace()).
#include "tokenizer/jinja/template.hpp"

#include <cmath>
#include <unordered_map>

#include "tokenizer/jinja/ast.hpp"
#include "tokenizer/jinja/builtins.hpp"

namespace vlmrt::jinja {
namespace {

// Templates come from model folders, so they are untrusted: bound output, work and recursion.
constexpr std::size_t kMaxOutputBytes = 64u << 20;
constexpr std::uint64_t kMaxSteps = 50'000'000;
constexpr int kMaxCallDepth = 64;

struct LimitError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Scope {
  std::unordered_map<std::string, Value> vars;
  const Scope* parent = nullptr;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      const auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { Normal, Break, Continue };

class Renderer {
 public:
  explicit Renderer(const Scope& root) : root_(root) {}

  std::string take_output() { return std::move(out_); }
  int line() const noexcept { return line_; }

  Flow exec(const Body& body, Scope& scope) {
    for (const auto& stmt : body) {
      const Flow flow = exec(*stmt, scope);
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

 private:
  void step() {
    if (++steps_ > kMaxSteps) throw LimitError("template ran more than 50 million steps");
  }
  void write(const std::string& text) {
    if (out_.size() + text.size() > kMaxOutputBytes)
      throw LimitError("template output exceeds 64 MiB");
    out_ += text;
  }

  Flow exec(const Stmt& s, Scope& scope) {
    line_ = s.line;
    step();
    switch (s.kind) {
      case StmtKind::Text:
        write(s.text);
        return Flow::Normal;
      case StmtKind::Output:
        write(to_str(eval(*s.expr, scope)));
        return Flow::Normal;
      case StmtKind::If:
        for (std::size_t i = 0; i < s.conditions.size(); ++i)
          if (truthy(eval(*s.conditions[i], scope))) return exec(s.bodies[i], scope);
        return exec(s.else_body, scope);
      case StmtKind::For:
        return exec_for(s, scope);
      case StmtKind::Set:
        exec_set(s, scope);
        return Flow::Normal;
      case StmtKind::SetBlock: {
        std::string saved = std::move(out_);
        out_.clear();
        const Flow flow = exec(s.body, scope);
        scope.vars[s.targets[0]] = Value(Json(std::move(out_)));
        out_ = std::move(saved);
        return flow;
      }
      case StmtKind::Macro:
        scope.vars[s.text] = make_macro(s);
        return Flow::Normal;
      case StmtKind::Break:
        return Flow::Break;
      case StmtKind::Continue:
        return Flow::Continue;
      case StmtKind::Block:
        return exec(s.body, scope);
    }
    return Flow::Normal;
  }

  static void bind_targets(const std::vector<std::string>& targets, const Value& value,
                           Scope& scope) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = value;
      return;
    }
    if (!value.is_array() || value.data().size() != targets.size())
      fail("cannot unpack " + type_name(value) + " into " + std::to_string(targets.size()) +
           " names");
    for (std::size_t i = 0; i < targets.size(); ++i)
      scope.vars[targets[i]] = value.child(value.data()[i]);
  }

  Flow exec_for(const Stmt& s, Scope& scope) {
    std::vector<Value> items = iterate(eval(*s.expr, scope));
    if (s.condition) {
      std::vector<Value> kept;
      for (const Value& item : items) {
        Scope probe{{}, &scope};
        bind_targets(s.targets, item, probe);
        if (truthy(eval(*s.condition, probe))) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec(s.else_body, scope);
    const auto n = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < n; ++i) {
      step();
      Scope iteration{{}, &scope};
      bind_targets(s.targets, items[static_cast<std::size_t>(i)], iteration);
      Json loop = {
          {"index", i + 1},  {"index0", i},        {"revindex", n - i}, {"revindex0", n - i - 1},
          {"first", i == 0}, {"last", i == n - 1}, {"length", n},       {"depth", 1},
          {"depth0", 0}};
      if (i > 0) loop["previtem"] = to_json(items[static_cast<std::size_t>(i - 1)], true);
      if (i + 1 < n) loop["nextitem"] = to_json(items[static_cast<std::size_t>(i + 1)], true);
      iteration.vars["loop"] = Value(std::move(loop));
      if (exec(s.body, iteration) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  void exec_set(const Stmt& s, Scope& scope) {
    Value value = eval(*s.expr, scope);
    if (!s.attribute.empty()) {
      const Value* target = scope.find(s.targets[0]);
      if (!target || target->kind() != Value::Kind::Namespace)
        fail("cannot assign attribute '" + s.attribute + "' on '" + s.targets[0] +
             "': not a namespace");
      target->ns()->set(s.attribute, std::move(value));
      return;
    }
    bind_targets(s.targets, value, scope);
  }

  // Macros see the template's top-level variables and their own arguments (jinja2 does not let
  // them see the caller's loop variables either).
  Value make_macro(const Stmt& s) {
    const Stmt* macro = &s;
    const Scope* closure = &root_;
    return Value(std::make_shared<const Callable>(
        Callable{s.text, [this, macro, closure](CallArgs& args) {
                   if (++call_depth_ > kMaxCallDepth)
                     throw LimitError("macro recursion deeper than 64 calls");
                   Scope frame{{}, closure};
                   if (args.positional.size() > macro->params.size())
                     fail("macro '" + macro->text + "' takes " +
                          std::to_string(macro->params.size()) + " arguments");
                   for (std::size_t i = 0; i < macro->params.size(); ++i) {
                     const MacroParam& p = macro->params[i];
                     const Value* given = find_arg(args, i, p.name);
                     frame.vars[p.name] = given ? *given
                                                : (p.default_value ? eval(*p.default_value, frame)
                                                                   : Value::undefined(p.name));
                   }
                   for (const auto& [key, value] : args.keyword) {
                     bool known = false;
                     for (const auto& p : macro->params) known = known || p.name == key;
                     if (!known) fail("macro '" + macro->text + "' has no parameter '" + key + "'");
                   }
                   std::string saved = std::move(out_);
                   out_.clear();
                   const int saved_line = line_;
                   exec(macro->body, frame);
                   std::string result = std::move(out_);
                   out_ = std::move(saved);
                   line_ = saved_line;
                   --call_depth_;
                   return Value(Json(std::move(result)));
                 }}));
  }

  CallArgs eval_args(const Expr& e, Scope& scope, std::size_t first) {
    CallArgs args;
    for (std::size_t i = first; i < e.items.size(); ++i)
      args.positional.push_back(eval(*e.items[i], scope));
    for (const auto& [key, value] : e.keywords) args.keyword.emplace_back(key, eval(*value, scope));
    return args;
  }

  Value eval(const Expr& e, Scope& scope) {
    line_ = e.line;
    switch (e.kind) {
      case ExprKind::Literal:
        return e.literal;
      case ExprKind::Name: {
        const Value* v = scope.find(e.name);
        return v ? *v : Value::undefined(e.name);
      }
      case ExprKind::List:
      case ExprKind::Tuple: {
        Json out = Json::array();
        for (const auto& item : e.items) out.push_back(to_json(eval(*item, scope), true));
        return Value(std::move(out));
      }
      case ExprKind::Dict: {
        Json out = Json::object();
        for (std::size_t i = 0; i + 1 < e.items.size(); i += 2)
          out[to_str(eval(*e.items[i], scope))] = to_json(eval(*e.items[i + 1], scope), true);
        return Value(std::move(out));
      }
      case ExprKind::GetAttr: {
        const Value object = eval(*e.items[0], scope);
        return get_attribute(object, e.name);
      }
      case ExprKind::GetItem: {
        const Value object = eval(*e.items[0], scope);
        return get_item(object, eval(*e.items[1], scope));
      }
      case ExprKind::Slice: {
        const Value object = eval(*e.items[0], scope);
        auto part = [&](std::size_t i) { return e.items[i] ? eval(*e.items[i], scope) : Value(); };
        return get_slice(object, part(1), part(2), part(3));
      }
      case ExprKind::Call: {
        const Value callee = eval(*e.items[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        if (callee.kind() != Value::Kind::Callable) {
          if (callee.is_undefined())
            fail("'" + (callee.hint().empty() ? std::string("value") : callee.hint()) +
                 "' is undefined (called)");
          fail("a " + type_name(callee) + " is not callable");
        }
        return callee.callable()->call(args);
      }
      case ExprKind::Filter: {
        const Value input = eval(*e.items[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        return apply_filter(e.name, input, args);
      }
      case ExprKind::Test: {
        const Value input = eval(*e.items[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        return Value(Json(apply_test(e.name, input, args) != e.negated));
      }
      case ExprKind::Unary:
        return eval_unary(e, scope);
      case ExprKind::Binary:
        return eval_binary(e, scope);
      case ExprKind::Compare:
        return eval_compare(e, scope);
      case ExprKind::Condition:
        if (truthy(eval(*e.items[1], scope))) return eval(*e.items[0], scope);
        return e.items[2] ? eval(*e.items[2], scope) : Value::undefined("conditional expression");
    }
    return Value();
  }

  Value eval_unary(const Expr& e, Scope& scope) {
    const Value v = eval(*e.items[0], scope);
    if (e.name == "not") return Value(Json(!truthy(v)));
    if (v.is_bool()) return Value(Json((e.name == "-" ? -1 : 1) * (v.data().get<bool>() ? 1 : 0)));
    if (v.is_integer()) return e.name == "-" ? Value(Json(-v.data().get<std::int64_t>())) : v;
    if (v.is_number()) return e.name == "-" ? Value(Json(-v.data().get<double>())) : v;
    fail("bad operand type for unary " + e.name + ": " + type_name(v));
  }

  Value eval_binary(const Expr& e, Scope& scope) {
    const std::string& op = e.name;
    const Value a = eval(*e.items[0], scope);
    if (op == "and") return truthy(a) ? eval(*e.items[1], scope) : a;
    if (op == "or") return truthy(a) ? a : eval(*e.items[1], scope);
    const Value b = eval(*e.items[1], scope);
    if (op == "~") return Value(Json(to_str(a) + to_str(b)));
    return arithmetic(op, a, b);
  }

  Value eval_compare(const Expr& e, Scope& scope) {
    Value left = eval(*e.items[0], scope);
    for (std::size_t i = 0; i < e.ops.size(); ++i) {
      Value right = eval(*e.items[i + 1], scope);
      if (!compare_op(e.ops[i], left, right)) return Value(Json(false));
      left = std::move(right);
    }
    return Value(Json(true));
  }

  static bool compare_op(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "<") return compare(a, b) < 0;
    if (op == "<=") return compare(a, b) <= 0;
    if (op == ">") return compare(a, b) > 0;
    if (op == ">=") return compare(a, b) >= 0;
    bool found = false;  // in / notin
    if (b.is_string()) {
      if (!a.is_string()) fail("'in <string>' requires a string on the left, got " + type_name(a));
      found = b.data().get<std::string>().find(a.data().get<std::string>()) != std::string::npos;
    } else if (b.is_object()) {
      found = a.is_string() && b.data().contains(a.data().get<std::string>());
    } else {
      for (const Value& item : iterate(b)) found = found || equals(item, a);
    }
    return found != (op == "notin");
  }

  Value arithmetic(const std::string& op, const Value& a, const Value& b) {
    if (a.is_undefined() || b.is_undefined())
      fail("'" + (a.is_undefined() ? a.hint() : b.hint()) + "' is undefined (operand of " + op +
           ")");
    if (op == "+" && a.is_string() && b.is_string())
      return Value(Json(a.data().get<std::string>() + b.data().get<std::string>()));
    if (op == "+" && a.is_array() && b.is_array()) {
      Json out = a.data();
      for (const auto& item : b.data()) out.push_back(item);
      return Value(std::move(out));
    }
    if (op == "*" && (a.is_string() || a.is_array() || b.is_string() || b.is_array())) {
      const Value& seq = a.is_integer() || a.is_bool() ? b : a;
      const std::int64_t times =
          std::max<std::int64_t>(0, to_int(&seq == &a ? b : a, "repeat count"));
      const std::size_t unit =
          seq.is_string() ? seq.data().get_ref<const std::string&>().size() : seq.data().size();
      if (unit != 0 && static_cast<std::uint64_t>(times) > kMaxOutputBytes / unit)
        throw LimitError("sequence repetition exceeds 64 MiB");
      if (seq.is_string()) {
        std::string out;
        for (std::int64_t i = 0; i < times; ++i) out += seq.data().get_ref<const std::string&>();
        return Value(Json(std::move(out)));
      }
      Json out = Json::array();
      for (std::int64_t i = 0; i < times; ++i)
        for (const auto& item : seq.data()) out.push_back(item);
      return Value(std::move(out));
    }
    const bool a_num = a.is_number() || a.is_bool(), b_num = b.is_number() || b.is_bool();
    if (!a_num || !b_num)
      fail("unsupported operand types for " + op + ": " + type_name(a) + " and " + type_name(b));
    const bool ints = !a.data().is_number_float() && !b.data().is_number_float();
    if (ints && op != "/") {
      const std::int64_t x = to_int(a, "operand"), y = to_int(b, "operand");
      std::int64_t r = 0;
      if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value(Json(r));
      if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value(Json(r));
      if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value(Json(r));
      if (op == "//" || op == "%") {
        if (y == 0) fail("integer division or modulo by zero");
        std::int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
          --q;
          m += y;
        }
        return Value(Json(op == "//" ? q : m));
      }
      if (op == "**" && y >= 0) {
        std::int64_t result = 1;
        bool overflow = false;
        for (std::int64_t i = 0; i < y && !overflow; ++i)
          overflow = __builtin_mul_overflow(result, x, &result);
        if (!overflow) return Value(Json(result));
      }
      if (op != "**") fail("integer overflow in " + op);
    }
    const double x = a.is_bool() ? (a.data().get<bool>() ? 1.0 : 0.0) : a.data().get<double>();
    const double y = b.is_bool() ? (b.data().get<bool>() ? 1.0 : 0.0) : b.data().get<double>();
    if (op == "+") return Value(Json(x + y));
    if (op == "-") return Value(Json(x - y));
    if (op == "*") return Value(Json(x * y));
    if (op == "**") return Value(Json(std::pow(x, y)));
    if (y == 0.0) fail("division by zero");
    if (op == "/") return Value(Json(x / y));
    if (op == "//") return Value(Json(std::floor(x / y)));
    if (op == "%") {
      double m = std::fmod(x, y);
      if (m != 0.0 && ((m < 0) != (y < 0))) m += y;
      return Value(Json(m));
    }
    fail("unknown operator " + op);
  }

  const Scope& root_;
  std::string out_;
  int line_ = 0;
  int call_depth_ = 0;
  std::uint64_t steps_ = 0;
};

}  // namespace

Template::Template(std::string_view source, std::string name) : name_(std::move(name)) {
  try {
    body_ = std::make_shared<const Body>(parse_template(source));
  } catch (const TemplateError& e) {
    throw Error(ErrorKind::Format, name_ + ": " + e.what());
  } catch (const std::logic_error& e) {  // e.g. std::out_of_range from a huge number literal
    throw Error(ErrorKind::Format, name_ + ": malformed template (" + e.what() + ")");
  }
}

std::string Template::render(const Json& context) const {
  if (!context.is_object())
    throw Error(ErrorKind::InvalidArgument, name_ + ": the render context must be an object");
  Scope globals;
  for (auto& [key, value] : builtin_globals()) globals.vars[key] = std::move(value);
  auto shared_context = std::make_shared<const Json>(context);
  Scope root{{}, &globals};
  for (auto it = shared_context->begin(); it != shared_context->end(); ++it)
    root.vars[it.key()] = Value(std::shared_ptr<const Json>(shared_context, &it.value()));
  Renderer renderer(root);
  try {
    renderer.exec(*body_, root);
  } catch (const TemplateError& e) {
    throw Error(ErrorKind::Format,
                name_ + ": line " + std::to_string(renderer.line()) + ": " + e.what());
  } catch (const LimitError& e) {
    throw Error(ErrorKind::LimitExceeded, name_ + ": " + e.what());
  } catch (const std::logic_error& e) {
    throw Error(ErrorKind::Format,
                name_ + ": line " + std::to_string(renderer.line()) + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Format,
                name_ + ": line " + std::to_string(renderer.line()) + ": " + e.what());
  }
  return renderer.take_output();
}

}  // namespace vlmrt::jinja
