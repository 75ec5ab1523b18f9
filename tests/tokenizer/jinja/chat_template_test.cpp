// ChatTemplate: messages → template context as transformers builds it, template discovery in a
// model folder, and the built-in SmolVLM fallback.
#include "tokenizer/chat_template.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

using Messages = std::vector<ChatMessage>;

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(ChatTemplate, MessagesBecomeHfStyleDicts) {
  const std::vector<ChatMessage> messages{
      {"system", std::string("plain")},
      {"user",
       std::vector{ContentPart::image(), ContentPart::make_text("hi"), ContentPart::video()}}};
  EXPECT_EQ(messages_to_json(messages).dump(),
            R"([{"role":"system","content":"plain"},{"role":"user","content":[{"type":"image"},)"
            R"({"type":"text","text":"hi"},{"type":"video"}]}])");
}

TEST(ChatTemplate, ContextHasToolsNoneAndCallerExtrasOverride) {
  const ChatTemplate t(
      "{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ x }}", "t");
  EXPECT_EQ(t.render({}, true, {{"x", 5}}), "True True True 5");
}

TEST(ChatTemplate, SystemAndMultiTurnWithBuiltinSmolVlmTemplate) {
  const std::vector<ChatMessage> messages{
      {"system", std::vector{ContentPart::make_text("Be brief.")}},
      {"user",
       std::vector{ContentPart::image(), ContentPart::image(), ContentPart::make_text("Same?")}},
      {"assistant", std::vector{ContentPart::make_text("Yes.")}}};
  EXPECT_EQ(ChatTemplate::builtin_smolvlm().render(messages, false),
            "<|im_start|>System: Be "
            "brief.<end_of_utterance>\nUser:<image><image>Same?<end_of_utterance>\n"
            "Assistant: Yes.<end_of_utterance>\n");
}

TEST(ChatTemplate, IdeficsFolderWithoutTemplateUsesTheBuiltinOne) {
  const fs::path dir = testing::scratch_dir("chat_template_builtin");
  fs::copy_file(testing::source_dir() / "tests/fixtures/configs/tiny-smolvlm/config.json",
                dir / "config.json");
  const ChatTemplate t = ChatTemplate::for_model(dir);
  EXPECT_EQ(t.name(), "built-in SmolVLM chat template");
  EXPECT_EQ(t.render(Messages{{"user", std::vector{ContentPart::make_text("Hi")}}}, true),
            "<|im_start|>User: Hi<end_of_utterance>\nAssistant:");
}

TEST(ChatTemplate, PaliGemmaFolderHasNoTemplate) {
  const fs::path dir = testing::scratch_dir("chat_template_paligemma");
  fs::copy_file(testing::source_dir() / "tests/fixtures/configs/tiny-paligemma/config.json",
                dir / "config.json");
  try {
    ChatTemplate::for_model(dir);
    FAIL() << "expected NotFound";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
}

TEST(ChatTemplate, TokenizerConfigTemplateSeesTheSpecialTokens) {
  const fs::path dir = testing::scratch_dir("chat_template_tokcfg");
  write(
      dir / "tokenizer_config.json",
      R"({"bos_token": {"content": "<s>"}, "eos_token": "</s>", "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"})");
  const ChatTemplate t = ChatTemplate::for_model(dir);
  EXPECT_EQ(t.render(Messages{{"user", std::string("a")}, {"assistant", std::string("b")}}, false),
            "<s>a</s>b</s>");
}

TEST(ChatTemplate, StandaloneJinjaFileWinsOverTokenizerConfig) {
  const fs::path dir = testing::scratch_dir("chat_template_jinja_file");
  write(dir / "tokenizer_config.json", R"({"chat_template": "from config"})");
  write(dir / "chat_template.jinja", "from jinja file\n");
  EXPECT_EQ(ChatTemplate::for_model(dir).render({}, false), "from jinja file");
}

TEST(ChatTemplate, Gemma3RejectsNonAlternatingRolesWithItsMessage) {
  const fs::path config =
      testing::source_dir() / "third_party/tokenizers/gemma3/tokenizer_config.json";
  if (!fs::exists(config)) FAIL() << config << " is missing: run scripts/setup";
  const fs::path dir = testing::scratch_dir("chat_template_gemma3");
  fs::copy_file(config, dir / "tokenizer_config.json");
  const ChatTemplate t = ChatTemplate::for_model(dir);
  EXPECT_EQ(t.render(Messages{{"user", std::string("Hi")}}, true),
            "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  try {
    t.render(Messages{{"user", std::string("a")}, {"user", std::string("b")}}, true);
    FAIL() << "expected raise_exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_STREQ(
        e.what(),
        "chat template: Conversation roles must alternate user/assistant/user/assistant/...");
  }
}

}  // namespace
}  // namespace vlmrt
