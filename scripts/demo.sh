#!/usr/bin/env bash
# Build tern and run the demo: tern-server and tern-client on loopback, a DTLS 1.2
# handshake with the built-in default credential, one line echoed. Installs the
# build packages first if any is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
exec scripts/demo-run.sh "$@"
