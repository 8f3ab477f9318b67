# server.sh - sourced by the io tests: a tern-server on a free loopback port, every
# process bounded, and its logs printed when a check fails.
#   start_server BIN [ARGS...]   sets $port, $server_pid, $work
#   stop_server                  SIGTERM; sets $server_status
#   fail MESSAGE                 prints the logs, exits 1
pki=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data/pki" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-io.XXXXXX")
server_pid=
cleanup_more() { :; }
cleanup() {
    cleanup_more
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2> /dev/null; then
        kill -TERM "$server_pid" 2> /dev/null || true
        sleep 0.5
        kill -KILL "$server_pid" 2> /dev/null || true
    fi
    wait 2> /dev/null || true
    [ "${TERN_IO_KEEP:-0}" = 1 ] && echo "logs kept in $work" || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

fail() {
    echo "FAIL: $*"
    for f in "$work"/*.out "$work"/*.err; do
        [ -s "$f" ] || continue
        echo "----- ${f##*/} (last lines)"
        tail -n 30 "$f"
    done
    exit 1
}

start_server() {
    local bin=$1
    shift
    "$bin" --bind 127.0.0.1 --port 0 --cert "$pki/leaf-ecdsa-chain.pem" \
        --key "$pki/leaf-ecdsa.key" "$@" > "$work/server.out" 2> "$work/server.err" &
    server_pid=$!
    local end=$(($(ms) + 10000))
    until grep -qE '^listening on 127\.0\.0\.1:[0-9]+$' "$work/server.err" 2> /dev/null; do
        kill -0 "$server_pid" 2> /dev/null || fail "tern-server did not start"
        [ "$(ms)" -lt "$end" ] || fail "tern-server did not say it was listening"
        sleep 0.05
    done
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.err")
}

server_status=
stop_server() {
    kill -TERM "$server_pid" 2> /dev/null || true
    local end=$(($(ms) + 10000))
    while kill -0 "$server_pid" 2> /dev/null && [ "$(ms)" -lt "$end" ]; do sleep 0.05; done
    server_status=0
    wait "$server_pid" || server_status=$?
    server_pid=
}
