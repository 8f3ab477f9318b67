#!/usr/bin/env bash
# demo-run.sh - tern-server and tern-client talking DTLS 1.2 over loopback.
#
#   scripts/demo-run.sh [MESSAGE]
#
# Starts tern-server on a free 127.0.0.1 port with --echo and its ephemeral
# self-signed certificate, connects tern-client pinned to the fingerprint the
# server printed, sends MESSAGE (one line), then shows what was negotiated and the
# echo, and stops the server. Everything is bounded in time (about 20 s at most).
# Uses the binaries in $TERN_BUILD_DIR (default: build/), building them if missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TERN_BUILD_DIR:-$root/build}
message=${1:-hello over DTLS from tern-client}

if [ ! -x "$build/tools/tern-server" ] || [ ! -x "$build/tools/tern-client" ]; then
    "$root/scripts/deps.sh" build
    echo "building tern-server and tern-client in $build ..."
    cmake -S "$root" -B "$build" > /dev/null
    cmake --build "$build" -j "$(nproc)" --target tern-server tern-client > /dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tern-demo.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2> /dev/null; then
        kill -TERM "$server_pid" 2> /dev/null || true
        wait "$server_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

: > "$work/server.out"
: > "$work/server.err" # exist before the background server opens them
timeout -k 2 30 "$build/tools/tern-server" --bind 127.0.0.1 --port 0 --echo \
    > "$work/server.out" 2> "$work/server.err" &
server_pid=$!

# The server prints "fingerprint: <hex>", then "listening on 127.0.0.1:<port>".
port=
for _ in $(seq 50); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.err")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2> /dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "demo: tern-server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
fi
fingerprint=$(sed -n 's/^fingerprint: //p' "$work/server.err")
echo "server:     tern-server --echo on 127.0.0.1:$port, ephemeral certificate"
echo "            sha256 $fingerprint"
echo "client:     tern-client --fingerprint <that> sends \"$message\""

status=0
printf '%s\n' "$message" | timeout -k 2 15 "$build/tools/tern-client" --host 127.0.0.1 \
    --port "$port" --fingerprint "$fingerprint" --timeout 10 \
    > "$work/client.out" 2> "$work/client.err" || status=$?

negotiated=$(sed -n 's/^handshake: //p' "$work/client.err")
echo "negotiated: ${negotiated:-(no handshake)}"
echo "echoed:     $(cat "$work/client.out")"

# Signal tern-server itself rather than timeout(1), which would signal its whole
# process group too (a second SIGTERM is harmless here, but one is the intent).
child=$(pgrep -P "$server_pid" | head -n 1 || true)
kill -TERM "${child:-$server_pid}"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
echo "server:     stopped (exit $server_status)"

if [ "$status" -ne 0 ] || [ "$(cat "$work/client.out")" != "$message" ]; then
    echo "demo: the client failed (exit $status):" >&2
    cat "$work/client.err" "$work/server.err" >&2
    exit 1
fi
