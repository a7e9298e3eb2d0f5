// kernel_cache.hpp - the guest kernel: Debian's linux-image-6.1.0-*-amd64, fetched once with
// apt-get download and kept in a cache directory (only its /boot/vmlinuz is extracted).
//
// Safe to call from several tier-vm processes at once: fetching holds an flock on
// <cache>/.lock, and a kernel only becomes visible by an atomic rename once complete.
#pragma once

#include <iosfwd>
#include <string>

#include "common/result.hpp"

namespace tier::vm {

// $TIER_VM_CACHE, else $XDG_CACHE_HOME/tier-vm, else $HOME/.cache/tier-vm.
std::string default_cache_dir();

// The name of the kernel package to fetch: what linux-image-amd64 depends on, else the
// highest linux-image-6.1.0-N-amd64 apt knows.
Result<std::string> resolve_kernel_package();

// A bootable kernel image: the newest one cached in `cache_dir`, or a freshly fetched one.
// Progress goes to `log`. Errors name the missing tool and the Debian package that has it.
Result<std::string> find_or_fetch_kernel(const std::string &cache_dir, std::ostream &log);

}  // namespace tier::vm
