#!/bin/sh
# Pack a staged directory into an uncompressed newc initramfs: mkinitramfs.sh STAGE OUTPUT.
# Files are owned by root in the archive whoever builds it. tests/support/vm.rs calls this; it
# also works by hand after editing a kept stage (POLICYCTL_VM_KEEP=1).
set -eu
stage=$1
out=$(realpath -m "$2")
cd "$stage"
find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$out.tmp"
mv "$out.tmp" "$out"
