// cpio.cpp - newc cpio writer (format: the kernel's Documentation/driver-api/early-userspace/
// buffer-format.rst: "070701", 13 eight-digit hex fields, name, NUL, 4-byte padding, data,
// 4-byte padding).
#include "cpio.hpp"

#include <sys/stat.h>

#include <cstdio>

namespace tier::vm {

std::string CpioWriter::normal(const std::string &path) {
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

void CpioWriter::parents(const std::string &rel) {
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    const std::string dir = rel.substr(0, slash);
    if (!paths_.count(dir)) entry(dir, S_IFDIR | 0755, "");
  }
}

void CpioWriter::entry(const std::string &rel, uint32_t mode, const std::string &data,
                       uint32_t rmajor, uint32_t rminor) {
  if (rel.empty() || !paths_.insert(rel).second) return;
  char hdr[111];
  const uint32_t nlink = S_ISDIR(mode) ? 2 : 1;
  std::snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                ino_++, mode, 0u, 0u, nlink, 0u, static_cast<uint32_t>(data.size()), 0u, 0u, rmajor,
                rminor, static_cast<uint32_t>(rel.size() + 1), 0u);
  out_.append(hdr, 110);
  out_ += rel;
  out_.push_back('\0');
  out_.append((4 - out_.size() % 4) % 4, '\0');
  out_ += data;
  out_.append((4 - out_.size() % 4) % 4, '\0');
}

void CpioWriter::add_dir(const std::string &path, uint32_t mode) {
  const std::string rel = normal(path);
  parents(rel);
  entry(rel, S_IFDIR | (mode & 07777), "");
}

void CpioWriter::add_file(const std::string &path, const std::string &data, uint32_t mode) {
  const std::string rel = normal(path);
  parents(rel);
  entry(rel, S_IFREG | (mode & 07777), data);
}

void CpioWriter::add_symlink(const std::string &path, const std::string &target) {
  const std::string rel = normal(path);
  parents(rel);
  entry(rel, S_IFLNK | 0777, target);
}

void CpioWriter::add_char_device(const std::string &path, uint32_t major, uint32_t minor,
                                 uint32_t mode) {
  const std::string rel = normal(path);
  parents(rel);
  entry(rel, S_IFCHR | (mode & 07777), "", major, minor);
}

std::string CpioWriter::finish() {
  paths_.erase("TRAILER!!!");
  entry("TRAILER!!!", 0, "");
  return std::move(out_);
}

}  // namespace tier::vm
