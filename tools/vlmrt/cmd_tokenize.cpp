// `vlmrt tokenize` and `vlmrt detokenize`: text ⇄ token ids with a tokenizer.json, for checking
// prompts against Hugging Face and for scripting (the --jsonl forms load the tokenizer once).
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "tokenizer/tokenizer.hpp"
#include "vlmrt/errors.hpp"

namespace {

namespace fs = std::filesystem;
using vlmrt::Error;
using vlmrt::ErrorKind;
using vlmrt::tok::TokenId;
using vlmrt::tok::Tokenizer;

// --tokenizer takes the file itself or a model folder holding tokenizer.json.
Tokenizer load_tokenizer(const std::string& argument) {
  fs::path path(argument);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    path /= "tokenizer.json";
    if (!fs::exists(path, ec))
      throw Error(ErrorKind::NotFound,
                  argument + ": folder has no tokenizer.json (pass the file or a model folder)");
  }
  return Tokenizer::from_file(path);
}

std::string ids_to_json(const std::vector<TokenId>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

// Decoded text is valid UTF-8 by construction; `replace` only guards the JSON writer.
std::string text_to_json(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

std::string read_all_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Ids accept "1 2 3", "1,2,3" and "[1, 2, 3]" (what `vlmrt tokenize` prints), split over any
// number of arguments.
std::vector<TokenId> parse_ids(const std::vector<std::string>& arguments) {
  std::string joined;
  for (const auto& a : arguments) joined += a + ' ';
  for (char& c : joined)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::vector<TokenId> ids;
  std::size_t pos = 0;
  while (true) {
    pos = joined.find_first_not_of(" \t\r\n", pos);
    if (pos == std::string::npos) break;
    const std::size_t end = joined.find_first_of(" \t\r\n", pos);
    const std::string word = joined.substr(pos, end - pos);
    pos = end;
    errno = 0;
    char* stop = nullptr;
    const long long value = std::strtoll(word.c_str(), &stop, 10);
    if (*stop != '\0' || word.empty() || errno == ERANGE || value < 0 || value > 0x7fffffff)
      throw Error(ErrorKind::InvalidArgument,
                  "token id '" + word + "' is not an integer in [0, 2147483647]");
    ids.push_back(static_cast<TokenId>(value));
  }
  return ids;
}

int run_tokenize(int argc, char** argv) {
  CLI::App app{
      "Encode text into token ids with a Hugging Face tokenizer.json, exactly as the Rust "
      "`tokenizers` library does, and print them as a JSON array. Special-token text in the "
      "input (e.g. <|im_start|>) becomes its single id; invalid UTF-8 is replaced by U+FFFD.\n\n"
      "Examples:\n"
      "  vlmrt tokenize --tokenizer models/SmolVLM-256M-Instruct 'Hello world'\n"
      "    [19556,905]\n"
      "  vlmrt tokenize --tokenizer gemma3/tokenizer.json --no-special 'Hello'\n"
      "  printf '\"one\"\\n\"two\\\\nlines\"\\n' | vlmrt tokenize --tokenizer tok.json --jsonl\n"
      "  vlmrt tokenize --tokenizer tok.json - < prompt.txt\n"
      "  vlmrt tokenize --tokenizer tok.json -- '-text starting with a dash'",
      "vlmrt tokenize"};
  std::string tokenizer_arg;
  bool no_special = false;
  bool jsonl = false;
  std::string text;
  app.add_option("--tokenizer", tokenizer_arg, "tokenizer.json, or a model folder that holds one")
      ->required();
  app.add_flag("--no-special", no_special,
               "do not add the post-processor's template tokens (e.g. <bos>); HF's "
               "add_special_tokens=False");
  app.add_flag("--jsonl", jsonl,
               "read one JSON string per line from stdin (e.g. \"Hello\\nworld\") and print one "
               "id array per line, in order; the tokenizer is loaded once");
  app.add_option("TEXT", text, "the text to encode; '-' reads all of stdin as one text");
  CLI11_PARSE(app, argc, argv);

  const bool have_text = app.count("TEXT") > 0;
  if (jsonl == have_text) {
    std::fprintf(stderr, "vlmrt tokenize: give either TEXT or --jsonl (see --help)\n");
    return 2;
  }
  const Tokenizer tokenizer = load_tokenizer(tokenizer_arg);
  if (!jsonl) {
    write_line(ids_to_json(tokenizer.encode(text == "-" ? read_all_stdin() : text, !no_special)));
    return 0;
  }
  std::string line;
  for (std::size_t line_number = 1; std::getline(std::cin, line); ++line_number) {
    nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!value.is_string())
      throw Error(ErrorKind::InvalidArgument,
                  "stdin line " + std::to_string(line_number) +
                      ": expected a JSON string such as \"Hello\", found '" + line.substr(0, 60) +
                      "'");
    write_line(ids_to_json(tokenizer.encode(value.get_ref<const std::string&>(), !no_special)));
    std::fflush(stdout);  // lets a caller drive it line by line through a pipe
  }
  return 0;
}

int run_detokenize(int argc, char** argv) {
  CLI::App app{
      "Decode token ids back into text with a Hugging Face tokenizer.json, exactly as the Rust "
      "`tokenizers` library does. Ids outside the vocabulary are skipped, as HF does.\n\n"
      "Examples:\n"
      "  vlmrt detokenize --tokenizer models/SmolVLM-256M-Instruct 19556 905\n"
      "    Hello world\n"
      "  vlmrt detokenize --tokenizer tok.json --skip-special '[1,4093,198,19556]'\n"
      "  vlmrt detokenize --tokenizer tok.json --json 19556 198\n"
      "    \"Hello\\n\"\n"
      "  printf '[19556,905]\\n[1]\\n' | vlmrt detokenize --tokenizer tok.json --jsonl",
      "vlmrt detokenize"};
  std::string tokenizer_arg;
  bool skip_special = false;
  bool as_json = false;
  bool jsonl = false;
  std::vector<std::string> id_args;
  app.add_option("--tokenizer", tokenizer_arg, "tokenizer.json, or a model folder that holds one")
      ->required();
  app.add_flag("--skip-special", skip_special,
               "leave special tokens (e.g. <|im_start|>, <bos>) out of the text; HF's "
               "skip_special_tokens=True");
  app.add_flag("--json", as_json,
               "print the text as a JSON string (exact: shows newlines and trailing spaces)");
  app.add_flag("--jsonl", jsonl,
               "read one JSON id array per line from stdin and print one JSON string per line");
  app.add_option("IDS", id_args,
                 "token ids: '1 2 3', '1,2,3' or '[1, 2, 3]' (what `vlmrt tokenize` prints)");
  CLI11_PARSE(app, argc, argv);

  if (jsonl == !id_args.empty()) {
    std::fprintf(stderr, "vlmrt detokenize: give either IDS or --jsonl (see --help)\n");
    return 2;
  }
  const Tokenizer tokenizer = load_tokenizer(tokenizer_arg);
  if (!jsonl) {
    const std::string text = tokenizer.decode(parse_ids(id_args), skip_special);
    write_line(as_json ? text_to_json(text) : text);
    return 0;
  }
  std::string line;
  for (std::size_t line_number = 1; std::getline(std::cin, line); ++line_number) {
    const nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    std::vector<TokenId> ids;
    bool ok = value.is_array();
    for (const auto& item : value.is_array() ? value : nlohmann::json::array()) {
      ok = ok && item.is_number_unsigned() && item.get<std::uint64_t>() <= 0x7fffffff;
      if (ok) ids.push_back(static_cast<TokenId>(item.get<std::uint64_t>()));
    }
    if (!ok)
      throw Error(ErrorKind::InvalidArgument,
                  "stdin line " + std::to_string(line_number) +
                      ": expected a JSON array of token ids such as [1,2,3], found '" +
                      line.substr(0, 60) + "'");
    write_line(text_to_json(tokenizer.decode(ids, skip_special)));
    std::fflush(stdout);
  }
  return 0;
}

const vlmrt::cli::RegisterCommand kRegisterTokenize{
    {"tokenize", "encode text into token ids with a tokenizer.json (HF-exact)", run_tokenize}};
const vlmrt::cli::RegisterCommand kRegisterDetokenize{
    {"detokenize", "decode token ids into text with a tokenizer.json (HF-exact)", run_detokenize}};

}  // namespace
