// pool_host.cpp - the host side of the pool (see pool_host.hpp).
#include "pool/pool_host.hpp"

namespace tier::pool {

PoolHost::PoolHost(PoolDevice *device, uint32_t host, std::chrono::milliseconds giveback_timeout,
                   HostTier tier)
    : dev_(device), host_(host), timeout_(giveback_timeout), tier_(std::move(tier)) {}

uint64_t PoolHost::held_bytes() const {
  uint64_t n = 0;
  for (const auto &[tag, e] : held_) n += e.length;
  return n;
}

uint64_t PoolHost::plan_capacity() const {
  uint64_t n = held_bytes();
  for (const auto &[tag, g] : pending_) n -= g.extent.length;
  return n;
}

Status PoolHost::start() {
  Result<uint64_t> gen = dev_->host_generation(host_);
  if (!gen) return std::move(gen).error();
  generation_ = *gen;
  Result<DeviceTable> t = dev_->table();
  if (!t) return std::move(t).error();
  held_.clear();
  pending_.clear();
  for (const Extent &e : t->extents)
    if (e.host == host_ && e.state != ExtentState::kOffered) held_[e.tag] = e;
  fenced_ = false;
  tier_.set_capacity(plan_capacity());
  return {};
}

Status PoolHost::rejoin() {
  return start();
}

Error PoolHost::on_device_error(Error e) {
  if (e.status == TIER_EPERM && e.message.find("is fenced") != std::string::npos) {
    // The manager took this host's extents back: whatever the plans still put on the pool node
    // is over capacity now, and the policy moves it off as it would from any full node.
    fenced_ = true;
    held_.clear();
    pending_.clear();
    tier_.set_capacity(0);
  }
  return e;
}

Result<HostStep> PoolHost::step(std::chrono::steady_clock::time_point now) {
  HostStep out;
  if (fenced_) return out;
  // A host that was fenced while it issued no command learns it here, not at its next one.
  Result<uint64_t> gen = dev_->host_generation(host_);
  if (!gen) return std::move(gen).error();
  if (*gen != generation_)
    return on_device_error(make_error(
        TIER_EPERM, dev_->describe() + ": host " + std::to_string(host_) +
                        " is fenced: it speaks for generation " + std::to_string(generation_) +
                        ", the device is at " + std::to_string(*gen)));
  Result<std::vector<DeviceEvent>> events = dev_->events(host_);
  if (!events) return std::move(events).error();
  for (const DeviceEvent &ev : *events) {
    if (ev.type == DeviceEvent::Type::kAdd) {
      if (Status st = dev_->accept(host_, generation_, ev.extent.tag); !st)
        return on_device_error(std::move(st).error());
      Extent e = ev.extent;
      e.state = ExtentState::kAccepted;
      held_[e.tag] = e;
      out.accepted.push_back(e);
    } else if (!pending_.count(ev.extent.tag)) {
      if (!held_.count(ev.extent.tag)) held_[ev.extent.tag] = ev.extent;  // asked before adopted
      pending_[ev.extent.tag] = GiveBack{ev.extent, now, now + timeout_, 0};
    }
  }
  // The plans stop filling what is being given back before anything moves.
  tier_.set_capacity(plan_capacity());

  // One evacuation for all pending give-backs: down to what the plans may still fill.
  const uint64_t used = tier_.used();
  if (!pending_.empty() && used > plan_capacity()) {
    const uint64_t moved = tier_.evacuate(used - plan_capacity());
    out.bytes_evacuating = moved;
    for (auto &[tag, g] : pending_) g.bytes_moved += moved;
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    GiveBack &g = it->second;
    const uint64_t keep = held_bytes() - g.extent.length;
    if (used <= keep) {
      if (Status st = dev_->release(host_, generation_, g.extent.tag); !st)
        return on_device_error(std::move(st).error());
      held_.erase(g.extent.tag);
      out.released.push_back(g.extent);
      ++gave_back_;
      it = pending_.erase(it);
      continue;
    }
    if (now >= g.deadline) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - g.asked);
      last_decline_ = g.extent.describe() + ": declined after " + std::to_string(waited.count()) +
                      " ms: " + format_size(used) + " still on the pool node, " +
                      format_size(keep) + " would remain; " + format_size(g.bytes_moved) +
                      " handed to movers meanwhile (the other nodes lack room, or the clients "
                      "have not applied their moves)";
      if (Status st = dev_->decline_release(host_, generation_, g.extent.tag); !st)
        return on_device_error(std::move(st).error());
      out.declined.push_back(g.extent);
      ++declined_;
      it = pending_.erase(it);
      continue;
    }
    ++it;
  }
  tier_.set_capacity(plan_capacity());
  return out;
}

}  // namespace tier::pool
