#!/bin/sh
# Builds the BPF objects the runtime embeds (runtime/bpf/*.bpf.o, committed).
#
#   runtime/bpf/build.sh            rebuild the committed objects in place
#   OUT=dir runtime/bpf/build.sh    build into dir (the reproducibility test)
#
# Needs clang 14 and llvm-strip (apt-get install clang llvm libbpf-dev). The
# flags are part of the contract with the committed objects: the test
# runtime/tests/bpf_objects.rs rebuilds with this script and compares bytes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "${OUT:-$here}"
out=$(cd "${OUT:-$here}" && pwd)
cd "$here"
for src in *.bpf.c; do
	obj="$out/${src%.c}.o"
	"${CLANG:-clang}" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. \
		-fno-ident -fdebug-prefix-map="$here"=. -c "$src" -o "$obj.tmp"
	"${STRIP:-llvm-strip}" -g "$obj.tmp" -o "$obj"
	rm -f "$obj.tmp"
done
