#!/usr/bin/env bash
# examples.sh SERVER CLIENT - examples/echo_server.c and echo_client.c together:
# three clients one after another (by name and by address), each gets its message back; the server says
# each connected and left, and stops cleanly on SIGTERM.
set -euo pipefail
server_bin=$1 client_bin=$2
pki=$(cd "$(dirname "$0")/../data/pki" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-examples.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2> /dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$work"/*.out; exit 1; }

"$server_bin" 0 "$pki/leaf-ecdsa-chain.pem" "$pki/leaf-ecdsa.key" > "$work/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q '^listening on port ' "$work/server.out" && break
    sleep 0.05
done
port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$work/server.out")
[ -n "$port" ] || fail "the example server did not start"
for host in localhost 127.0.0.1 localhost; do
    out=$(timeout 20 "$client_bin" "$host" "$port" "$pki/root-ca.pem" "hi from $host") ||
        fail "the example client failed against $host"
    grep -qx "echo: hi from $host" <<< "$out" || fail "no echo for $host: $out"
    echo "# $host: $(tr '\n' ' ' <<< "$out")"
done
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "the example server exited $status on SIGTERM"
[ "$(grep -c 'connected$' "$work/server.out")" = 3 ] || fail "the server did not see 3 clients"
[ "$(grep -c 'gone: closed$' "$work/server.out")" = 3 ] || fail "the server did not see 3 goodbyes"
echo PASS
