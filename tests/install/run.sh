#!/bin/sh
# Install tern from build dir $1 into a scratch prefix under $2, then build
# consumer.c against it with pkg-config and with find_package(tern), and run both.
set -eu
build=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
libdir=$(find "$prefix" -name tern.pc -printf '%h\n' | head -n 1)
[ -n "$libdir" ] || { echo "tern.pc not installed"; exit 1; }
lib=$(dirname "$libdir")

echo "== pkg-config"
# tern.pc names the prefix it was configured with; point pkg-config at the scratch one.
PKG_CONFIG_PATH=$libdir cc -o "$work/consumer_pc" "$here/consumer.c" \
    $(PKG_CONFIG_PATH=$libdir pkg-config --define-variable=prefix="$prefix" --cflags --libs tern)
LD_LIBRARY_PATH=$lib "$work/consumer_pc"

echo "== find_package(tern)"
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.log"
cmake --build "$work/cmake" >>"$work/cmake.log"
LD_LIBRARY_PATH=$lib "$work/cmake/consumer_shared"
"$work/cmake/consumer_static"
echo "install consumer: ok"
