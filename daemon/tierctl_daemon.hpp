// tierctl_daemon.hpp - tierctl's side of tierd's control protocol: one request, one reply, and
// the status views shared by `status` and `top`. Single-threaded.
#pragma once

#include <string>
#include <vector>

#include "client/daemon_protocol.hpp"
#include "common/result.hpp"
#include "tierctl.hpp"

namespace tier::cli {

// The socket tierctl talks to: --socket, else $TIER_DAEMON_SOCKET, else /run/tier/tierd.sock.
std::string daemon_socket(const GlobalOptions &options);

// Sends one control request and returns the reply's bytes. A kError reply becomes an Error
// with tierd's reason; no answer within 10 s, or no tierd, an Error saying so.
Result<std::vector<char>> daemon_request(const GlobalOptions &options, daemon_proto::MsgType type,
                                         const daemon_proto::CtlMsg &request = {});

Result<daemon_proto::StatusReply> fetch_status(const GlobalOptions &options);
Result<std::vector<daemon_proto::ClientStatus>> fetch_clients(const GlobalOptions &options,
                                                              uint32_t *total = nullptr);

// Printers (tables for people, JSON for programs).
void print_status(const daemon_proto::StatusReply &s, bool json);
void print_clients(const std::vector<daemon_proto::ClientStatus> &clients, uint32_t total,
                   bool json);
// Both in one JSON object (tierctl top --json).
std::string status_json(const daemon_proto::StatusReply &s);
std::string clients_json(const std::vector<daemon_proto::ClientStatus> &clients, uint32_t total);

}  // namespace tier::cli
