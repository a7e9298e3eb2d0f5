// cpio.hpp - a writer for the "newc" cpio format the kernel unpacks as its initramfs.
//
// Written by hand rather than by running cpio(1) over a staging tree: the archive is built in
// memory from (path, content) pairs, needs no root for the /dev/console device node, and the
// result does not depend on the host's file ownership. Not thread-safe (one writer, one thread).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/result.hpp"

namespace tier::vm {

class CpioWriter {
 public:
  // Paths are absolute inside the archive ("/bin/busybox"); parent directories are added on
  // first use. Adding a path twice keeps the first entry (the kernel would take the last).
  void add_dir(const std::string &path, uint32_t mode = 0755);
  void add_file(const std::string &path, const std::string &data, uint32_t mode = 0644);
  void add_symlink(const std::string &path, const std::string &target);
  void add_char_device(const std::string &path, uint32_t major, uint32_t minor,
                       uint32_t mode = 0600);
  bool contains(const std::string &path) const { return paths_.count(normal(path)) > 0; }

  // The archive, with its TRAILER!!! entry.
  std::string finish();
  size_t size() const { return out_.size(); }

 private:
  static std::string normal(const std::string &path);
  void parents(const std::string &path);
  void entry(const std::string &path, uint32_t mode, const std::string &data, uint32_t rmajor = 0,
             uint32_t rminor = 0);

  std::string out_;
  std::set<std::string> paths_;
  uint32_t ino_ = 1;
};

}  // namespace tier::vm
