#!/bin/sh
# /init of the VM test initramfs (tests/support/vm.rs stages it; busybox provides every command).
# Mounts the kernel filesystems, runs each scenario listed in /policyctl-vm/list in order, reports
# them on the second serial port (/dev/ttyS1) between markers, then powers off. The console
# (/dev/ttyS0) gets the kernel's messages and one progress line per scenario.
#
# /policyctl-vm/list: one scenario a line, "<index> <timeout-seconds> <name>"; its script is
# /policyctl-vm/scenarios/<index>. Kernel command line: policyctl.shell=1 runs a shell on the
# console after the scenarios instead of powering off (POLICYCTL_VM_KEEP=1 prints such a command).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022

mkdir -p /proc /sys /dev /tmp /run /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ip link set lo up
hostname policyctl-vm

uptime_ms() {
  awk '{ printf "%d", $1 * 1000 }' /proc/uptime
}

out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null
echo "@@POLICYCTL-VM-READY uptime_ms=$(uptime_ms)@@" >"$out"
echo "policyctl-vm: ready after $(uptime_ms) ms of uptime"

while read -r index timeout name; do
  [ -n "$index" ] || continue
  echo "policyctl-vm: scenario $name ..."
  start=$(uptime_ms)
  cd /
  timeout -s KILL "$timeout" sh -c "$(cat "/policyctl-vm/scenarios/$index")" \
    </dev/null >/policyctl-vm/output 2>&1
  rc=$?
  ms=$(($(uptime_ms) - start))
  {
    echo "@@POLICYCTL-SCENARIO-BEGIN $name@@"
    cat /policyctl-vm/output
    echo
    echo "@@POLICYCTL-SCENARIO-END $name rc=$rc ms=$ms@@"
  } >"$out"
  echo "policyctl-vm: scenario $name rc=$rc ms=$ms"
done </policyctl-vm/list

echo "@@POLICYCTL-VM-DONE uptime_ms=$(uptime_ms)@@" >"$out"
if grep -q 'policyctl.shell=1' /proc/cmdline; then
  echo "policyctl-vm: scenarios done; shell on the console (poweroff -f to leave)"
  setsid cttyhack sh -l
fi
sync
poweroff -f
