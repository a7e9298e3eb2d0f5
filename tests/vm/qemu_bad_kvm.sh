#!/bin/sh
# A QEMU whose KVM accelerator cannot run a guest, as under nested virtualisation: with
# `-accel kvm` it hangs (TIER_TEST_BAD_KVM=hang) or aborts (=abort) the way QEMU 7.2 does on
# an MSR it cannot set; any other accelerator runs the real qemu-system-x86_64.
for a in "$@"; do
  if [ "$a" = kvm ]; then
    if [ "${TIER_TEST_BAD_KVM:-hang}" = hang ]; then exec sleep 600; fi
    echo "qemu_bad_kvm.sh: failed to set MSR (simulated)" >&2
    exit 134
  fi
done
exec qemu-system-x86_64 "$@"
