#!/bin/sh
# Builds the prebuilt fan-out writers shipped in the package:
#   prebuilds/linux-x64/fanout_writer.node    (cc, or $CC_X64)
#   prebuilds/linux-arm64/fanout_writer.node  (aarch64-linux-gnu-gcc, or $CC_ARM64;
#                                              Debian: apt-get install gcc-aarch64-linux-gnu)
# The addon uses Node-API only, so one binary serves every Node version; it
# needs only old glibc symbols (send, syscall, mmap, calloc…), so any glibc
# Linux of that arch; io_uring is asked of the kernel at run time.
# Node's headers: $NODE_INCLUDE, else next to the running node (/usr/include/node).
set -eu
cd "$(dirname "$0")/.."
NODE_INCLUDE=${NODE_INCLUDE:-$(dirname "$(dirname "$(command -v node)")")/include/node}
[ -f "$NODE_INCLUDE/node_api.h" ] || { echo "prebuild: no node_api.h in $NODE_INCLUDE (set NODE_INCLUDE)" >&2; exit 1; }
FLAGS="-O2 -s -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -I$NODE_INCLUDE"
build() { # ARCH COMPILER
  if ! command -v "$2" >/dev/null 2>&1; then echo "prebuild: $2 not found, linux-$1 not built" >&2; return 1; fi
  mkdir -p "prebuilds/linux-$1"
  # shellcheck disable=SC2086
  "$2" $FLAGS -o "prebuilds/linux-$1/fanout_writer.node" native/fanout_writer.c
  echo "prebuild: prebuilds/linux-$1/fanout_writer.node ($2)"
}
status=0
build x64 "${CC_X64:-cc}" || status=1
build arm64 "${CC_ARM64:-aarch64-linux-gnu-gcc}" || status=1
exit $status
