// moe_stack.cpp - see moe_stack.hpp.
#include "moe_stack.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "memory_io.hpp"

namespace serve_demo {

bool MoeStack::init(tier_runtime *rt, std::vector<tier::workloads::Popularity> files,
                    const Options &o, Accounting *acct, std::string *error) {
  files_ = std::move(files);
  o_ = o;
  acct_ = acct;
  rng_ = tier::workloads::SplitMix64{o.seed};
  layers_ = static_cast<uint32_t>(files_[0].counts.size());
  experts_ = static_cast<uint32_t>(files_[0].counts[0].size());
  for (const auto &f : files_)
    if (f.counts.size() != layers_ || f.counts[0].size() != experts_) {
      *error = f.name + " has a different shape than " + files_[0].name;
      return false;
    }
  expert_bytes_ = uint64_t{o.expert_mib} << 20;
  tier_policy largest;
  tier_policy_init(&largest);
  if (tier_policy_parse(rt, "preferred=largest", &largest) != TIER_OK) {
    *error = std::string("tier_policy_parse: ") + tier_last_error();
    return false;
  }
  tier_experts_options eo = TIER_EXPERTS_OPTIONS_INIT;
  eo.layers = layers_;
  eo.experts_per_layer = experts_;
  eo.policy = &largest;
  eo.prefetch_weight = 1;
  eo.flags = TIER_EXPERTS_HEAT_PER_SELECTION;  // batched layers: one weight read a step
  if (tier_experts_create(rt, &eo, &set_) != TIER_OK) {
    *error = std::string("tier_experts_create: ") + tier_last_error();
    return false;
  }
  for (uint32_t l = 0; l < layers_; ++l)
    for (uint32_t e = 0; e < experts_; ++e) {
      tier_expert_desc d = TIER_EXPERT_DESC_INIT;
      d.layer = l;
      d.expert = e;
      d.bytes = expert_bytes_;
      d.flags = TIER_EXPERT_READ_MOSTLY;
      void *addr = nullptr;
      if (tier_experts_register(set_, &d, &addr) != TIER_OK) {
        *error = std::string("tier_experts_register: ") + tier_last_error();
        return false;
      }
      write_stamped(addr, expert_bytes_, stamp(l, e));  // "load the weights"
      tier_experts_touch(set_, l, e, 0, 1);
    }
  choose_subject();
  return true;
}

MoeStack::~MoeStack() {
  tier_experts_destroy(set_);
}

void MoeStack::choose_subject() {
  predicted_.assign(layers_, {});
  for (uint32_t l = 0; l < layers_; ++l) {
    const std::vector<double> &c = files_[subject_].counts[l];
    std::vector<uint32_t> order(experts_);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return c[a] > c[b]; });
    predicted_[l].assign(order.begin(), order.begin() + std::min<uint32_t>(2, experts_));
  }
}

bool MoeStack::step(uint64_t tokens, std::string *error) {
  if (tokens == 0) return true;
  const size_t want = (c_.steps / o_.subject_steps) % files_.size();
  if (want != subject_) {
    subject_ = want;
    choose_subject();
    ++c_.subject_switches;
  }
  ++c_.steps;
  std::vector<uint32_t> drawn(experts_), sel, tok;
  const double scale = double(tokens) / double(o_.route_tokens);
  for (uint32_t l = 0; l < layers_; ++l) {
    if (o_.prefetch && l + 1 < layers_) {
      if (tier_experts_prefetch(set_, l + 1, predicted_[l + 1].data(), predicted_[l + 1].size()) !=
          TIER_OK) {
        *error = std::string("tier_experts_prefetch: ") + tier_last_error();
        return false;
      }
      c_.prefetches += predicted_[l + 1].size();
    }
    std::fill(drawn.begin(), drawn.end(), 0);
    for (uint32_t t = 0; t < o_.route_tokens; ++t) {
      const tier::workloads::Top2 pick =
          tier::workloads::draw_top2(files_[subject_].counts[l], rng_);
      ++drawn[pick.first];
      ++drawn[pick.second];
    }
    sel.clear();
    tok.clear();
    for (uint32_t e = 0; e < experts_; ++e) {
      if (!drawn[e]) continue;
      sel.push_back(e);
      tok.push_back(static_cast<uint32_t>(std::max(1.0, std::round(drawn[e] * scale))));
      // The expert's weights are read where they are now.
      tier_expert_info info{};
      info.size = sizeof info;
      if (tier_experts_info_get(set_, l, e, &info) != TIER_OK) {
        *error = std::string("tier_experts_info_get: ") + tier_last_error();
        return false;
      }
      acct_->expert_read(info.node, info.tier, expert_bytes_);
      c_.bad_pages += check_stamped(info.addr, expert_bytes_, stamp(l, e));
      c_.tokens_routed += tok.back();
    }
    if (tier_experts_route(set_, l, sel.data(), tok.data(), sel.size()) != TIER_OK) {
      *error = std::string("tier_experts_route: ") + tier_last_error();
      return false;
    }
    c_.routings += sel.size();
  }
  return true;
}

}  // namespace serve_demo
