// json_writer.hpp - a minimal streaming JSON writer for tierctl's --json output.
//
// Enough for flat objects and arrays of them: keys, strings (escaped), numbers, booleans,
// null. Not thread-safe; one writer per output.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tier::cli {

class JsonWriter {
 public:
  explicit JsonWriter(std::string &out) : out_(out) {}

  JsonWriter &begin_object() { return open('{'); }
  JsonWriter &end_object() { return close('}'); }
  JsonWriter &begin_array() { return open('['); }
  JsonWriter &end_array() { return close(']'); }

  JsonWriter &key(const std::string &k) {
    separator();
    string_literal(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter &value(const std::string &s) {
    separator();
    string_literal(s);
    return *this;
  }
  JsonWriter &value(const char *s) { return value(std::string(s ? s : "")); }
  JsonWriter &value(bool b) {
    separator();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter &value(int64_t v) {
    separator();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter &value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter &value(uint64_t v) {
    separator();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter &value(double v) {
    separator();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      out_ += buf;
    }
    return *this;
  }
  JsonWriter &null() {
    separator();
    out_ += "null";
    return *this;
  }
  JsonWriter &value(const std::vector<int> &list) {
    begin_array();
    for (int v : list) value(v);
    return end_array();
  }

 private:
  JsonWriter &open(char c) {
    separator();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter &close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  // A comma before every element but the first of its container; none right after a key.
  void separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void string_literal(const std::string &s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\r':
          out_ += "\\r";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string &out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace tier::cli
