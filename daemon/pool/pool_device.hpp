// pool_device.hpp - a CXL 3.1 dynamic-capacity pool device, shaped like the proposed Linux DCD
// ABI, with the fabric manager's commands and the host's beside each other.
//
// The device holds one extent table (extent.hpp): the capacity it has offered to, or that is
// held by, each host. The fabric manager (daemon/pool/ manager) adds extents for a host, asks
// for them back and, after a host is fenced, takes back what the host held. A host sees add and
// release events, accepts offered extents (they become its capacity), maps them, and releases
// them when it has moved its data off. Events are level-triggered: an extent waiting for the
// host's answer is reported by every events() call until it is answered, so a host that
// restarts sees what is pending (the DCD event log is drained the same way).
//
// Fencing: every host has a generation on the device. fence_host() bumps it and takes every
// extent of the host back; commands carrying an older generation (accept, release) are refused
// with TIER_EPERM naming both generations. That fences the host's commands, not its stores to
// memory it already mapped: see docs/pool.md "Failure model" for what each backend can fence.
//
// Errors: TIER_EINVAL for a request the table cannot take (overlap, out of range, a tag already
// granted, an unknown tag) naming the extent; TIER_EPROTO for a device whose header or table is
// corrupt (nothing is written to it then); TIER_EPERM for a fenced generation; TIER_EOS for a
// failed system call. Every command either applies entirely or not at all.
// Thread-safety: every call may be made from any thread and from several processes sharing the
// device; the backend serialises commands (as the device's mailbox does).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "pool/extent.hpp"

namespace tier::pool {

struct DeviceEvent {
  enum class Type { kAdd, kRelease };
  Type type = Type::kAdd;
  Extent extent;
  bool more = false;  // more extents of the same grant follow (DCD's "more" flag)
};

// The device's whole state, read in one command.
struct DeviceTable {
  uint64_t generation = 0;                 // +1 per successful command that changed the table
  std::vector<uint64_t> host_generations;  // one per host id, 0..max_hosts-1
  std::vector<Extent> extents;             // in grant order
};

// A mapping of one extent into this process; unmapped when destroyed.
class ExtentMapping {
 public:
  ExtentMapping() = default;
  ExtentMapping(void *addr, size_t len) : addr_(addr), len_(len) {}
  ~ExtentMapping();
  ExtentMapping(ExtentMapping &&o) noexcept;
  ExtentMapping &operator=(ExtentMapping &&o) noexcept;
  ExtentMapping(const ExtentMapping &) = delete;
  ExtentMapping &operator=(const ExtentMapping &) = delete;

  char *data() const { return static_cast<char *>(addr_); }
  size_t size() const { return len_; }

 private:
  void *addr_ = nullptr;
  size_t len_ = 0;
};

class PoolDevice {
 public:
  virtual ~PoolDevice() = default;

  // "file /dev/shm/tier-pool (1 GiB media)", "devdax /dev/dax0.0 (...)".
  virtual std::string describe() const = 0;
  virtual uint64_t media_bytes() const = 0;
  virtual uint64_t alignment() const = 0;
  virtual uint32_t max_hosts() const = 0;

  virtual Result<DeviceTable> table() = 0;

  // ---- fabric manager ----
  // Offers `extents` to `host` as one grant (a more chain): the device numbers the grant, sets
  // each extent's chain position, state kOffered and the host's current generation. The
  // offsets, lengths and tags are the caller's; the table with them added must validate.
  // Returns the extents as recorded.
  virtual Result<std::vector<Extent>> add_extents(uint32_t host, std::vector<Extent> extents) = 0;
  // Asks the holder of `tag` to give it back (state kReleasing). TIER_EINVAL for an unknown tag
  // or one not accepted yet (withdraw() takes back an offer).
  virtual Status request_release(const Tag &tag) = 0;
  // Takes back an offer the host has not accepted. TIER_EBUSY when it was accepted meanwhile.
  virtual Status withdraw(const Tag &tag) = 0;
  // Bumps the host's generation and removes every extent the host held or was offered; returns
  // them. After this the host's older-generation commands are refused.
  virtual Result<std::vector<Extent>> fence_host(uint32_t host) = 0;

  // ---- host ----
  virtual Result<std::vector<DeviceEvent>> events(uint32_t host) = 0;
  // The host's generation on the device (a host learns it when it starts, and keeps it).
  virtual Result<uint64_t> host_generation(uint32_t host) = 0;
  virtual Status accept(uint32_t host, uint64_t generation, const Tag &tag) = 0;
  // Releases an accepted or releasing extent: the host has moved its data off.
  virtual Status release(uint32_t host, uint64_t generation, const Tag &tag) = 0;
  // Declines a release request (state back to kAccepted): the host could not move its data
  // off in time. The reason travels through the coordination store, not the device.
  virtual Status decline_release(uint32_t host, uint64_t generation, const Tag &tag) = 0;
  // Maps an extent's media (read-write, shared with every host mapping it).
  virtual Result<ExtentMapping> map(const Extent &extent) = 0;
};

// First-fit choice of up to `max_extents` free ranges totalling `bytes` (rounded up to the
// device's alignment) with fresh random tags, for add_extents(). TIER_ENOMEM naming the free
// bytes when the media has not enough room in that many pieces.
// `max_extent_bytes` (a multiple of the alignment, or 0 for no limit) caps each extent, so that
// capacity can later be asked back in pieces of that size.
Result<std::vector<Extent>> choose_free(const DeviceTable &table, uint64_t media_bytes,
                                        uint64_t alignment, uint64_t bytes, uint32_t max_extents,
                                        uint64_t max_extent_bytes = 0);

}  // namespace tier::pool
