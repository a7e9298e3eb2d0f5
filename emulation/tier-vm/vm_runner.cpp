// vm_runner.cpp - QEMU child process with a streamed console and a deadline (vm_runner.hpp).
#include "vm_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <random>

namespace tier::vm {

std::string make_marker() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "TIER-VM-EXIT-%08x%08x", rd(), rd());
  return buf;
}

int parse_marker_line(const std::string &line, const std::string &marker) {
  std::string l = line;
  while (!l.empty() && (l.back() == '\r' || l.back() == '\n')) l.pop_back();
  // The console may prefix kernel messages on the same line; the marker must end the line.
  const auto at = l.rfind(marker + " ");
  if (at == std::string::npos) return -1;
  const std::string num = l.substr(at + marker.size() + 1);
  if (num.empty() || num.size() > 3 || num.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  const int v = std::stoi(num);
  return v <= 255 ? v : -1;
}

bool is_start_line(const std::string &line, const std::string &marker) {
  std::string l = line;
  while (!l.empty() && (l.back() == '\r' || l.back() == '\n')) l.pop_back();
  const std::string want = marker + " up";
  return l.size() >= want.size() && l.compare(l.size() - want.size(), want.size(), want) == 0;
}

Result<RunResult> run_vm(const RunOptions &options, std::ostream &out) {
  if (options.argv.empty()) return make_error(TIER_EINVAL, "run_vm: no QEMU command");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return os_error("pipe2 for QEMU's console");
  std::vector<char *> args;
  for (const auto &a : options.argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return os_error("fork for QEMU", err);
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);  // tier-vm died before prctl took effect
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execvp(args[0], args.data());
    std::fprintf(stderr, "tier-vm: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(125);
  }
  close(fds[1]);

  RunResult res;
  using clock = std::chrono::steady_clock;
  auto after = [&](double s) {
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
  };
  auto deadline = start + after(options.timeout_s);
  const bool bounded_start = options.start_deadline_s > 0;
  if (bounded_start) deadline = std::min(deadline, start + after(options.start_deadline_s));
  std::string pending;
  auto emit = [&](const std::string &line) {
    if (!res.started && is_start_line(line, options.marker)) {
      res.started = true;
      if (bounded_start) deadline = start + after(options.timeout_s);
      return;
    }
    const int st = parse_marker_line(line, options.marker);
    if (st >= 0 && !res.marker_seen) {
      res.marker_seen = true;
      res.command_status = st;
      deadline = std::min(
          deadline, clock::now() + std::chrono::duration_cast<clock::duration>(
                                       std::chrono::duration<double>(options.poweroff_grace_s)));
      return;
    }
    // After the marker only the kernel's shutdown messages follow.
    if (res.marker_seen) return;
    std::string l = line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out << l << '\n';
    out.flush();
  };
  bool killed = false;
  for (;;) {
    const auto now = clock::now();
    if (now >= deadline) {
      if (!res.started && bounded_start)
        res.start_timed_out = true;
      else if (!res.marker_seen)
        res.timed_out = true;
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    const int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
    pollfd p{fds[0], POLLIN, 0};
    const int pr = poll(&p, 1, wait_ms);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    char buf[4096];
    const ssize_t r = read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // QEMU closed its output: it is exiting
    pending.append(buf, static_cast<size_t>(r));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      emit(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) emit(pending);
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  res.qemu_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (killed && res.marker_seen) res.qemu_status = 0;  // status known; poweroff just hung
  res.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return res;
}

}  // namespace tier::vm
