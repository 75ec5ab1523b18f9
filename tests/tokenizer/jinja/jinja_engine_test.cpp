// Engine behaviour that the jinja2 parity cases cannot pin: error kinds and messages, and the
// limits that keep a hostile template (from a downloaded model folder) bounded.
#include <gtest/gtest.h>

#include "test_support.hpp"

#include "tokenizer/chat_template.hpp"
#include "tokenizer/jinja/template.hpp"

namespace vlmrt::jinja {
namespace {

std::string render(const std::string& source, const Json& context = Json::object()) {
  return Template(source, "t.jinja").render(context);
}

using testing::error_of;

TEST(JinjaEngine, RaiseExceptionIsAnInvalidArgumentWithTheTemplatesMessage) {
  EXPECT_EQ(error_of([] { render("{{ raise_exception('Roles must alternate') }}"); }),
            "invalid argument: chat template: Roles must alternate");
}

TEST(JinjaEngine, SyntaxErrorsNameTheTemplateAndLine) {
  EXPECT_EQ(error_of([] { render("ok\n{% if x %}\n{% endfor %}"); }),
            "format error: t.jinja: line 3: unexpected '{% endfor %}'");
  EXPECT_EQ(error_of([] { render("{% for x in y %}\n"); }),
            "format error: t.jinja: line 1: missing '{% endfor %}'");
  EXPECT_EQ(error_of([] { render("{{ 'abc }}"); }),
            "format error: t.jinja: line 1: unclosed string literal");
  EXPECT_EQ(error_of([] { render("{% include 'x' %}"); }),
            "format error: t.jinja: line 1: unsupported tag 'include'");
}

TEST(JinjaEngine, AttributeOfUndefinedIsAFormatErrorNamingTheVariable) {
  EXPECT_EQ(error_of([] { render("a\n{{ message.content }}"); }),
            "format error: t.jinja: line 2: 'message' is undefined (reading attribute 'content')");
}

TEST(JinjaEngine, PrintingUndefinedGivesEmptyText) {
  EXPECT_EQ(render("[{{ nothing }}]"), "[]");
}

TEST(JinjaEngine, OutputBeyond64MiBIsRefused) {
  EXPECT_EQ(error_of([] { render("{{ 'x' * 100000000 }}"); }).substr(0, 16), "limit exceeded: ");
  EXPECT_EQ(error_of([] {
              render("{% for i in range(100000) %}{{ 'abcdefgh' * 1000 }}{% endfor %}");
            }).substr(0, 16),
            "limit exceeded: ");
}

TEST(JinjaEngine, RangeIsCappedLikeTheJinja2Sandbox) {
  EXPECT_NE(error_of([] { render("{{ range(1000000) | length }}"); }), "no error");
}

TEST(JinjaEngine, RunawayMacroRecursionIsRefused) {
  EXPECT_EQ(error_of([] {
              render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
            }).substr(0, 16),
            "limit exceeded: ");
}

TEST(JinjaEngine, DeepNestingIsASyntaxErrorNotACrash) {
  const std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_EQ(error_of([&] { render(deep); }).substr(0, 14), "format error: ");
}

TEST(JinjaEngine, ContextKeysKeepTheirOrderInTojson) {
  const Json context = Json::parse(R"({"x": {"zeta": 1, "alpha": 2}})");
  EXPECT_EQ(render("{{ x | tojson }}", context), R"({"zeta": 1, "alpha": 2})");
}

TEST(JinjaEngine, NamespaceSurvivesLoopScopes) {
  EXPECT_EQ(render("{% set ns = namespace(last='') %}{% for m in ['a', 'b'] %}{% set ns.last = m "
                   "%}{% endfor %}{{ ns.last }}"),
            "b");
}

TEST(JinjaEngine, HugeNumberLiteralsAreFormatErrors) {
  EXPECT_EQ(error_of([] { render("{{ 0xffffffffffffffffffffff }}"); }).substr(0, 14),
            "format error: ");
  EXPECT_EQ(error_of([] { render("{{ 99999999999999999999 }}"); }).substr(0, 14), "format error: ");
}

// Every prefix and every one-byte corruption of a real template either renders or throws
// vlmrt::Error: no crash, no other exception type.
TEST(JinjaEngine, TruncatedAndCorruptedTemplatesFailCleanly) {
  const std::string source =
      ChatTemplate::builtin_smolvlm().source() +
      "{% set ns = namespace(a=[1, 2]) %}{% for k, v in {'x': 1}.items() if v %}"
      "{{ k | upper ~ v }}{% else %}{{ ns.a[1:] | tojson }}{% endfor %}";
  const Json context = Json::parse(
      R"({"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}],
          "add_generation_prompt": true})");
  const std::string noise = "{}%#-+()[]'\".|~ ";
  int rendered = 0, rejected = 0;
  for (std::size_t cut = 0; cut <= source.size(); ++cut) {
    for (int variant = 0; variant < 3; ++variant) {
      std::string text = source.substr(0, cut);
      if (variant > 0 && cut < source.size())
        text = source, text[cut] = noise[(cut * 7 + variant) % noise.size()];
      try {
        Template(text, "mutated").render(context);
        ++rendered;
      } catch (const Error&) {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rendered, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace vlmrt::jinja
