// mover.cpp - the Mover handle: version check, ownership of the state, stats arithmetic.
#include "migrate/mover.hpp"

#include <string>

namespace tier::migrate {

const char *outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kMoved:
      return "moved";
    case Outcome::kInPlace:
      return "in-place";
    case Outcome::kPartial:
      return "partial";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kRefused:
      return "refused";
  }
  return "unknown";
}

MoveStats &MoveStats::operator+=(const MoveStats &o) {
  bytes_moved += o.bytes_moved;
  pages_moved += o.pages_moved;
  pages_skipped += o.pages_skipped;
  pages_absent += o.pages_absent;
  pages_failed += o.pages_failed;
  pages_retried += o.pages_retried;
  calls += o.calls;
  ranges_refused += o.ranges_refused;
  elapsed_ns += o.elapsed_ns;
  throttled_ns += o.throttled_ns;
  modelled_s += o.modelled_s;
  return *this;
}

Result<Mover> Mover::adopt(const MoverOps *ops, void *state) {
  if (!ops || ops->version != kMoverOpsVersion || !ops->name || !ops->move) {
    if (ops && ops->destroy) ops->destroy(state);
    return make_error(TIER_EINVAL, "mover ops: version " + std::to_string(ops ? ops->version : 0) +
                                       " (expected " + std::to_string(kMoverOpsVersion) +
                                       "), a name and move() are required");
  }
  return Mover(ops, state);
}

Mover &Mover::operator=(Mover &&other) noexcept {
  if (this != &other) {
    if (ops_ && ops_->destroy) ops_->destroy(state_);
    ops_ = other.ops_, state_ = other.state_;
    other.ops_ = nullptr, other.state_ = nullptr;
  }
  return *this;
}

Mover::~Mover() {
  if (ops_ && ops_->destroy) ops_->destroy(state_);
}

}  // namespace tier::migrate
