// vm_runner.hpp - run QEMU, stream the guest's console, find the command's exit status, and
// enforce the time limit.
//
// The guest's /init prints "<marker> up" once it runs, and "<marker> <status>" after the
// command; the marker holds a random nonce so the command's own output cannot forge it. Neither
// line is echoed. A start deadline bounds the wait for the first line: an accelerator that
// opens but cannot run a guest (KVM under nested virtualisation hangs or aborts) is found in
// seconds, not at the time limit. QEMU is killed
// (SIGKILL) at the time limit, and dies with tier-vm (PR_SET_PDEATHSIG), so a test runner that
// kills tier-vm never leaves a TCG process eating a core. Not thread-safe (one VM per call).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace tier::vm {

struct RunOptions {
  std::vector<std::string> argv;  // QEMU and all its arguments
  double timeout_s = 300;
  std::string marker;
  double poweroff_grace_s = 15;  // after the marker, how long QEMU may take to exit
  double start_deadline_s = 0;   // > 0: kill QEMU when /init has not started by then
};

struct RunResult {
  bool timed_out = false;
  bool started = false;          // "<marker> up" seen: the guest's /init ran
  bool start_timed_out = false;  // killed at the start deadline
  bool marker_seen = false;
  int command_status = -1;  // the command's exit status inside the VM, when marker_seen
  int qemu_status = -1;     // QEMU's own exit status (or 128 + signal)
  double seconds = 0;       // wall time from start to QEMU's exit
};

// Runs the VM; console lines (CR LF -> LF) go to `out` as they arrive.
Result<RunResult> run_vm(const RunOptions &options, std::ostream &out);

// The unique marker for one run ("TIER-VM-EXIT-<16 hex digits>").
std::string make_marker();

// True when `line` is the start line "<marker> up" (ignoring a trailing CR).
bool is_start_line(const std::string &line, const std::string &marker);

// Parses "<marker> <status>" (ignoring a trailing CR); -1 when `line` is not that line.
int parse_marker_line(const std::string &line, const std::string &marker);

}  // namespace tier::vm
