// Parity with Hugging Face's Rust `tokenizers`: every corpus case encoded (with and without
// special tokens) must give the ids the oracle recorded, and decoding the recorded ids must give
// the oracle's text (skip_special_tokens false and true). The expectations are committed
// (tests/tokenizer/data/expected/<name>.json, from scripts/regenerate_tokenizer_expectations);
// the tokenizer.json files are fetched by scripts/setup into third_party/tokenizers/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
using vlmrt::tok::TokenId;
using vlmrt::tok::Tokenizer;
using Json = nlohmann::json;

// The tokenizers with expectation files; EveryExpectationFileIsListed keeps this in step.
const std::vector<std::string> kTokenizers = {"gemma3", "llama3",      "qwen3",  "llama2",
                                              "gpt4o",  "deepseek_v3", "smolvlm"};
constexpr const char* kSmolVlm = "smolvlm";
constexpr std::size_t kMaxReported = 4;  // mismatches printed per test; the rest are counted

fs::path data_dir() {
  return vlmrt::testing::source_dir() / "tests/tokenizer/data";
}

fs::path tokenizer_path(const std::string& name) {
  if (name == kSmolVlm)
    return vlmrt::testing::shared_data_dir() / "SmolVLM-256M-Instruct/tokenizer.json";
  return vlmrt::testing::source_dir() / "third_party/tokenizers" / name / "tokenizer.json";
}

Json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

std::string base64_decode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) throw std::runtime_error("corpus: bad base64 character");
    bits = (bits << 6) | static_cast<std::uint32_t>(pos);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

struct CorpusCase {
  std::string id;
  std::string input;  // raw bytes handed to encode(); may be invalid UTF-8
  bool is_text = true;
};

const std::vector<CorpusCase>& corpus() {
  static const std::vector<CorpusCase> cases = [] {
    std::vector<CorpusCase> out;
    const Json corpus_json = read_json(data_dir() / "corpus.json");
    for (const auto& c : corpus_json.at("cases")) {
      CorpusCase item{c.at("id").get<std::string>(), {}, c.contains("text")};
      item.input = item.is_text ? c.at("text").get<std::string>()
                                : base64_decode(c.at("bytes_b64").get<std::string>());
      out.push_back(std::move(item));
    }
    return out;
  }();
  return cases;
}

// Loaded once per process: the gemma3 file is 33 MB.
const Tokenizer& load_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) slot = std::make_unique<Tokenizer>(Tokenizer::from_file(tokenizer_path(name)));
  return *slot;
}

// Printable form of a case's input for failure messages: escapes controls, cuts long inputs.
std::string printable(const std::string& text, std::size_t limit = 160) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (text.size() > limit) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string ids_window(const std::vector<TokenId>& ids, std::size_t from, std::size_t to) {
  std::string out = from > 0 ? "[... " : "[";
  for (std::size_t i = from; i < std::min(to, ids.size()); ++i)
    out += (i > from ? ", " : "") + std::to_string(ids[i]);
  return out + (to < ids.size() ? " ...]" : "]");
}

std::string describe_ids_mismatch(const std::vector<TokenId>& expected,
                                  const std::vector<TokenId>& got) {
  std::size_t pos = 0;
  while (pos < expected.size() && pos < got.size() && expected[pos] == got[pos]) ++pos;
  const std::size_t from = pos > 4 ? pos - 4 : 0;
  return "    ids differ at position " + std::to_string(pos) + " (expected " +
         std::to_string(expected.size()) + " ids, got " + std::to_string(got.size()) +
         ")\n      expected " + ids_window(expected, from, pos + 6) + "\n      got      " +
         ids_window(got, from, pos + 6) + "\n";
}

std::string describe_text_mismatch(const std::string& what, const std::string& expected,
                                   const std::string& got) {
  std::size_t pos = 0;
  while (pos < expected.size() && pos < got.size() && expected[pos] == got[pos]) ++pos;
  const std::size_t from = pos > 20 ? pos - 20 : 0;
  return "    " + what + " differs at byte " + std::to_string(pos) + "\n      expected " +
         printable(expected.substr(from, 80)) + "\n      got      " +
         printable(got.substr(from, 80)) + "\n";
}

enum class Mode { kWithSpecialTokens, kWithoutSpecialTokens };

struct ParityParam {
  std::string tokenizer;
  Mode mode;
};

// Names the parameter in failure lines instead of a hex dump.
void PrintTo(const ParityParam& param, std::ostream* os) {
  *os << param.tokenizer
      << (param.mode == Mode::kWithSpecialTokens ? " with special tokens"
                                                 : " without special tokens");
}

std::string param_name(const ::testing::TestParamInfo<ParityParam>& info) {
  return info.param.tokenizer + (info.param.mode == Mode::kWithSpecialTokens
                                     ? "_WithSpecialTokens"
                                     : "_WithoutSpecialTokens");
}

std::vector<ParityParam> all_params() {
  std::vector<ParityParam> params;
  for (const auto& name : kTokenizers)
    for (Mode mode : {Mode::kWithSpecialTokens, Mode::kWithoutSpecialTokens})
      params.push_back({name, mode});
  return params;
}

class OracleParityTest : public ::testing::TestWithParam<ParityParam> {};

TEST_P(OracleParityTest, MatchesRustTokenizers) {
  const auto& [name, mode] = GetParam();
  const bool add_special = mode == Mode::kWithSpecialTokens;
  const fs::path file = tokenizer_path(name);
  if (!fs::exists(file)) {
    if (name == kSmolVlm) GTEST_SKIP() << file << " is absent (the shared data folder is not here)";
    FAIL() << file
           << " is missing: run scripts/setup (it fetches the test tokenizers with "
              "scripts/fetch_test_tokenizers)";
  }
  const fs::path expected_path = data_dir() / "expected" / (name + ".json");
  const Json expected = read_json(expected_path);
  // A different tokenizer.json than the one the oracle saw would make every mismatch misleading.
  const auto recorded_size = expected.at("tokenizer_bytes").get<std::uintmax_t>();
  ASSERT_EQ(fs::file_size(file), recorded_size)
      << file << " is not the file " << expected_path.filename()
      << " was generated from (size differs): re-run scripts/fetch_test_tokenizers, or "
         "scripts/regenerate_tokenizer_expectations if the change is intended";

  const auto& cases = corpus();
  const Json& records = expected.at("cases");
  ASSERT_EQ(records.size(), cases.size()) << expected_path
                                          << " does not match corpus.json: run "
                                             "scripts/regenerate_tokenizer_expectations";

  const Tokenizer& tokenizer = load_tokenizer(name);
  std::size_t id_mismatches = 0;
  std::size_t text_mismatches = 0;
  std::size_t reported = 0;
  std::string report;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const CorpusCase& c = cases[i];
    const Json& record = records[i];
    ASSERT_EQ(record.at("id").get<std::string>(), c.id)
        << expected_path << " case " << i
        << " is not the corpus case: run scripts/regenerate_tokenizer_expectations";
    ASSERT_EQ(record.at("n").get<std::size_t>(), c.input.size())
        << "case '" << c.id << "' changed in corpus.json since " << expected_path.filename()
        << " was generated: run scripts/regenerate_tokenizer_expectations";

    const auto expected_ids = record.at("ids").get<std::vector<TokenId>>();
    const std::vector<TokenId> ids =
        add_special ? expected_ids
                    : record.value("ids_no_special", expected_ids);  // absent: same as ids
    // Absent text fields equal the input text (text cases only; bytes cases record all).
    const char* text_key = add_special ? "text" : "text_no_special";
    const char* skip_key = add_special ? "text_skip" : "text_no_special_skip";
    const std::string expected_text = record.value(text_key, c.input);
    const std::string expected_skip = record.value(skip_key, c.input);

    std::string details;
    const std::vector<TokenId> got = tokenizer.encode(c.input, add_special);
    if (got != ids) {
      ++id_mismatches;
      details += describe_ids_mismatch(ids, got);
    }
    // Decoding starts from the oracle's ids so a decoder bug is not hidden by an encoder bug.
    const std::string text = tokenizer.decode(ids, false);
    const std::string text_skip = tokenizer.decode(ids, true);
    if (text != expected_text || text_skip != expected_skip) {
      ++text_mismatches;
      if (text != expected_text)
        details += describe_text_mismatch("decode(skip_special_tokens=false)", expected_text, text);
      if (text_skip != expected_skip)
        details +=
            describe_text_mismatch("decode(skip_special_tokens=true)", expected_skip, text_skip);
    }
    if (!details.empty() && reported++ < kMaxReported)
      report += "  case '" + c.id + "' " + printable(c.input) + "\n" + details;
  }
  EXPECT_TRUE(id_mismatches == 0 && text_mismatches == 0)
      << name << (add_special ? " with" : " without") << " special tokens: " << id_mismatches
      << " of " << cases.size() << " cases encode differently, " << text_mismatches
      << " decode differently from Rust tokenizers (first " << std::min(reported, kMaxReported)
      << " shown):\n"
      << report;
}

INSTANTIATE_TEST_SUITE_P(OracleParity, OracleParityTest, ::testing::ValuesIn(all_params()),
                         param_name);

TEST(OracleParityFiles, EveryExpectationFileIsListed) {
  for (const auto& entry : fs::directory_iterator(data_dir() / "expected")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().stem().string();
    EXPECT_NE(std::find(kTokenizers.begin(), kTokenizers.end(), name), kTokenizers.end())
        << entry.path() << " has no parity test: add '" << name << "' to kTokenizers";
  }
  for (const auto& name : kTokenizers)
    EXPECT_TRUE(fs::exists(data_dir() / "expected" / (name + ".json")))
        << name << ".json is missing: run scripts/regenerate_tokenizer_expectations";
}

}  // namespace
