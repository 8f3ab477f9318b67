#!/usr/bin/env bash
# openssl_clients.sh TERN_SERVER N - N concurrent `openssl s_client -dtls1_2`
# processes against one tern-server --echo; each sends its own line and must get
# exactly that line back. Skipped (77) without openssl.
set -euo pipefail
server_bin=$1 n=${2:-20}
command -v openssl > /dev/null || { echo "SKIP: openssl not found"; exit 77; }
. "$(dirname "$0")/server.sh"

pids=() fds=()
cleanup_more() {
    local fd pid
    for fd in "${fds[@]}"; do exec {fd}>&- 2> /dev/null || true; done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
}

start_server "$server_bin" --echo --stats
echo "# tern-server on 127.0.0.1:$port; $n openssl clients"
tag=$RANDOM$RANDOM
for i in $(seq 1 "$n"); do
    mkfifo "$work/in.$i"
    # Each client without the write ends of the others' input: it must see the end
    # of its own input when this script closes it.
    (
        for fd in "${fds[@]}"; do exec {fd}>&-; done
        exec timeout -k 2 60 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" \
            -CAfile "$pki/root-ca.pem" -servername localhost -verify_hostname localhost \
            -verify_return_error < "$work/in.$i" > "$work/client$i.out" 2> "$work/client$i.err"
    ) &
    pids+=($!)
    exec {fd}> "$work/in.$i"
    fds+=("$fd")
done
# Every client's line, written at once: s_client reads it after its handshake.
for i in $(seq 1 "$n"); do
    printf 'line from client %d %s\n' "$i" "$tag" >&"${fds[$((i - 1))]}"
done
end=$(($(ms) + 60000))
for i in $(seq 1 "$n"); do
    until grep -qF "line from client $i $tag" "$work/client$i.out" 2> /dev/null; do
        [ "$(ms)" -lt "$end" ] || fail "client $i got no echo within 60 s"
        kill -0 "${pids[$((i - 1))]}" 2> /dev/null || {
            grep -qF "line from client $i $tag" "$work/client$i.out" && break
            fail "openssl client $i exited without its echo"
        }
        sleep 0.05
    done
done
# Nobody got another client's line.
for i in $(seq 1 "$n"); do
    others=$(grep -o "line from client [0-9]* $tag" "$work/client$i.out" | sort -u | wc -l)
    [ "$others" = 1 ] || fail "client $i received $others different lines"
done
echo "# all $n clients got their own echo"
# End of input: each s_client sends close_notify and exits.
for fd in "${fds[@]}"; do exec {fd}>&-; done
fds=()
for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
pids=()
stop_server
[ "$server_status" = 0 ] || fail "tern-server exited $server_status on SIGTERM"
hs=$(grep -c '^handshake: ' "$work/server.err" || true)
[ "$hs" = "$n" ] || fail "tern-server printed $hs handshake lines, not $n"
echo "# $(grep '^endpoint: ' "$work/server.err" || true)"
echo PASS
