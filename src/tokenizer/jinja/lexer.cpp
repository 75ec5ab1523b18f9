#include "tokenizer/jinja/lexer.hpp"

#include "core/utf8.hpp"

#include <array>
#include <cctype>
#include <cstdint>

#include "tokenizer/jinja/value.hpp"

namespace vlmrt::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
         (c >= 0x1c && c <= 0x1f);
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

// jinja2 joins the source's lines with "\n" (any of \r\n, \r, \n ends a line) and, unless
// keep_trailing_newline, drops one final newline.
std::string normalize_newlines(std::string_view source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, const LexOptions& options)
      : src_(std::move(source)), options_(options) {}

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      const std::size_t start = find_tag_start(pos_);
      if (start == std::string::npos) {
        emit_text(src_.substr(pos_));
        break;
      }
      std::string text = src_.substr(pos_, start - pos_);
      const char kind = src_[start + 1];  // '{', '%' or '#'
      char sign = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (sign != '-' && sign != '+') sign = '\0';
      const bool raw = kind == '%' && is_raw_begin(start + 2 + (sign ? 1 : 0));
      strip_before(text, sign, kind != '{', line_starting);
      emit_text(std::move(text));
      pos_ = start + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        line_starting = skip_comment(start);
      } else if (raw) {
        line_starting = read_raw(start);
      } else {
        line_starting = read_tag(kind == '{');
      }
    }
    tokens_.push_back({TokenType::End, "", line_at(src_.size())});
    return std::move(tokens_);
  }

 private:
  int line_at(std::size_t pos) {
    if (pos < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    for (; line_pos_ < pos && line_pos_ < src_.size(); ++line_pos_)
      if (src_[line_pos_] == '\n') ++line_;
    return line_;
  }
  [[noreturn]] void error(std::size_t pos, const std::string& message) {
    fail("line " + std::to_string(line_at(pos)) + ": " + message);
  }

  std::size_t find_tag_start(std::size_t from) const {
    for (std::size_t i = from; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    return std::string::npos;
  }

  void emit_text(std::string text) {
    if (text.empty()) return;
    tokens_.push_back({TokenType::Text, std::move(text), line_at(pos_)});
  }

  // `-` strips all whitespace before the tag; otherwise lstrip_blocks removes the indentation of
  // a block/comment tag that has only whitespace before it on its line.
  void strip_before(std::string& text, char sign, bool block_like, bool line_starting) const {
    if (sign == '-') {
      std::size_t end = text.size();
      while (end > 0 && is_space(text[end - 1])) --end;
      text.resize(end);
    } else if (sign != '+' && options_.lstrip_blocks && block_like) {
      const std::size_t newline = text.rfind('\n');
      const std::size_t l_pos = newline == std::string::npos ? 0 : newline + 1;
      if (l_pos > 0 || line_starting) {
        bool blank = l_pos < text.size();
        for (std::size_t i = l_pos; i < text.size() && blank; ++i) blank = is_space(text[i]);
        if (blank) text.resize(l_pos);
      }
    }
  }

  // After a closing `%}` / `#}` at `pos` (just past it) with the given sign before it: `-` eats
  // all following whitespace, plain eats one newline when trim_blocks. Returns line_starting.
  bool finish_block_end(std::size_t pos, char sign) {
    pos_ = pos;
    if (sign == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (sign != '+' && options_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    return pos_ > 0 && src_[pos_ - 1] == '\n';
  }

  bool skip_comment(std::size_t start) {
    const std::size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) error(start, "unclosed comment '{#'");
    const char sign =
        end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    return finish_block_end(end + 2, sign);
  }

  bool is_raw_begin(std::size_t p) const {
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    return src_.compare(p, 2, "%}") == 0;
  }

  bool read_raw(std::size_t start) {
    std::size_t p = src_.find("%}", pos_);
    const char open_sign = src_[p - 1] == '-' || src_[p - 1] == '+' ? src_[p - 1] : '\0';
    finish_block_end(p + 2, open_sign);
    // Find `{%[-+]? endraw [-+]?%}`.
    for (std::size_t i = src_.find("{%", pos_); i != std::string::npos;
         i = src_.find("{%", i + 2)) {
      std::size_t q = i + 2;
      const char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q++] : '\0';
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      const char end_sign =
          q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q++] : '\0';
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, i - pos_);
      strip_before(text, sign, true, false);
      emit_text(std::move(text));
      return finish_block_end(q + 2, end_sign);
    }
    error(start, "unclosed '{% raw %}' block");
  }

  // Tokens of one {{ }} or {% %} tag. Returns line_starting for the text that follows.
  bool read_tag(bool variable) {
    const std::size_t start = pos_;
    tokens_.push_back({variable ? TokenType::VarBegin : TokenType::BlockBegin, "", line_at(start)});
    int depth = 0;  // jinja2 ignores end markers inside open brackets: {{ {'a': {'b': 1}} }}
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) error(start, variable ? "unclosed '{{'" : "unclosed '{%'");
      if (depth == 0) {
        const char c = src_[pos_];
        const char sign = c == '-' || (c == '+' && !variable) ? c : '\0';
        const std::size_t at = pos_ + (sign ? 1 : 0);
        if (src_.compare(at, 2, variable ? "}}" : "%}") == 0) {
          tokens_.push_back(
              {variable ? TokenType::VarEnd : TokenType::BlockEnd, "", line_at(pos_)});
          if (variable) {
            pos_ = at + 2;
            if (sign == '-')
              while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
            return pos_ > 0 && src_[pos_ - 1] == '\n' && sign == '-';
          }
          return finish_block_end(at + 2, sign);
        }
      }
      read_token(depth);
    }
  }

  void read_token(int& depth) {
    const char c = src_[pos_];
    const int line = line_at(pos_);
    if (c == '\'' || c == '"') {
      tokens_.push_back({TokenType::String, read_string(c), line});
      return;
    }
    const bool after_dot = !tokens_.empty() && tokens_.back().type == TokenType::Operator &&
                           tokens_.back().value == ".";
    if (is_digit(c)) {
      read_number(after_dot, line);
      return;
    }
    if (is_name_start(c)) {
      const std::size_t begin = pos_;
      while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
      tokens_.push_back({TokenType::Name, src_.substr(begin, pos_ - begin), line});
      return;
    }
    static constexpr std::array<std::string_view, 6> kTwo = {"**", "//", "==", "!=", "<=", ">="};
    for (auto op : kTwo)
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back({TokenType::Operator, std::string(op), line});
        pos_ += 2;
        return;
      }
    static constexpr std::string_view kOne = "+-*/%~<>=()[]{},.:|";
    if (kOne.find(c) == std::string_view::npos)
      error(pos_, std::string("unexpected character '") + c + "' in tag");
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') {
      if (depth == 0) error(pos_, std::string("unexpected '") + c + "'");
      --depth;
    }
    tokens_.push_back({TokenType::Operator, std::string(1, c), line});
    ++pos_;
  }

  void read_number(bool integer_only, int line) {
    const std::size_t begin = pos_;
    auto digits = [&](auto accept) {
      while (pos_ < src_.size() &&
             (accept(src_[pos_]) ||
              (src_[pos_] == '_' && pos_ + 1 < src_.size() && accept(src_[pos_ + 1]))))
        ++pos_;
    };
    if (src_[pos_] == '0' && pos_ + 1 < src_.size() &&
        std::string_view("xXoObB").find(src_[pos_ + 1]) != std::string_view::npos) {
      const char base = static_cast<char>(src_[pos_ + 1] | 0x20);
      pos_ += 2;
      const std::size_t digits_begin = pos_;
      digits([&](char d) {
        return base == 'x' ? std::isxdigit(static_cast<unsigned char>(d)) != 0
                           : (base == 'o' ? d >= '0' && d <= '7' : d == '0' || d == '1');
      });
      std::string text;
      for (std::size_t i = digits_begin; i < pos_; ++i)
        if (src_[i] != '_') text += src_[i];
      if (text.empty()) error(begin, "malformed number literal");
      const auto value = std::stoull(text, nullptr, base == 'x' ? 16 : (base == 'o' ? 8 : 2));
      tokens_.push_back({TokenType::Integer, std::to_string(value), line});
      return;
    }
    digits(is_digit);
    bool is_float = false;
    if (!integer_only && pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      is_float = true;
      ++pos_;
      digits(is_digit);
    }
    if (!integer_only && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      std::size_t q = pos_ + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && is_digit(src_[q])) {
        is_float = true;
        pos_ = q;
        digits(is_digit);
      }
    }
    std::string text;
    for (std::size_t i = begin; i < pos_; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back({is_float ? TokenType::Float : TokenType::Integer, text, line});
  }

  // Python string-literal escapes (jinja2 decodes literals with "unicode-escape"); unknown
  // escapes keep their backslash, as Python does.
  std::string read_string(char quote) {
    const std::size_t start = pos_++;
    std::u32string out;
    while (true) {
      if (pos_ >= src_.size()) error(start, "unclosed string literal");
      const char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        return utf8::encode(out);
      }
      if (c != '\\') {
        const std::size_t begin = pos_++;
        while (pos_ < src_.size() && src_[pos_] != quote && src_[pos_] != '\\') ++pos_;
        out += utf8::decode(std::string_view(src_).substr(begin, pos_ - begin));
        continue;
      }
      if (pos_ + 1 >= src_.size()) error(start, "unclosed string literal");
      const char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
        case '\'':
        case '"':
          out += static_cast<char32_t>(e);
          break;
        case 'a':
          out += U'\a';
          break;
        case 'b':
          out += U'\b';
          break;
        case 'f':
          out += U'\f';
          break;
        case 'n':
          out += U'\n';
          break;
        case 'r':
          out += U'\r';
          break;
        case 't':
          out += U'\t';
          break;
        case 'v':
          out += U'\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const std::size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          if (pos_ + n > src_.size()) error(start, "truncated \\" + std::string(1, e) + " escape");
          char32_t cp = 0;
          for (std::size_t i = 0; i < n; ++i) {
            const char h = src_[pos_ + i];
            if (!std::isxdigit(static_cast<unsigned char>(h)))
              error(start, "malformed \\" + std::string(1, e) + " escape");
            cp = cp * 16 + static_cast<char32_t>(std::stoi(std::string(1, h), nullptr, 16));
          }
          if (cp > 0x10ffff) error(start, "escape beyond U+10FFFF");
          out += cp;
          pos_ += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int i = 0; i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7';
                 ++i)
              cp = cp * 8 + static_cast<char32_t>(src_[pos_++] - '0');
            out += cp;
          } else {
            out += U'\\';
            --pos_;  // the character after the backslash is read as ordinary text
          }
      }
    }
  }

  std::string src_;
  LexOptions options_;
  std::size_t pos_ = 0;
  std::size_t line_pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex(std::string_view source, const LexOptions& options) {
  return Lexer(normalize_newlines(source, options.keep_trailing_newline), options).run();
}

}  // namespace vlmrt::jinja
