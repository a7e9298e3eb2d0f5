#!/usr/bin/env bash
# Installs what Tier needs on Debian bookworm (run as root or with sudo available), and
# builds Tier's private jemalloc into .deps/jemalloc.
#
# Why a private jemalloc: Debian's libjemalloc exports malloc and uses initial-exec TLS, so
# linking it would replace the process's allocator, and libtier could not be dlopen'ed
# (python ctypes fails with "cannot allocate memory in static TLS block"). We build Debian's
# own jemalloc source package with a `tierje_` prefix, global-dynamic TLS and no exports,
# and link its PIC archive into libtier behind a version script.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
sudo_=""
[ "$(id -u)" = 0 ] || sudo_="sudo"

packages=(
  build-essential cmake pkg-config git ca-certificates dpkg-dev
  libhwloc-dev hwloc libnuma-dev numactl liburing-dev libsystemd-dev systemd
  libboost-program-options-dev libtomlplusplus-dev prometheus-cpp-dev
  catch2 libbenchmark-dev libjemalloc-dev libmimalloc-dev libmemkind-dev
  clang-format clang-tidy
  qemu-system-x86 busybox-static cpio gnuplot-nox python3
  pybind11-dev python3-dev python3-numpy python3-pytest python3-torch
  redis-server redis-tools
  etcd-server nlohmann-json3-dev
)

need=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
src_list=/etc/apt/sources.list.d/tier-debsrc.sources
if [ ! -f "$src_list" ] && ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # jemalloc's source package comes from Debian's own archive (deb-src).
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
    $sudo_ tee "$src_list" >/dev/null
  fresh_sources=1
fi
if [ ${#need[@]} -gt 0 ] || [ -n "${fresh_sources:-}" ]; then
  $sudo_ apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

je_prefix="$top/.deps/jemalloc"
if [ ! -f "$je_prefix/lib/libjemalloc_pic.a" ]; then
  work="$top/.deps/jemalloc-src"
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && apt-get source --download-only jemalloc >/dev/null 2>&1)
  tarball=$(ls "$work"/jemalloc_*.orig.tar.* | head -n 1)
  tar -xf "$tarball" -C "$work"
  srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'jemalloc-*' | head -n 1)
  echo "deps: building private jemalloc from $(basename "$tarball") (about 90 s)"
  (cd "$srcdir" &&
    ./configure --prefix="$je_prefix" --with-jemalloc-prefix=tierje_ \
      --with-private-namespace=tierje_int_ --disable-initial-exec-tls --disable-cxx \
      --without-export --disable-shared --with-pic --disable-doc >"$work/configure.log" 2>&1 &&
    make -j"$(nproc)" build_lib_static >"$work/make.log" 2>&1 &&
    mkdir -p "$je_prefix/lib" "$je_prefix/include/jemalloc" &&
    cp lib/libjemalloc_pic.a "$je_prefix/lib/" &&
    cp include/jemalloc/jemalloc.h "$je_prefix/include/jemalloc/") || {
    echo "deps: jemalloc build failed; see $work/*.log" >&2
    exit 1
  }
  rm -rf "$work"
fi
echo "deps: ready"
