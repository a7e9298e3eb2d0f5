// metrics.cpp - MetricsRegistry and the Prometheus text format 0.0.4 (metrics.hpp).
// Format reference: prometheus.io/docs/instrumenting/exposition_formats (text 0.0.4):
//   # HELP name text      (text escapes backslash and newline)
//   # TYPE name gauge|counter
//   name{label="value",...} number   (values escape backslash, double quote and newline)
#include "metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tier::daemon {

namespace {

bool name_char(char c, bool first, bool colon_ok) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (alpha || (colon_ok && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

void escape_into(std::string &out, std::string_view text, bool quote_too) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote_too && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

// Go's ParseFloat must read it back: integers without exponent where exact, the shortest
// round-trip form otherwise, and the spellings Prometheus uses for the specials.
void value_into(std::string &out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    out += std::to_string(static_cast<int64_t>(v));
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

}  // namespace

bool MetricsRegistry::valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool MetricsRegistry::valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

void MetricsRegistry::reject(std::string why) {
  ++rejected_;
  last_error_ = std::move(why);
}

double *MetricsRegistry::slot(std::string &name, std::string &help, Labels &labels, Type type) {
  if (!valid_metric_name(name)) {
    reject("invalid metric name \"" + name + "\"");
    return nullptr;
  }
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i].first)) {
      reject(name + ": invalid label name \"" + labels[i].first + "\"");
      return nullptr;
    }
    if (i > 0 && labels[i].first == labels[i - 1].first) {
      reject(name + ": label \"" + labels[i].first + "\" given twice");
      return nullptr;
    }
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(name, Family{type, std::move(help), {}}).first;
  } else if (it->second.type != type) {
    reject(name + ": already registered as a " +
           (it->second.type == Type::kGauge ? "gauge" : "counter"));
    return nullptr;
  }
  return &it->second.series.try_emplace(std::move(labels), 0.0).first->second;
}

void MetricsRegistry::set_gauge(std::string name, std::string help, Labels labels, double value) {
  std::lock_guard lock(mutex_);
  if (double *v = slot(name, help, labels, Type::kGauge)) *v = value;
}

void MetricsRegistry::add_counter(std::string name, std::string help, Labels labels, double delta) {
  std::lock_guard lock(mutex_);
  // A counter only goes up; checked before slot() so a bad delta creates no series.
  if (!(delta >= 0)) {
    reject(name + ": a counter delta must be >= 0");
    return;
  }
  if (double *v = slot(name, help, labels, Type::kCounter)) *v += delta;
}

void MetricsRegistry::remove(const std::string &name, const Labels &labels) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  it->second.series.erase(sorted);
  if (it->second.series.empty()) families_.erase(it);
}

size_t MetricsRegistry::rejected() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

std::string MetricsRegistry::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto &[name, family] : families_) {
    out += "# HELP " + name + " ";
    escape_into(out, family.help, false);
    out += "\n# TYPE " + name + (family.type == Type::kGauge ? " gauge\n" : " counter\n");
    for (const auto &[labels, value] : family.series) {
      out += name;
      if (!labels.empty()) {
        out += '{';
        for (size_t i = 0; i < labels.size(); ++i) {
          if (i) out += ',';
          out += labels[i].first + "=\"";
          escape_into(out, labels[i].second, true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      value_into(out, value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace tier::daemon
