// daemon_protocol.cpp - message checks and socket helpers of the tierd protocol (see
// daemon_protocol.hpp). Pure functions and thin syscall wrappers; thread-safe.
#include "client/daemon_protocol.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tier::daemon_proto {

const char *type_name(MsgType type) {
  switch (type) {
    case MsgType::kHello:
      return "hello";
    case MsgType::kHelloOk:
      return "hello-ok";
    case MsgType::kRegionAdd:
      return "region-add";
    case MsgType::kRegionDel:
      return "region-del";
    case MsgType::kError:
      return "error";
    case MsgType::kCtlStatus:
      return "status";
    case MsgType::kCtlClients:
      return "clients";
    case MsgType::kCtlPolicyGet:
      return "policy-get";
    case MsgType::kCtlPolicySet:
      return "policy-set";
    case MsgType::kCtlMigrate:
      return "migrate";
    case MsgType::kCtlPool:
      return "pool";
    case MsgType::kPoolReply:
      return "pool-reply";
    case MsgType::kCtlOk:
      return "ok";
    case MsgType::kStatusReply:
      return "status-reply";
    case MsgType::kClientsReply:
      return "clients-reply";
  }
  return "unknown";
}

size_t message_size(MsgType type) {
  switch (type) {
    case MsgType::kHello:
      return sizeof(HelloMsg);
    case MsgType::kHelloOk:
      return sizeof(HelloOkMsg);
    case MsgType::kRegionAdd:
    case MsgType::kRegionDel:
      return sizeof(RegionMsg);
    case MsgType::kError:
    case MsgType::kCtlOk:
      return sizeof(TextMsg);
    case MsgType::kCtlStatus:
    case MsgType::kCtlClients:
    case MsgType::kCtlPolicyGet:
    case MsgType::kCtlPolicySet:
    case MsgType::kCtlMigrate:
    case MsgType::kCtlPool:
      return sizeof(CtlMsg);
    case MsgType::kStatusReply:
      return sizeof(StatusReply);
    case MsgType::kClientsReply:
    case MsgType::kPoolReply:
      return 0;
  }
  return 0;
}

Result<MsgType> check_message(const void *buf, size_t len) {
  if (len < sizeof(MsgHeader))
    return make_error(TIER_EPROTO, "message of " + std::to_string(len) +
                                       " bytes is shorter than a header (" +
                                       std::to_string(sizeof(MsgHeader)) + ")");
  MsgHeader h;
  std::memcpy(&h, buf, sizeof h);
  if (h.magic != kMagic) return make_error(TIER_EPROTO, "bad magic " + std::to_string(h.magic));
  if (h.version != kVersion)
    return make_error(TIER_EPROTO, "protocol version " + std::to_string(h.version) +
                                       " is not supported (tierd speaks " +
                                       std::to_string(kVersion) + ")");
  if (h.length != len)
    return make_error(TIER_EPROTO, "length field " + std::to_string(h.length) +
                                       " differs from the datagram's " + std::to_string(len));
  const auto type = static_cast<MsgType>(h.type);
  if (type == MsgType::kClientsReply) {
    if (len < offsetof(ClientsReply, clients))
      return make_error(TIER_EPROTO, "clients reply shorter than its header");
    uint32_t count = 0;
    std::memcpy(&count, static_cast<const char *>(buf) + offsetof(ClientsReply, count),
                sizeof count);
    if (count > kMaxClientsListed || clients_reply_size(count) != len)
      return make_error(TIER_EPROTO, "clients reply: count " + std::to_string(count) +
                                         " does not match its length " + std::to_string(len));
    return type;
  }
  if (type == MsgType::kPoolReply) {
    if (len < offsetof(PoolReply, json))
      return make_error(TIER_EPROTO, "pool reply shorter than its header");
    uint32_t n = 0;
    std::memcpy(&n, static_cast<const char *>(buf) + offsetof(PoolReply, length), sizeof n);
    if (n > kMaxPoolJson || pool_reply_size(n) != len)
      return make_error(TIER_EPROTO, "pool reply: length " + std::to_string(n) +
                                         " does not match the datagram's " + std::to_string(len));
    return type;
  }
  const size_t want = message_size(type);
  if (want == 0) return make_error(TIER_EPROTO, "unknown message type " + std::to_string(h.type));
  if (len != want)
    return make_error(TIER_EPROTO, std::string(type_name(type)) + " message of " +
                                       std::to_string(len) + " bytes (expected " +
                                       std::to_string(want) + ")");
  return type;
}

Status check_hello(const HelloMsg &m, int32_t peer_pid) {
  if (m.pid != peer_pid)
    return make_error(TIER_EPROTO, "hello claims pid " + std::to_string(m.pid) +
                                       " but the socket's peer is pid " + std::to_string(peer_pid));
  if (m.chunk_shift < 12 || m.chunk_shift > 30)
    return make_error(TIER_EPROTO,
                      "hello: chunk_shift " + std::to_string(m.chunk_shift) + " outside 12..30");
  if (m.capacity == 0 || m.capacity > kMaxCapacity)
    return make_error(TIER_EPROTO, "hello: capacity " + std::to_string(m.capacity) +
                                       " outside 1.." + std::to_string(kMaxCapacity));
  if (m.max_requests == 0 || m.max_requests > kMaxRequests)
    return make_error(TIER_EPROTO, "hello: max_requests " + std::to_string(m.max_requests) +
                                       " outside 1.." + std::to_string(kMaxRequests));
  if (m.emulated > 1) return make_error(TIER_EPROTO, "hello: emulated must be 0 or 1");
  if (m.nnodes == 0 || m.nnodes > static_cast<uint32_t>(kMaxNodes))
    return make_error(TIER_EPROTO, "hello: nnodes " + std::to_string(m.nnodes) + " outside 1.." +
                                       std::to_string(kMaxNodes));
  return {};
}

Status check_region(uint64_t base, uint64_t length) {
  constexpr uint64_t kUserTop = uint64_t{1} << 47;
  if (length == 0) return make_error(TIER_EPROTO, "region of 0 bytes");
  if (base >= kUserTop || length > kUserTop - base)
    return make_error(TIER_EPROTO, "region [" + std::to_string(base) + ", +" +
                                       std::to_string(length) + ") leaves the user address space");
  return {};
}

void copy_text(char *dst, size_t cap, const std::string &src) {
  if (cap == 0) return;
  const size_t n = src.size() < cap - 1 ? src.size() : cap - 1;
  std::memcpy(dst, src.data(), n);
  std::memset(dst + n, 0, cap - n);
}

std::string socket_path_from_env() {
  const char *env = std::getenv("TIER_DAEMON_SOCKET");
  return env && *env ? env : kDefaultSocket;
}

Result<int> connect_socket(const std::string &path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return make_error(TIER_EINVAL, "socket path \"" + path + "\" is empty or too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return os_error("socket(AF_UNIX, SOCK_SEQPACKET)");
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return os_error("connect " + path, e);
  }
  return fd;
}

Status send_message(int sock, const void *msg, size_t len, int fd, bool dontwait) {
  iovec iov{const_cast<void *>(msg), len};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  const int flags = MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0);
  ssize_t n;
  do n = ::sendmsg(sock, &mh, flags);
  while (n < 0 && errno == EINTR);
  if (n < 0) return os_error("sendmsg");
  if (static_cast<size_t>(n) != len) return make_error(TIER_EPROTO, "short sendmsg");
  return {};
}

Result<size_t> recv_message(int sock, void *buf, size_t cap) {
  iovec iov{buf, cap};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return os_error("recvmsg");
  // Descriptors are only ever sent to tierd; one arriving here is closed so it cannot leak.
  for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < nfds; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        ::close(fd);
      }
    }
  if (n == 0) return Error{TIER_EOS, ECONNRESET, "tierd closed the connection"};
  if (mh.msg_flags & MSG_TRUNC)
    return make_error(TIER_EPROTO, "message longer than " + std::to_string(cap) + " bytes");
  return static_cast<size_t>(n);
}

}  // namespace tier::daemon_proto
