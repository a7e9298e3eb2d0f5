// file_device.hpp - the `file` pool backend: the pool's media is one file (in /dev/shm, or any
// file system that shares pages between processes) that every host process maps.
//
// This is the emulation and the CI default. Layout of the file:
//   [0, 1 MiB)      metadata copy A: header (magic "TIERPOOL", version, sizes, generation,
//                   host generations, checksum) and the extent table
//   [1 MiB, 2 MiB)  metadata copy B, the same
//   [2 MiB, end)    the media; extent offsets count from here
// Every command takes an exclusive flock on the file (the device's mailbox serialising
// commands across processes), reads both copies, uses the valid one with the higher generation,
// applies the command, validates the new table, and writes it to both copies in turn. A writer
// killed midway leaves at least one valid copy: the old state if it died in the first write
// (the command did not happen), the new one if in the second. Both copies corrupt, or a header
// that is not a pool's, is TIER_EPROTO naming the file and the field, and nothing is written.
// Thread-safety: see pool_device.hpp; one object may be shared by threads.
#pragma once

#include <mutex>
#include <string>

#include "pool/pool_device.hpp"

namespace tier::pool {

inline constexpr uint64_t kFileAlignment = uint64_t{2} << 20;  // a THP: extents map as 2 MiB
inline constexpr uint64_t kFileMediaOffset = uint64_t{2} << 20;
inline constexpr uint32_t kFileMaxHosts = 64;
inline constexpr uint32_t kFileMaxExtents = 4096;

struct FileState;  // the decoded metadata (file_device.cpp)

class FileDevice final : public PoolDevice {
 public:
  // Creates the pool file with `media_bytes` of media (a multiple of 2 MiB, > 0) and an empty
  // table. TIER_EBUSY when the file exists already (an existing pool is opened, never
  // reformatted by accident).
  static Result<std::unique_ptr<FileDevice>> create(const std::string &path, uint64_t media_bytes);
  // Opens an existing pool file, checking its header and table.
  static Result<std::unique_ptr<FileDevice>> open(const std::string &path);
  // open(), or create() when the file does not exist yet (the first host to start formats it;
  // the flock makes two first hosts agree on one format).
  static Result<std::unique_ptr<FileDevice>> open_or_create(const std::string &path,
                                                            uint64_t media_bytes);
  ~FileDevice() override;

  std::string describe() const override;
  uint64_t media_bytes() const override { return media_bytes_; }
  uint64_t alignment() const override { return kFileAlignment; }
  uint32_t max_hosts() const override { return kFileMaxHosts; }
  const std::string &path() const { return path_; }

  Result<DeviceTable> table() override;
  Result<std::vector<Extent>> add_extents(uint32_t host, std::vector<Extent> extents) override;
  Status request_release(const Tag &tag) override;
  Status withdraw(const Tag &tag) override;
  Result<std::vector<Extent>> fence_host(uint32_t host) override;
  Result<std::vector<DeviceEvent>> events(uint32_t host) override;
  Result<uint64_t> host_generation(uint32_t host) override;
  Status accept(uint32_t host, uint64_t generation, const Tag &tag) override;
  Status release(uint32_t host, uint64_t generation, const Tag &tag) override;
  Status decline_release(uint32_t host, uint64_t generation, const Tag &tag) override;
  Result<ExtentMapping> map(const Extent &extent) override;

 private:
  FileDevice(std::string path, int fd, uint64_t media_bytes)
      : path_(std::move(path)), fd_(fd), media_bytes_(media_bytes) {}

  using State = FileState;
  // Runs `change` on the current state under the device lock; writes the result back when it
  // returns true (and the new table validates). Errors from `change` leave the file untouched.
  template <class F>
  Status transact(F &&change);
  Result<State> read_state();
  Status write_state(const State &s);

  std::string path_;
  int fd_ = -1;
  uint64_t media_bytes_ = 0;
  std::mutex mu_;  // flock is per open file: threads of this object serialise here first
};

}  // namespace tier::pool
