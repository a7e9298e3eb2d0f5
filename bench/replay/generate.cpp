// generate.cpp - the synthetic workload family (see generate.hpp).
//
// Thread-safety: pure functions.
#include "generate.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "routing.hpp"

namespace tier::replay {

namespace {

// Draws from a fixed discrete distribution in O(log n) (the experts' popularity, a corpus).
class Sampler {
 public:
  explicit Sampler(const std::vector<double> &weights) : cdf_(weights.size()) {
    std::partial_sum(weights.begin(), weights.end(), cdf_.begin());
  }
  size_t draw(SplitMix64 &rng) const {
    const double x = rng.uniform() * cdf_.back();
    return std::min<size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), x) - cdf_.begin(),
                            cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

std::vector<double> zipf(size_t n, double exponent) {
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), exponent);
  return w;
}

uint64_t between(SplitMix64 &rng, uint64_t lo, uint64_t hi) {  // inclusive
  return lo + rng.next() % (hi - lo + 1);
}
double exponential(SplitMix64 &rng, double mean) {
  return -mean * std::log1p(-rng.uniform());
}

// Builds a trace from requests stamped with arrival times; block ids are fresh counters.
struct TraceBuilder {
  SplitMix64 rng;
  uint64_t next_block = 1;
  Trace trace;
  std::vector<uint64_t> fresh(uint64_t n) {
    std::vector<uint64_t> b(n);
    for (auto &x : b) x = next_block++;
    return b;
  }
  void request(double t_ms, const std::vector<std::vector<uint64_t> *> &parts) {
    Request r;
    r.timestamp_ms = t_ms;
    for (const auto *p : parts) r.hash_ids.insert(r.hash_ids.end(), p->begin(), p->end());
    r.input_length = r.hash_ids.size() * kTokensPerBlock;
    r.output_length = 128;
    trace.requests.push_back(std::move(r));
  }
  Trace done(const std::string &name) {
    std::stable_sort(
        trace.requests.begin(), trace.requests.end(),
        [](const Request &a, const Request &b) { return a.timestamp_ms < b.timestamp_ms; });
    trace.name = name;
    return std::move(trace);
  }
};

constexpr double kSpanMs = 3600e3;  // every KV shape spreads its arrivals over an hour

// Multi-turn conversations: `system` is read first by every turn.
void conversations(TraceBuilder &b, std::vector<uint64_t> *system, uint64_t count) {
  for (uint64_t c = 0; c < count; ++c) {
    double t = b.rng.uniform() * kSpanMs;
    std::vector<uint64_t> history;
    const uint64_t turns = 1 + static_cast<uint64_t>(exponential(b.rng, 3.0));
    for (uint64_t k = 0; k < turns; ++k) {
      std::vector<uint64_t> added = b.fresh(between(b.rng, 1, 3));
      b.request(t, {system, &history, &added});
      history.insert(history.end(), added.begin(), added.end());
      t += exponential(b.rng, 90e3);
    }
  }
}

// Retrieval: each request reads the prefix, one to three documents and a new question.
void retrieval(TraceBuilder &b, std::vector<uint64_t> *system, uint64_t docs, uint64_t count) {
  std::vector<std::vector<uint64_t>> corpus(docs);
  for (auto &d : corpus) d = b.fresh(between(b.rng, 2, 8));
  std::vector<size_t> order(docs);
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = docs; i > 1; --i) std::swap(order[i - 1], order[b.rng.next() % i]);
  const Sampler pick(zipf(docs, 0.9));
  for (uint64_t r = 0; r < count; ++r) {
    const uint64_t n = between(b.rng, 1, 3);
    std::vector<std::vector<uint64_t> *> parts = {system};
    for (uint64_t i = 0; i < n; ++i) parts.push_back(&corpus[order[pick.draw(b.rng)]]);
    std::vector<uint64_t> question = b.fresh(1);
    parts.push_back(&question);
    b.request(b.rng.uniform() * kSpanMs, parts);
  }
}

Trace kv_chat(TraceBuilder &b, double scale) {
  std::vector<uint64_t> system = b.fresh(between(b.rng, 1, 4));
  conversations(b, &system, static_cast<uint64_t>(900 * scale));
  return b.done("chat");
}

Trace kv_agent(TraceBuilder &b, double scale) {
  std::vector<std::vector<uint64_t>> tools(between(b.rng, 3, 6));
  for (auto &t : tools) t = b.fresh(between(b.rng, 6, 16));
  const Sampler pick(zipf(tools.size(), 1.0));
  const auto sessions = static_cast<uint64_t>(220 * scale);
  for (uint64_t s = 0; s < sessions; ++s) {
    std::vector<uint64_t> *prefix = &tools[pick.draw(b.rng)];
    double t = b.rng.uniform() * kSpanMs;
    std::vector<uint64_t> session;
    const uint64_t steps = between(b.rng, 4, 24);
    for (uint64_t k = 0; k < steps; ++k) {
      std::vector<uint64_t> added = b.fresh(between(b.rng, 1, 2));
      b.request(t, {prefix, &session, &added});
      session.insert(session.end(), added.begin(), added.end());
      t += exponential(b.rng, 8e3);
    }
  }
  return b.done("agent");
}

Trace kv_rag(TraceBuilder &b, double scale) {
  std::vector<uint64_t> system = b.fresh(between(b.rng, 1, 2));
  retrieval(b, &system, between(b.rng, 600, 1200), static_cast<uint64_t>(3000 * scale));
  return b.done("rag");
}

Trace kv_burst(TraceBuilder &b, double scale) {
  std::vector<uint64_t> system = b.fresh(between(b.rng, 1, 3));
  conversations(b, &system, static_cast<uint64_t>(600 * scale));
  const auto bursts = static_cast<uint64_t>(12 * scale) + 1;
  for (uint64_t k = 0; k < bursts; ++k) {
    std::vector<uint64_t> hot = b.fresh(between(b.rng, 3, 8));
    const double start = b.rng.uniform() * kSpanMs, length = between(b.rng, 30, 180) * 1e3;
    const uint64_t n = between(b.rng, 40, 160);
    for (uint64_t r = 0; r < n; ++r) {
      std::vector<uint64_t> own = b.fresh(between(b.rng, 1, 2));
      b.request(start + b.rng.uniform() * length, {&system, &hot, &own});
    }
  }
  return b.done("burst");
}

Trace kv_tenants(TraceBuilder &b, double scale) {
  const uint64_t tenants = between(b.rng, 3, 5);
  std::vector<std::vector<uint64_t>> systems(tenants);
  for (uint64_t t = 0; t < tenants; ++t) {
    systems[t] = b.fresh(between(b.rng, 2, 6));
    if (t % 2 == 0)
      conversations(b, &systems[t], static_cast<uint64_t>(250 * scale));
    else
      retrieval(b, &systems[t], between(b.rng, 200, 400), static_cast<uint64_t>(800 * scale));
  }
  return b.done("tenants");
}

// moe-<skewed|uniform|drift>-<experts>-top<k>
struct MoeShape {
  std::string popularity;
  uint32_t experts = 0, top_k = 0;
};

bool parse_moe(const std::string &shape, MoeShape *out) {
  if (shape.rfind("moe-", 0) != 0) return false;
  const auto a = shape.find('-', 4), b = shape.find("-top", a == std::string::npos ? 0 : a + 1);
  if (a == std::string::npos || b == std::string::npos) return false;
  out->popularity = shape.substr(4, a - 4);
  const std::string e = shape.substr(a + 1, b - a - 1), k = shape.substr(b + 4);
  if (e.empty() || k.empty() || e.find_first_not_of("0123456789") != std::string::npos ||
      k.find_first_not_of("0123456789") != std::string::npos || e.size() > 4 || k.size() > 2)
    return false;
  out->experts = static_cast<uint32_t>(std::stoul(e));
  out->top_k = static_cast<uint32_t>(std::stoul(k));
  return (out->popularity == "skewed" || out->popularity == "uniform" ||
          out->popularity == "drift") &&
         out->experts >= 8 && out->experts <= 1024 && out->top_k >= 1 && out->top_k < out->experts;
}

Workload moe(const MoeShape &m, SplitMix64 &rng, double scale, const std::string &name) {
  // Layers so the model has ~1.5k experts in all; finer-grained experts are smaller.
  const uint32_t layers = std::max<uint32_t>(2, 1536 / m.experts);
  Workload w;
  w.name = name;
  w.kind = "moe";
  w.object_bytes = std::max<uint64_t>(4, 3072 / m.experts) << 20;  // 48 MiB at 64 experts
  w.objects = layers * m.experts;
  const double exponent = m.popularity == "uniform" ? 0.2 : 1.1;
  const Sampler rank(zipf(m.experts, exponent));
  std::vector<std::vector<uint32_t>> perm(layers, std::vector<uint32_t>(m.experts));
  for (auto &p : perm) {
    std::iota(p.begin(), p.end(), 0u);
    for (size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[rng.next() % i]);
  }
  const auto steps = static_cast<uint32_t>(1500 * scale);
  const uint32_t tokens = 16;
  // drift: the ranking rotates by half the experts over the run (the hot set moves).
  const double drift = m.popularity == "drift" ? 0.5 * m.experts / steps : 0;
  std::vector<uint8_t> used(m.experts);
  for (uint32_t s = 0; s < steps; ++s) {
    const auto shift = static_cast<uint32_t>(drift * s);
    for (uint32_t l = 0; l < layers; ++l) {
      std::fill(used.begin(), used.end(), 0);
      for (uint32_t t = 0; t < tokens; ++t) {
        std::vector<uint32_t> chosen;
        while (chosen.size() < m.top_k) {
          const uint32_t e = perm[l][(rank.draw(rng) + shift) % m.experts];
          if (std::find(chosen.begin(), chosen.end(), e) == chosen.end()) chosen.push_back(e);
        }
        for (uint32_t e : chosen) used[e] = 1;
      }
      for (uint32_t e = 0; e < m.experts; ++e)
        if (used[e]) w.refs.push_back(l * m.experts + e);
    }
    w.epoch_end.push_back(w.refs.size());
  }
  return w;
}

uint64_t shape_hash(const std::string &s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, so each shape draws its own stream
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::vector<std::string> generated_shapes() {
  return {"chat",
          "agent",
          "rag",
          "burst",
          "tenants",
          "moe-skewed-64-top2",
          "moe-skewed-512-top8",
          "moe-uniform-128-top2",
          "moe-uniform-256-top8",
          "moe-drift-64-top2",
          "moe-drift-512-top8"};
}

Result<Workload> generate(const GeneratedSpec &spec) {
  if (!(spec.scale > 0) || spec.scale > 100)
    return make_error(TIER_EINVAL, "generate: scale must be in (0, 100]");
  const std::string name = spec.shape + ":" + std::to_string(spec.seed);
  SplitMix64 rng{shape_hash(spec.shape) ^ (spec.seed * 0x9e3779b97f4a7c15ull)};
  MoeShape m;
  if (parse_moe(spec.shape, &m)) return moe(m, rng, spec.scale, name);
  static const std::vector<std::pair<std::string, std::function<Trace(TraceBuilder &, double)>>>
      kv = {{"chat", kv_chat},
            {"agent", kv_agent},
            {"rag", kv_rag},
            {"burst", kv_burst},
            {"tenants", kv_tenants}};
  for (const auto &[shape, make] : kv)
    if (shape == spec.shape) {
      TraceBuilder b{rng, 1, {}};
      Trace t = make(b, spec.scale);
      t.name = name;
      return kv_workload(t);
    }
  std::string names;
  for (const auto &s : generated_shapes()) names += (names.empty() ? "" : ", ") + s;
  return make_error(TIER_EINVAL, "generate: unknown shape '" + spec.shape + "' (known: " + names +
                                     ", or moe-<skewed|uniform|drift>-<experts>-top<k>)");
}

Result<GeneratedSpec> parse_generated(const std::string &text) {
  GeneratedSpec s;
  const auto colon = text.find(':');
  s.shape = text.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string seed = text.substr(colon + 1);
    if (seed.empty() || seed.size() > 19 ||
        seed.find_first_not_of("0123456789") != std::string::npos)
      return make_error(TIER_EINVAL, "generate: bad seed in '" + text + "'");
    s.seed = std::stoull(seed);
  }
  if (s.shape.empty()) return make_error(TIER_EINVAL, "generate: no shape in '" + text + "'");
  return s;
}

}  // namespace tier::replay
