#!/usr/bin/env bash
# load.sh TERN_SERVER TERN_IO_LOAD N - N tern client associations (one process,
# tern-io-load) against one tern-server --echo at the same time: every one
# completes its handshake and gets its three echoes; the server held all N at once
# (its endpoint's peak) and exits 0 on SIGTERM.
set -euo pipefail
server_bin=$1 load_bin=$2 n=${3:-500}
. "$(dirname "$0")/server.sh"

start_server "$server_bin" --echo --stats
echo "# tern-server on 127.0.0.1:$port; $n clients"
status=0
timeout -k 5 120 "$load_bin" --port "$port" --clients "$n" --messages 3 \
    --ca "$pki/root-ca.pem" --servername localhost --timeout 90 \
    > "$work/load.out" 2> "$work/load.err" || status=$?
cat "$work/load.out"
[ "$status" = 0 ] || fail "tern-io-load exited $status"
stop_server
[ "$server_status" = 0 ] || fail "tern-server exited $server_status on SIGTERM"
hs=$(grep -c '^handshake: ' "$work/server.err" || true)
[ "$hs" = "$n" ] || fail "tern-server printed $hs handshake lines, not $n"
line=$(grep '^endpoint: ' "$work/server.err" || true)
echo "# $line"
peak=$(sed -nE 's/.*\(peak ([0-9]+)\).*/\1/p' <<< "$line")
[ "${peak:-0}" -ge "$n" ] || fail "the server never held $n associations at once (peak ${peak:-?})"
echo PASS
