// initramfs.hpp - the VM's root file system: busybox-static, the given binaries and files at
// their host paths, the shared libraries they need (resolved with ldd), and an /init that
// mounts proc/sys/dev, runs the command, prints its exit status after a unique marker, and
// powers the VM off.
//
// Binaries keep their absolute host paths inside the VM, so a command line that names them
// (as CTest does with $<TARGET_FILE:...>) works unchanged. Not thread-safe per spec.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace tier::vm {

struct InitramfsSpec {
  std::vector<std::string> binaries;                       // copied with their libraries
  std::vector<std::pair<std::string, std::string>> files;  // host path -> VM path
  std::vector<std::string> env;                            // "NAME=value" for the command
  std::vector<std::string> command;                        // run by /bin/sh in the VM
  std::string marker;                                      // the exit line is "<marker> <status>"
  std::string busybox = "/bin/busybox";
  bool strip_debug = true;  // objcopy --strip-debug binaries (debug info only costs boot time)
};

// The shared objects `binary` needs (ldd), including the dynamic loader; empty for static
// ones. Errors name a library ldd could not find.
Result<std::vector<std::string>> needed_libraries(const std::string &binary);

// The /init script for `spec` (exposed for the unit tests).
std::string init_script(const InitramfsSpec &spec);

// Builds the archive (newc cpio, uncompressed) in memory.
Result<std::string> build_initramfs(const InitramfsSpec &spec);

}  // namespace tier::vm
