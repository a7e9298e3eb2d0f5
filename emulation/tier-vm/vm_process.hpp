// vm_process.hpp - the few process helpers tier-vm needs: PATH lookup, and running a helper
// program (apt-get, dpkg-deb, ldd, objcopy) to completion with its output captured.
// Thread-safe as long as callers do not change the working directory concurrently.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace tier::vm {

// Absolute path of `program` found on $PATH (or `program` itself when it contains a '/' and
// is executable); empty when not found.
std::string find_in_path(const std::string &program);

struct Captured {
  int status = -1;     // exit status, or 128 + signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up on PATH) in `cwd` (empty = current directory), stdin from
// /dev/null. An Error only when it could not be started; a non-zero exit is a Captured.
Result<Captured> run_capture(const std::vector<std::string> &argv, const std::string &cwd = "");

// Shell-quotes one word with single quotes ('it'\''s').
std::string shell_quote(const std::string &word);

}  // namespace tier::vm
