#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR - installs the build into a temporary prefix (as a
# packager would, with DESTDIR-free --prefix) and builds and runs programs that use it the two
# documented ways: find_package(Tier) (Tier::tier and Tier::tier_static) and pkg-config; when the
# build has the Python package, imports the installed one too.
set -euo pipefail
trap 'echo "install_test: failed at line $LINENO" >&2' ERR
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"

# The installed tree holds what the docs promise.
for f in include/tier/tier.h include/tier/tier.hpp lib/libtier.so lib/libtier.a \
  lib/pkgconfig/tier.pc lib/cmake/Tier/TierConfig.cmake bin/tierctl sbin/tierd; do
  [ -e "$work/prefix/$f" ] || { echo "install_test: $f is missing from the install" >&2; exit 1; }
done

cmake -S "$src" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" -j2 >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer/consumer_shared"
"$work/consumer/consumer_static"
LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer/consumer_cpp"
# The shared consumer really uses the installed libtier, the static one none.
# (ldd's output is read whole first: grep -q stops at the first match, and under pipefail
# the SIGPIPE that ldd may then get would fail the script.)
shared_deps=$(LD_LIBRARY_PATH="$work/prefix/lib" ldd "$work/consumer/consumer_shared")
static_deps=$(ldd "$work/consumer/consumer_static")
grep -q "$work/prefix/lib/libtier.so" <<<"$shared_deps" ||
  { echo "install_test: consumer_shared does not load the installed libtier.so" >&2; exit 1; }
if grep -q libtier <<<"$static_deps"; then
  echo "install_test: consumer_static loads a libtier shared library" >&2
  exit 1
fi

# pkg-config, with the .pc file found where it was installed (it must not point at the
# configure-time prefix).
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
[ "$(pkg-config --variable=prefix tier)" -ef "$work/prefix" ] ||
  { echo "install_test: tier.pc prefix is $(pkg-config --variable=prefix tier)" >&2; exit 1; }
cc -o "$work/pc_shared" "$src/consumer.c" $(pkg-config --cflags --libs tier)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/pc_shared"
# libtier.a with its dependencies linked dynamically (pkg-config --static would also pull the
# static dependencies of hwloc itself, e.g. libudev, which a Tier user need not have).
cc -o "$work/pc_static" "$src/consumer.c" $(pkg-config --cflags tier) -L"$work/prefix/lib" \
  -Wl,-Bstatic -ltier -ltier_jemalloc -Wl,-Bdynamic $(pkg-config --libs hwloc numa tomlplusplus) \
  -lstdc++ -lm -lpthread -ldl
"$work/pc_static"

# The Python package, when the build made it: imported from the prefix's site directory alone,
# and loading the installed libtier through its RPATH (no LD_LIBRARY_PATH).
if [ -f "$build/python/tier/__init__.py" ]; then
  python=$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' "$build/CMakeCache.txt")
  init=$(find "$work/prefix" -path '*/tier/__init__.py' | head -n 1)
  [ -n "$init" ] || { echo "install_test: the tier Python package is missing from the install" >&2; exit 1; }
  site=$(dirname "$(dirname "$init")")
  (cd "$work" && PYTHONPATH="$site" TIER_TOPOLOGY=default "$python" -c "
import sys, tier
assert tier.__file__.startswith('$site'), tier.__file__
assert [n.kind for n in tier.nodes()] == ['hbm', 'dram', 'cxl', 'cxl-pool']
a = tier.Runtime().alloc(4096, 'bind=cxl')
memoryview(a)[:4] = b'tier'
maps = [l.split()[-1] for l in open('/proc/self/maps') if 'libtier.so' in l]
assert maps and all(m.startswith('$work/prefix/') for m in maps), maps
") || { echo "install_test: the installed tier Python package does not work" >&2; exit 1; }
fi
echo "install_test: find_package(Tier) and pkg-config consumers built and ran"
