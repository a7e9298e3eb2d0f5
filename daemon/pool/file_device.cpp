// file_device.cpp - the `file` pool backend (see file_device.hpp for the layout and the
// crash rule).
#include "pool/file_device.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace tier::pool {

namespace {

constexpr char kMagic[8] = {'T', 'I', 'E', 'R', 'P', 'O', 'O', 'L'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kCopyBytes = uint64_t{1} << 20;
constexpr uint64_t kTableOffset = 4096;  // within a copy

// On-file records: fixed-width little-endian fields (the hosts share one machine's byte order).
struct RawHeader {
  char magic[8];
  uint32_t version;
  uint32_t max_hosts;
  uint64_t file_bytes;
  uint64_t media_offset;
  uint64_t media_bytes;
  uint64_t alignment;
  uint64_t generation;
  uint64_t next_grant;
  uint32_t max_extents;
  uint32_t nextents;
  uint64_t checksum;  // FNV-1a of the header with this field 0, then the nextents records
  uint64_t host_generation[kFileMaxHosts];
};
static_assert(sizeof(RawHeader) <= kTableOffset);

struct RawExtent {
  uint64_t offset;
  uint64_t length;
  uint8_t tag[16];
  uint32_t host;
  uint32_t state;
  uint64_t grant;
  uint32_t index;
  uint32_t count;
  uint64_t host_generation;
};
static_assert(sizeof(RawExtent) == 64);
static_assert(kTableOffset + kFileMaxExtents * sizeof(RawExtent) <= kCopyBytes);

uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
  const auto *p = static_cast<const uint8_t *>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t checksum(RawHeader h, const std::vector<RawExtent> &recs) {
  h.checksum = 0;
  uint64_t c = fnv1a(0xcbf29ce484222325ULL, &h, sizeof h);
  return fnv1a(c, recs.data(), recs.size() * sizeof(RawExtent));
}

Status full_pread(int fd, void *buf, size_t n, uint64_t off, const std::string &path) {
  auto *p = static_cast<char *>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return os_error(path + ": read");
    if (r == 0) return make_error(TIER_EPROTO, path + ": ends before its metadata (truncated?)");
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return {};
}

Status full_pwrite(int fd, const void *buf, size_t n, uint64_t off, const std::string &path) {
  const auto *p = static_cast<const char *>(buf);
  while (n > 0) {
    ssize_t r = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return os_error(path + ": write");
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return {};
}

// Holds the file's flock for one command.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while ((rc_ = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() {
    if (rc_ == 0) ::flock(fd_, LOCK_UN);
  }
  bool ok() const { return rc_ == 0; }

 private:
  int fd_;
  int rc_ = -1;
};

}  // namespace

struct FileState {
  DeviceTable table;
  uint64_t next_grant = 1;
};

namespace {

// Decodes one metadata copy; the error names the copy and the field.
Result<FileState> decode_copy(const RawHeader &h, const std::vector<RawExtent> &all,
                              uint64_t file_bytes, const std::string &where) {
  auto bad = [&](const std::string &why) { return make_error(TIER_EPROTO, where + ": " + why); };
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return bad("not a Tier pool (bad magic)");
  if (h.version != kVersion)
    return bad("version " + std::to_string(h.version) + ", this build reads version " +
               std::to_string(kVersion));
  if (h.max_hosts != kFileMaxHosts || h.max_extents != kFileMaxExtents ||
      h.alignment != kFileAlignment || h.media_offset != kFileMediaOffset)
    return bad("geometry (hosts, extents, alignment, media offset) is not this version's");
  if (h.file_bytes != file_bytes || h.media_bytes != file_bytes - kFileMediaOffset)
    return bad("header says " + std::to_string(h.file_bytes) + " bytes, the file has " +
               std::to_string(file_bytes));
  if (h.nextents > kFileMaxExtents)
    return bad("extent count " + std::to_string(h.nextents) + " exceeds " +
               std::to_string(kFileMaxExtents));
  std::vector<RawExtent> recs(all.begin(), all.begin() + h.nextents);
  if (checksum(h, recs) != h.checksum) return bad("checksum mismatch (corrupt header or table)");
  FileState s;
  s.next_grant = h.next_grant;
  s.table.generation = h.generation;
  s.table.host_generations.assign(h.host_generation, h.host_generation + kFileMaxHosts);
  for (const RawExtent &r : recs) {
    Extent e;
    e.offset = r.offset;
    e.length = r.length;
    std::memcpy(e.tag.bytes.data(), r.tag, 16);
    e.host = r.host;
    e.state = static_cast<ExtentState>(r.state);
    e.grant = r.grant;
    e.index = r.index;
    e.count = r.count;
    e.host_generation = r.host_generation;
    s.table.extents.push_back(e);
  }
  if (Status st = validate_table(s.table.extents, {h.media_bytes, kFileAlignment, kFileMaxHosts},
                                 where + ": extent table");
      !st) {
    Error e = std::move(st).error();
    e.status = TIER_EPROTO;  // a stored table that breaks the rules is a corrupt device
    return e;
  }
  return s;
}

}  // namespace

FileDevice::~FileDevice() {
  if (fd_ >= 0) ::close(fd_);
}

std::string FileDevice::describe() const {
  return "file " + path_ + " (" + format_size(media_bytes_) + " media)";
}

Result<std::unique_ptr<FileDevice>> FileDevice::create(const std::string &path,
                                                       uint64_t media_bytes) {
  if (media_bytes == 0 || media_bytes % kFileAlignment != 0)
    return make_error(TIER_EINVAL, path + ": pool size " + std::to_string(media_bytes) +
                                       " must be a positive multiple of 2 MiB");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST)
    return make_error(TIER_EBUSY, path + ": exists already (open it, or remove it to format)");
  if (fd < 0) return os_error(path + ": create");
  std::unique_ptr<FileDevice> dev(new FileDevice(path, fd, media_bytes));
  // Formatting happens under the lock, so a concurrent open() waits for a whole header.
  FileLock lock(fd);
  if (!lock.ok()) return os_error(path + ": flock");
  if (::ftruncate(fd, static_cast<off_t>(kFileMediaOffset + media_bytes)) != 0)
    return os_error(path + ": size to " + format_size(kFileMediaOffset + media_bytes));
  State s;
  s.table.host_generations.assign(kFileMaxHosts, 1);
  if (Status st = dev->write_state(s); !st) return std::move(st).error();
  return dev;
}

Result<std::unique_ptr<FileDevice>> FileDevice::open(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return os_error(path + ": open");
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    Error e = os_error(path + ": stat");
    ::close(fd);
    return e;
  }
  if (static_cast<uint64_t>(sb.st_size) <= kFileMediaOffset) {
    ::close(fd);
    return make_error(TIER_EPROTO, path + ": " + std::to_string(sb.st_size) +
                                       " bytes is too small to be a Tier pool");
  }
  std::unique_ptr<FileDevice> dev(
      new FileDevice(path, fd, static_cast<uint64_t>(sb.st_size) - kFileMediaOffset));
  // A pool being formatted by another host is under its lock: wait for it, then check.
  if (Result<DeviceTable> t = dev->table(); !t) return std::move(t).error();
  return dev;
}

Result<std::unique_ptr<FileDevice>> FileDevice::open_or_create(const std::string &path,
                                                               uint64_t media_bytes) {
  Result<std::unique_ptr<FileDevice>> made = create(path, media_bytes);
  if (made || made.status() != TIER_EBUSY) return made;
  Result<std::unique_ptr<FileDevice>> opened = open(path);
  if (opened && (*opened)->media_bytes() != media_bytes)
    return make_error(TIER_ECONFIG,
                      path + ": the existing pool has " + format_size((*opened)->media_bytes()) +
                          " of media, the configuration asks for " + format_size(media_bytes));
  return opened;
}

Result<FileDevice::State> FileDevice::read_state() {
  struct stat sb {};
  if (::fstat(fd_, &sb) != 0) return os_error(path_ + ": stat");
  const uint64_t file_bytes = static_cast<uint64_t>(sb.st_size);
  Result<State> best = make_error(TIER_EPROTO, path_ + ": no metadata");
  std::string why;
  for (int copy = 0; copy < 2; ++copy) {
    const uint64_t base = copy * kCopyBytes;
    const std::string where = path_ + " (metadata copy " + (copy ? "B" : "A") + ")";
    RawHeader h{};
    std::vector<RawExtent> recs;
    Result<State> s = make_error(TIER_EPROTO, where);
    if (Status st = full_pread(fd_, &h, sizeof h, base, path_); !st) {
      s = std::move(st).error();
    } else {
      recs.resize(std::min<uint32_t>(h.nextents, kFileMaxExtents));
      if (Status rt = full_pread(fd_, recs.data(), recs.size() * sizeof(RawExtent),
                                 base + kTableOffset, path_);
          !rt) {
        s = std::move(rt).error();
      } else {
        s = decode_copy(h, recs, file_bytes, where);
      }
    }
    if (!s) {
      why += (why.empty() ? "" : "; ") + s.error().message;
      continue;
    }
    if (!best || s->table.generation > best->table.generation) best = std::move(s);
  }
  if (!best) return make_error(TIER_EPROTO, "pool metadata unreadable, nothing written: " + why);
  return best;
}

Status FileDevice::write_state(const State &s) {
  RawHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.max_hosts = kFileMaxHosts;
  h.file_bytes = kFileMediaOffset + media_bytes_;
  h.media_offset = kFileMediaOffset;
  h.media_bytes = media_bytes_;
  h.alignment = kFileAlignment;
  h.generation = s.table.generation;
  h.next_grant = s.next_grant;
  h.max_extents = kFileMaxExtents;
  h.nextents = static_cast<uint32_t>(s.table.extents.size());
  for (uint32_t i = 0; i < kFileMaxHosts && i < s.table.host_generations.size(); ++i)
    h.host_generation[i] = s.table.host_generations[i];
  std::vector<RawExtent> recs;
  for (const Extent &e : s.table.extents) {
    RawExtent r{};
    r.offset = e.offset;
    r.length = e.length;
    std::memcpy(r.tag, e.tag.bytes.data(), 16);
    r.host = e.host;
    r.state = static_cast<uint32_t>(e.state);
    r.grant = e.grant;
    r.index = e.index;
    r.count = e.count;
    r.host_generation = e.host_generation;
    recs.push_back(r);
  }
  h.checksum = checksum(h, recs);
  // Copy A, then copy B: a writer killed in the first leaves B (the old state), in the second
  // leaves A (the new one); read_state() takes the valid copy with the higher generation.
  for (uint64_t base : {uint64_t{0}, kCopyBytes}) {
    if (Status st = full_pwrite(fd_, recs.data(), recs.size() * sizeof(RawExtent),
                                base + kTableOffset, path_);
        !st)
      return st;
    if (Status st = full_pwrite(fd_, &h, sizeof h, base, path_); !st) return st;
  }
  return {};
}

template <class F>
Status FileDevice::transact(F &&change) {
  std::lock_guard<std::mutex> guard(mu_);
  FileLock lock(fd_);
  if (!lock.ok()) return os_error(path_ + ": flock");
  Result<State> s = read_state();
  if (!s) return std::move(s).error();
  Result<bool> changed = change(*s);
  if (!changed) return std::move(changed).error();
  if (!*changed) return {};
  if (Status st =
          validate_table(s->table.extents, {media_bytes_, kFileAlignment, kFileMaxHosts}, path_);
      !st)
    return st;
  if (s->table.extents.size() > kFileMaxExtents)
    return make_error(TIER_ENOMEM, path_ + ": the extent table holds at most " +
                                       std::to_string(kFileMaxExtents) + " extents");
  s->table.generation += 1;
  return write_state(*s);
}

Result<DeviceTable> FileDevice::table() {
  DeviceTable out;
  Status st = transact([&](State &s) -> Result<bool> {
    out = s.table;
    return false;
  });
  if (!st) return std::move(st).error();
  return out;
}

namespace {

Extent *find(std::vector<Extent> &extents, const Tag &tag) {
  for (Extent &e : extents)
    if (e.tag == tag) return &e;
  return nullptr;
}

Error unknown_tag(const std::string &path, const Tag &tag) {
  return make_error(TIER_EINVAL, path + ": no extent with tag " + tag.text());
}

}  // namespace

Result<std::vector<Extent>> FileDevice::add_extents(uint32_t host, std::vector<Extent> extents) {
  if (host >= kFileMaxHosts)
    return make_error(TIER_EINVAL, path_ + ": host " + std::to_string(host) +
                                       " is not below the device's " +
                                       std::to_string(kFileMaxHosts) + " hosts");
  if (extents.empty()) return make_error(TIER_EINVAL, path_ + ": a grant of no extents");
  Status st = transact([&](State &s) -> Result<bool> {
    const uint64_t grant = s.next_grant++;
    for (size_t i = 0; i < extents.size(); ++i) {
      Extent &e = extents[i];
      e.host = host;
      e.state = ExtentState::kOffered;
      e.grant = grant;
      e.index = static_cast<uint32_t>(i);
      e.count = static_cast<uint32_t>(extents.size());
      e.host_generation = s.table.host_generations[host];
      s.table.extents.push_back(e);
    }
    return true;
  });
  if (!st)
    return std::move(st).error().context("adding " + std::to_string(extents.size()) +
                                         " extent(s) for host " + std::to_string(host));
  return extents;
}

Status FileDevice::request_release(const Tag &tag) {
  return transact([&](State &s) -> Result<bool> {
    Extent *e = find(s.table.extents, tag);
    if (!e) return unknown_tag(path_, tag);
    if (e->state == ExtentState::kReleasing) return false;
    if (e->state != ExtentState::kAccepted)
      return make_error(TIER_EINVAL,
                        path_ + ": " + e->describe() + " is only offered; withdraw it instead");
    e->state = ExtentState::kReleasing;
    return true;
  });
}

Status FileDevice::withdraw(const Tag &tag) {
  return transact([&](State &s) -> Result<bool> {
    Extent *e = find(s.table.extents, tag);
    if (!e) return unknown_tag(path_, tag);
    if (e->state != ExtentState::kOffered)
      return make_error(TIER_EBUSY, path_ + ": " + e->describe() + " was accepted by host " +
                                        std::to_string(e->host) + "; ask for it back instead");
    s.table.extents.erase(s.table.extents.begin() + (e - s.table.extents.data()));
    return true;
  });
}

Result<std::vector<Extent>> FileDevice::fence_host(uint32_t host) {
  if (host >= kFileMaxHosts)
    return make_error(TIER_EINVAL, path_ + ": no host " + std::to_string(host));
  std::vector<Extent> taken;
  Status st = transact([&](State &s) -> Result<bool> {
    s.table.host_generations[host] += 1;
    auto &ex = s.table.extents;
    for (const Extent &e : ex)
      if (e.host == host) taken.push_back(e);
    ex.erase(std::remove_if(ex.begin(), ex.end(), [&](const Extent &e) { return e.host == host; }),
             ex.end());
    return true;
  });
  if (!st) return std::move(st).error();
  return taken;
}

Result<std::vector<DeviceEvent>> FileDevice::events(uint32_t host) {
  Result<DeviceTable> t = table();
  if (!t) return std::move(t).error();
  std::vector<DeviceEvent> out;
  for (const Extent &e : t->extents) {
    if (e.host != host) continue;
    if (e.state == ExtentState::kOffered) out.push_back({DeviceEvent::Type::kAdd, e, e.more()});
    if (e.state == ExtentState::kReleasing) out.push_back({DeviceEvent::Type::kRelease, e, false});
  }
  return out;
}

Result<uint64_t> FileDevice::host_generation(uint32_t host) {
  if (host >= kFileMaxHosts)
    return make_error(TIER_EINVAL, path_ + ": no host " + std::to_string(host));
  Result<DeviceTable> t = table();
  if (!t) return std::move(t).error();
  return t->host_generations[host];
}

namespace {

Status check_host(const std::string &path, const DeviceTable &t, uint32_t host,
                  uint64_t generation) {
  if (host >= kFileMaxHosts)
    return make_error(TIER_EINVAL, path + ": no host " + std::to_string(host));
  if (t.host_generations[host] != generation)
    return make_error(TIER_EPERM, path + ": host " + std::to_string(host) +
                                      " is fenced: it speaks for generation " +
                                      std::to_string(generation) + ", the device is at " +
                                      std::to_string(t.host_generations[host]));
  return {};
}

}  // namespace

Status FileDevice::accept(uint32_t host, uint64_t generation, const Tag &tag) {
  return transact([&](State &s) -> Result<bool> {
    if (Status st = check_host(path_, s.table, host, generation); !st) return std::move(st).error();
    Extent *e = find(s.table.extents, tag);
    if (!e) return unknown_tag(path_, tag);
    if (e->host != host)
      return make_error(TIER_EPERM, path_ + ": " + e->describe() + " is host " +
                                        std::to_string(e->host) + "'s, not host " +
                                        std::to_string(host) + "'s");
    if (e->state != ExtentState::kOffered) return false;  // accepted already: idempotent
    e->state = ExtentState::kAccepted;
    return true;
  });
}

Status FileDevice::release(uint32_t host, uint64_t generation, const Tag &tag) {
  return transact([&](State &s) -> Result<bool> {
    if (Status st = check_host(path_, s.table, host, generation); !st) return std::move(st).error();
    Extent *e = find(s.table.extents, tag);
    if (!e) return unknown_tag(path_, tag);
    if (e->host != host)
      return make_error(TIER_EPERM, path_ + ": " + e->describe() + " is host " +
                                        std::to_string(e->host) + "'s, not host " +
                                        std::to_string(host) + "'s");
    s.table.extents.erase(s.table.extents.begin() + (e - s.table.extents.data()));
    return true;
  });
}

Status FileDevice::decline_release(uint32_t host, uint64_t generation, const Tag &tag) {
  return transact([&](State &s) -> Result<bool> {
    if (Status st = check_host(path_, s.table, host, generation); !st) return std::move(st).error();
    Extent *e = find(s.table.extents, tag);
    if (!e) return unknown_tag(path_, tag);
    if (e->host != host)
      return make_error(TIER_EPERM, path_ + ": " + e->describe() + " is host " +
                                        std::to_string(e->host) + "'s, not host " +
                                        std::to_string(host) + "'s");
    if (e->state != ExtentState::kReleasing)
      return make_error(TIER_EINVAL, path_ + ": " + e->describe() + " is " + state_name(e->state) +
                                         ", not asked back");
    e->state = ExtentState::kAccepted;
    return true;
  });
}

Result<ExtentMapping> FileDevice::map(const Extent &extent) {
  if (extent.length == 0 || extent.offset % kFileAlignment || extent.length % kFileAlignment ||
      extent.offset >= media_bytes_ || extent.length > media_bytes_ - extent.offset)
    return make_error(TIER_EINVAL, path_ + ": cannot map " + extent.describe() +
                                       ": not an aligned range of the media");
  void *p = ::mmap(nullptr, extent.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
                   static_cast<off_t>(kFileMediaOffset + extent.offset));
  if (p == MAP_FAILED) return os_error(path_ + ": mmap of " + extent.describe());
  return ExtentMapping(p, extent.length);
}

}  // namespace tier::pool
