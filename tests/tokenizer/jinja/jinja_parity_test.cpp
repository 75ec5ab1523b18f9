// Parity with Python's jinja2 configured as transformers renders chat templates: every case in
// render_reference.py (feature templates and real model templates) must render byte-identically,
// and cases jinja2 rejects must be rejected.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include "tokenizer/chat_template.hpp"
#include "tokenizer/jinja/template.hpp"

namespace vlmrt::jinja {
namespace {

namespace fs = std::filesystem;

struct Reference {
  Json cases;
  Json missing;
};

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

const Reference& reference() {
  static const Reference ref = [] {
    const fs::path smolvlm =
        testing::shared_data_dir() / "SmolVLM-256M-Instruct" / "chat_template.json";
    const fs::path tokenizers = testing::source_dir() / "third_party" / "tokenizers";
    const fs::path dir = testing::generated_data(
        "jinja_reference", testing::source_dir() / "tests/tokenizer/jinja/render_reference.py",
        "--smolvlm " + testing::shell_quote(smolvlm.string()) + " --tokenizers " +
            testing::shell_quote(tokenizers.string()));
    return Reference{read_json(dir / "cases.json"), read_json(dir / "missing.json")};
  }();
  return ref;
}

bool is_missing(const std::string& group) {
  for (const auto& name : reference().missing)
    if (name == group) return true;
  return false;
}

// Renders every case of `group`; returns how many were checked.
int check_group(const std::string& group) {
  int checked = 0;
  for (const auto& c : reference().cases) {
    if (c["group"] != group) continue;
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(group + "/" + name);
    ++checked;
    if (c.contains("error")) {
      EXPECT_THROW(Template(c["template"].get<std::string>(), name).render(c["context"]), Error)
          << "jinja2 raised " << c["error"].get<std::string>() << ": "
          << c["message"].get<std::string>();
      continue;
    }
    try {
      EXPECT_EQ(Template(c["template"].get<std::string>(), name).render(c["context"]),
                c["expected"].get<std::string>());
    } catch (const Error& e) {
      ADD_FAILURE() << "threw " << e.what();
    }
  }
  return checked;
}

void check_real_template(const std::string& name) {
  if (is_missing(name))
    FAIL() << "third_party/tokenizers/" << name
           << "/tokenizer_config.json is missing: run scripts/setup (or "
              "scripts/fetch_test_tokenizers)";
  EXPECT_GT(check_group(name), 0);
}

TEST(JinjaParity, FeatureTemplatesRenderLikeJinja2) {
  EXPECT_GT(check_group("features"), 40);
}

TEST(JinjaParity, SmolVlmChatTemplateRendersLikeJinja2) {
  if (is_missing("smolvlm"))
    GTEST_SKIP() << "shared data SmolVLM-256M-Instruct/chat_template.json is absent";
  EXPECT_EQ(check_group("smolvlm"), 12);
}

TEST(JinjaParity, BuiltinSmolVlm2FormatRendersLikeJinja2) {
  EXPECT_EQ(check_group("smolvlm2_format"), 12);
  for (const auto& c : reference().cases)
    if (c["group"] == "smolvlm2_format") {
      EXPECT_EQ(ChatTemplate::builtin_smolvlm().source(), c["template"].get<std::string>());
      break;
    }
}

TEST(JinjaParity, Gemma3ChatTemplateRendersLikeJinja2) {
  check_real_template("gemma3");
}
TEST(JinjaParity, Llama3ChatTemplateRendersLikeJinja2) {
  check_real_template("llama3");
}
TEST(JinjaParity, Qwen3ChatTemplateRendersLikeJinja2) {
  check_real_template("qwen3");
}
TEST(JinjaParity, DeepSeekV3ChatTemplateRendersLikeJinja2) {
  check_real_template("deepseek_v3");
}

}  // namespace
}  // namespace vlmrt::jinja
