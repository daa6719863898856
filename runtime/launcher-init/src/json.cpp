#include "json.hpp"

#include <charconv>

#include "error.hpp"

namespace launcher_init {

namespace {

constexpr int max_depth = 64;

class Parser {
public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  Json document() {
    auto value = parse_value(0);
    skip_space();
    if (at_ != text_.size()) throw fail("unexpected text after the value");
    return value;
  }

private:
  Error fail(std::string_view reason) const {
    return failure("parse", source_, std::string(reason) + " at byte " + std::to_string(at_));
  }

  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }

  bool take(char expected) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == expected) {
      ++at_;
      return true;
    }
    return false;
  }

  void expect(char expected) {
    if (!take(expected)) throw fail(std::string("expected '") + expected + "'");
  }

  bool take_word(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  Json parse_value(int depth) {
    if (depth > max_depth) throw fail("nested too deeply");
    skip_space();
    if (at_ >= text_.size()) throw fail("unexpected end");
    Json value;
    char first = text_[at_];
    if (first == '{') {
      ++at_;
      value.kind = Json::Kind::object;
      if (take('}')) return value;
      do {
        skip_space();
        if (at_ >= text_.size() || text_[at_] != '"') throw fail("expected a member name");
        auto key = parse_string();
        expect(':');
        value.members.push_back({std::move(key), parse_value(depth + 1)});
      } while (take(','));
      expect('}');
    } else if (first == '[') {
      ++at_;
      value.kind = Json::Kind::array;
      if (take(']')) return value;
      do
        value.items.push_back(parse_value(depth + 1));
      while (take(','));
      expect(']');
    } else if (first == '"') {
      value.kind = Json::Kind::string;
      value.text = parse_string();
    } else if (take_word("true") || take_word("false")) {
      value.kind = Json::Kind::boolean;
      value.boolean = first == 't';
    } else if (take_word("null")) {
      value.kind = Json::Kind::null;
    } else if (first == '-' || (first >= '0' && first <= '9')) {
      value.kind = Json::Kind::number;
      auto start = at_;
      while (at_ < text_.size() && std::string_view("+-.eE0123456789").find(text_[at_]) != std::string_view::npos)
        ++at_;
      value.text = std::string(text_.substr(start, at_ - start));
    } else {
      throw fail("unexpected character");
    }
    return value;
  }

  unsigned parse_hex4() {
    if (at_ + 4 > text_.size()) throw fail("truncated \\u escape");
    unsigned code = 0;
    auto [end, error] = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, code, 16);
    if (error != std::errc{} || end != text_.data() + at_ + 4) throw fail("bad \\u escape");
    at_ += 4;
    return code;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string parse_string() {
    ++at_; // the opening quote
    std::string out;
    while (true) {
      if (at_ >= text_.size()) throw fail("unterminated string");
      char c = text_[at_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) throw fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) throw fail("unterminated string");
      char escaped = text_[at_++];
      switch (escaped) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned code = parse_hex4();
        if (code >= 0xD800 && code < 0xDC00) {
          if (!take_word("\\u")) throw fail("lone surrogate");
          unsigned low = parse_hex4();
          if (low < 0xDC00 || low >= 0xE000) throw fail("lone surrogate");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code < 0xE000) {
          throw fail("lone surrogate");
        }
        append_utf8(out, code);
        break;
      }
      default:
        throw fail("bad escape");
      }
    }
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t at_ = 0;
};

Error bad_member(std::string_view source, std::string_view key, std::string_view expected) {
  return failure("read", source, std::string(key) + ": expected " + std::string(expected));
}

} // namespace

const Json* Json::find(std::string_view key) const {
  for (const auto& member : members)
    if (member.name == key) return &member.value;
  return nullptr;
}

Json parse_json(std::string_view text, std::string_view source) { return Parser(text, source).document(); }

std::string json_quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char hex[] = "0123456789abcdef";
        out += "\\u00";
        out += hex[(c >> 4) & 0xF];
        out += hex[c & 0xF];
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

std::string json_string(const Json& object, std::string_view key, std::string_view source) {
  const auto* member = object.find(key);
  if (member == nullptr || member->kind != Json::Kind::string) throw bad_member(source, key, "a string");
  return member->text;
}

std::int64_t json_integer(const Json& object, std::string_view key, std::string_view source, std::int64_t minimum,
                          std::int64_t maximum) {
  const auto* member = object.find(key);
  std::int64_t number = 0;
  if (member == nullptr || member->kind != Json::Kind::number) throw bad_member(source, key, "a whole number");
  const auto& digits = member->text;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc{} || end != digits.data() + digits.size() || number < minimum || number > maximum) {
    throw bad_member(source, key,
                     "a whole number from " + std::to_string(minimum) + " to " + std::to_string(maximum) + ", found " +
                         digits);
  }
  return number;
}

std::vector<std::string> json_strings(const Json& array, std::string_view source) {
  if (array.kind != Json::Kind::array) throw failure("read", source, "expected an array of strings");
  std::vector<std::string> strings;
  for (const auto& item : array.items) {
    if (item.kind != Json::Kind::string) throw failure("read", source, "expected an array of strings");
    strings.push_back(item.text);
  }
  return strings;
}

} // namespace launcher_init
