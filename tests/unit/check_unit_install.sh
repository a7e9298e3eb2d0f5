#!/bin/sh
# check_unit_install.sh BUILD_DIR - installs the daemon's part of the build (BUILD_DIR/daemon:
# tierd, tierctl, the unit, the example config) into a DESTDIR, as a package build does, and
# fails unless the installed tierd.service's ExecStart names an executable tierd that the same
# install put there. verify_unit.sh cannot see this: it must point ExecStart at a binary of the
# build tree before systemd-analyze accepts the unit. DESTDIR (not --prefix) because the unit's
# ExecStart is written at configure time with CMAKE_INSTALL_PREFIX, which DESTDIR keeps.
set -eu
build=$1
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -n "$prefix" ] || { echo "FAIL: no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"; exit 1; }
dest=$(mktemp -d "${TMPDIR:-/tmp}/unit-install.XXXXXX") || exit 1
trap 'rm -rf "$dest"' EXIT
if ! DESTDIR=$dest cmake --install "$build/daemon" >"$dest/install.log" 2>&1; then
  cat "$dest/install.log"
  echo "FAIL: cmake --install $build/daemon failed"
  exit 1
fi
unit=$dest$prefix/lib/systemd/system/tierd.service
[ -f "$unit" ] || { echo "FAIL: the install has no $prefix/lib/systemd/system/tierd.service"; exit 1; }
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ "$(printf '%s\n' "$exec_path" | wc -l)" -eq 1 ] && [ -n "$exec_path" ] ||
  { echo "FAIL: expected one ExecStart= in tierd.service, got: $exec_path"; exit 1; }
case $exec_path in
  /*/tierd) ;;
  *) echo "FAIL: ExecStart=$exec_path is not an absolute path to tierd"; exit 1 ;;
esac
if [ ! -f "$dest$exec_path" ] || [ ! -x "$dest$exec_path" ]; then
  echo "FAIL: ExecStart=$exec_path, but the install put no executable there; it installed:"
  (cd "$dest" && find . -name tierd)
  exit 1
fi
echo "OK: ExecStart=$exec_path is the installed tierd"
