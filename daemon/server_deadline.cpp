// server_deadline.cpp - the hello deadline (DaemonOptions::hello_timeout_ms): a connection
// that has sent neither a hello nor a control request within it is closed. Without it an
// idle connection holds a descriptor for as long as its peer likes, and enough of them leave
// none for clients and tierctl. One timeout sweeps every connection, rather than a timer per
// connection: a connection is closed between hello_timeout_ms and hello_timeout_ms plus one
// sweep period after it was accepted.
#include <cstdint>
#include <string>
#include <vector>

#include "server.hpp"

namespace tier::daemon {

namespace {

// A quarter of the deadline, between 25 ms and 1 s: short deadlines stay close to exact, long
// ones cost one pass over the connections a second.
uint64_t sweep_period_ms(uint32_t timeout_ms) {
  const uint64_t quarter = timeout_ms / 4;
  return quarter < 25 ? 25 : quarter > 1000 ? 1000 : quarter;
}

}  // namespace

void Server::arm_hello_sweep() {
  const uint64_t ms = sweep_period_ms(options_.hello_timeout_ms);  // a reload may change it
  hello_sweep_ts_.tv_sec = static_cast<long long>(ms / 1000);
  hello_sweep_ts_.tv_nsec = static_cast<long long>(ms % 1000) * 1000000;
  io_uring_sqe *s = sqe();
  io_uring_prep_timeout(s, &hello_sweep_ts_, 0, 0);
  io_uring_sqe_set_data64(s, pack_op(Op::kHelloSweep));
}

void Server::close_silent() {
  const uint64_t now = monotonic_ms();
  std::vector<Conn *> silent;
  for (auto &[id, c] : conns_)
    if (!c->closing && !c->is_client && !c->is_control &&
        now - c->opened_ms >= options_.hello_timeout_ms)
      silent.push_back(c.get());
  if (silent.empty()) return;
  const std::string why =
      "sent no hello or request within " + std::to_string(options_.hello_timeout_ms) + " ms";
  for (Conn *c : silent) close_conn(c, why);
  // One line per sweep, not per connection: a peer opening idle connections cannot flood the
  // log faster than once a sweep.
  log("warn", "closed " + std::to_string(silent.size()) + " connection" +
                  (silent.size() == 1 ? "" : "s") + " that " + why);
}

}  // namespace tier::daemon
