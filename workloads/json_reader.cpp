// json_reader.cpp - recursive-descent JSON parser (see json_reader.hpp).
//
// Thread-safety: pure functions.
#include "json_reader.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cmath>

namespace tier::workloads {

namespace {

constexpr int kMaxDepth = 64;  // nesting deeper than any of our formats is an error, not a crash

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Status value(JsonValue *out, int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 64 levels");
    ws();
    if (i_ >= t_.size()) return fail("expected a value, found the end of the text");
    const char c = t_[i_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out->kind = JsonValue::kString;
      return string(&out->string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    if (literal("true")) return out->kind = JsonValue::kBool, out->boolean = true, Status{};
    if (literal("false")) return out->kind = JsonValue::kBool, Status{};
    if (literal("null")) return out->kind = JsonValue::kNull, Status{};
    return fail(std::string("unexpected character '") + c + "'");
  }

  Status end() {
    ws();
    if (i_ != t_.size()) return fail("unexpected text after the value");
    return {};
  }

 private:
  Status fail(const std::string &what) const {
    return make_error(TIER_EINVAL, "column " + std::to_string(i_ + 1) + ": " + what);
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  Status object(JsonValue *out, int depth) {
    out->kind = JsonValue::kObject;
    ++i_;  // '{'
    ws();
    if (i_ < t_.size() && t_[i_] == '}') return ++i_, Status{};
    for (;;) {
      ws();
      if (i_ >= t_.size() || t_[i_] != '"') return fail("expected a member name in quotes");
      std::string key;
      if (Status st = string(&key); !st) return st;
      if (out->find(key)) return fail("member \"" + key + "\" appears twice");
      ws();
      if (i_ >= t_.size() || t_[i_] != ':') return fail("expected ':' after \"" + key + "\"");
      ++i_;
      JsonValue v;
      if (Status st = value(&v, depth + 1); !st) return st;
      out->members.emplace_back(std::move(key), std::move(v));
      ws();
      if (i_ < t_.size() && t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < t_.size() && t_[i_] == '}') return ++i_, Status{};
      return fail("expected ',' or '}' in an object");
    }
  }

  Status array(JsonValue *out, int depth) {
    out->kind = JsonValue::kArray;
    ++i_;  // '['
    ws();
    if (i_ < t_.size() && t_[i_] == ']') return ++i_, Status{};
    for (;;) {
      JsonValue v;
      if (Status st = value(&v, depth + 1); !st) return st;
      out->items.push_back(std::move(v));
      ws();
      if (i_ < t_.size() && t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < t_.size() && t_[i_] == ']') return ++i_, Status{};
      return fail("expected ',' or ']' in an array");
    }
  }

  Status string(std::string *out) {
    ++i_;  // '"'
    while (i_ < t_.size()) {
      const char c = t_[i_++];
      if (c == '"') return {};
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= t_.size()) break;
      const char e = t_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          // Names in our formats are ASCII; keep escapes verbatim rather than decode UTF-16.
          if (i_ + 4 > t_.size()) return fail("short \\u escape");
          for (size_t k = 0; k < 4; ++k)
            if (!std::isxdigit(static_cast<unsigned char>(t_[i_ + k])))
              return fail("bad \\u escape");
          out->append("\\u").append(t_.substr(i_, 4));
          i_ += 4;
          break;
        }
        default:
          return fail(std::string("bad escape '\\") + e + "'");
      }
    }
    return fail("unterminated string");
  }

  Status number(JsonValue *out) {
    const size_t start = i_;
    bool frac = false;
    if (t_[i_] == '-') ++i_;
    if (i_ >= t_.size() || !std::isdigit(static_cast<unsigned char>(t_[i_])))
      return fail("expected a digit");
    if (t_[i_] == '0' && i_ + 1 < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_ + 1])))
      return fail("leading zero in a number");
    while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) ++i_;
    if (i_ < t_.size() && t_[i_] == '.') {
      frac = true;
      ++i_;
      if (i_ >= t_.size() || !std::isdigit(static_cast<unsigned char>(t_[i_])))
        return fail("expected a digit after '.'");
      while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) ++i_;
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      frac = true;
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (i_ >= t_.size() || !std::isdigit(static_cast<unsigned char>(t_[i_])))
        return fail("expected a digit in the exponent");
      while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) ++i_;
    }
    const std::string_view text = t_.substr(start, i_ - start);
    out->kind = JsonValue::kNumber;
    out->number = std::strtod(std::string(text).c_str(), nullptr);
    if (!std::isfinite(out->number)) return fail("number out of range");
    if (!frac && text[0] != '-') {
      const auto r = std::from_chars(text.data(), text.data() + text.size(), out->uint);
      out->integer = r.ec == std::errc() && out->uint < (uint64_t{1} << 63);
    }
    return {};
  }

  std::string_view t_;
  size_t i_ = 0;
};

}  // namespace

const JsonValue *JsonValue::find(std::string_view key) const {
  for (const auto &m : members)
    if (m.first == key) return &m.second;
  return nullptr;
}

const char *JsonValue::kind_name(Kind k) {
  static const char *names[] = {"null",     "a boolean", "a number",
                                "a string", "an array",  "an object"};
  return names[k];
}

Result<JsonValue> parse_json(std::string_view text) {
  Parser p(text);
  JsonValue v;
  if (Status st = p.value(&v, 0); !st) return std::move(st).error();
  if (Status st = p.end(); !st) return std::move(st).error();
  return v;
}

}  // namespace tier::workloads
