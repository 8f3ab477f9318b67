#!/usr/bin/env bash
# interop.sh - one interoperability case: tern against a real DTLS 1.2 peer
# (OpenSSL or GnuTLS) over loopback UDP, data both ways, every process bounded.
#
#   interop.sh --tern client|server --peer openssl|gnutls [--bindir DIR]
#              [--suite IANA_NAME] [--group X25519|P-256] [--cert ecdsa|rsa]
#              [--client-cert ecdsa|rsa] [--mtu N] [--name NAME] [--trust ca|fingerprint]
#              [--expect-fail wrong-ca|wrong-name|wrong-fingerprint|no-client-cert|over-limit]
#              [--stand-in openssl|gnutls] [--impair SPEC]
#
# --tern says which side tern-client / tern-server (from --bindir) plays; --peer is
# the other side. --stand-in puts another real peer where tern would be: that is
# how the harness itself is checked before tern can link (openssl <-> gnutls, see
# selfcheck.sh), so that a failure with tern in place is tern's.
#
# --impair routes the client's datagrams through tern-impair (from --bindir), the
# UDP impairment proxy: SPEC is its options without the dashes, comma-separated,
# e.g. loss=20,seed=11 or max-size=1600 (keys: loss loss-up loss-down dup reorder
# delay jitter max-size seed). The proxy always runs with --handshake-only: loss,
# duplication and reordering hit handshake datagrams only, because DTLS does not
# retransmit application data or alerts and the data check needs every line. The
# handshake may then wait out several retransmission timeouts (OpenSSL and GnuTLS:
# 1 s, doubling; tern: 400 ms for eight, then doubling), so the handshake deadline
# goes from 10 s to 45 s (five lost OpenSSL flights in a row fit). Checked on
# top: the proxy's counters, which must show at least one datagram dropped by loss
# in each direction that was asked to lose some (else the seed does not test it),
# a datagram duplicated and one reordered when those were asked for, and none
# dropped by size (both sides kept to the MTU under the link's limit).
# --expect-fail over-limit turns the last check around: with tern's --mtu above the
# link's max-size, tern's large datagrams are dropped every time, so no handshake
# may complete within 4 s, and the proxy must have dropped datagrams from tern.
#
# A passing case: the server starts on a free loopback port; the client connects
# (suite, group, certificates and MTU forced on BOTH sides when given), sends three
# distinct lines; an echoing server (tern-server --echo, gnutls-serv --echo) sends
# them back, while openssl s_server (which cannot echo DTLS) gets them on stdout and
# sends three lines of its own from stdin. Checked: the bytes on both ends, the
# negotiated version/suite/group on every side that prints them (tern's
# "handshake:" line, exactly once), tern's largest datagrams against --mtu, that a
# client certificate reached tern-server when one was required, and that
# tern-server exits 0 on SIGTERM. An --expect-fail case checks that the side that
# must refuse fails (exit status) and says why (its message).
#
# Exit 0 pass, 1 fail, 77 skip (peer program missing, or no stand-in equivalent).
# TERN_INTEROP_KEEP=1 keeps the work directory; on failure every log is printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pki=$(cd "$here/../data/pki" && pwd)

tern_role= peer= stand_in= bindir= suite= group= cert=ecdsa client_cert= mtu= expect=
name=localhost trust=ca impair=

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
    --tern) tern_role=$2 ;;
    --peer) peer=$2 ;;
    --stand-in) stand_in=$2 ;;
    --bindir) bindir=$2 ;;
    --suite) suite=$2 ;;
    --group) group=$2 ;;
    --cert) cert=$2 ;;
    --client-cert) client_cert=$2 ;;
    --mtu) mtu=$2 ;;
    --name) name=$2 ;;
    --trust) trust=$2 ;;
    --expect-fail) expect=$2 ;;
    --impair) impair=$2 ;;
    *) usage ;;
    esac
    shift 2
done
case $tern_role in client | server) ;; *) usage ;; esac
case $peer in openssl | gnutls) ;; *) usage ;; esac
case $cert in ecdsa | rsa) ;; *) usage ;; esac
case ${stand_in:-openssl} in openssl | gnutls) ;; *) usage ;; esac

skip() { echo "SKIP: $*"; exit 77; }

# --impair SPEC -> tern-impair options; the handshake deadline (seconds) and the
# bounds on the client and server processes follow from it.
impair_args=() impair_lossy_up=false impair_lossy_down=false impair_size=false hs_wait=10
impair_dup=false impair_reorder=false
if [ -n "$impair" ]; then
    IFS=, read -r -a impair_items <<< "$impair"
    for item in "${impair_items[@]}"; do
        key=${item%%=*} value=${item#*=}
        case $key in
        loss | loss-up | loss-down)
            lossy=true
            [[ $value =~ ^0*\.?0*$ ]] && lossy=false
            [ "$key" = loss-down ] || impair_lossy_up=$lossy
            [ "$key" = loss-up ] || impair_lossy_down=$lossy ;;
        max-size) impair_size=true ;;
        dup) [[ $value =~ ^0*\.?0*$ ]] || impair_dup=true ;;
        reorder) [[ $value =~ ^0*\.?0*$ ]] || impair_reorder=true ;;
        delay | jitter | seed) ;;
        *) echo "FAIL: --impair: unknown key '$key' in $impair"; exit 1 ;;
        esac
        [[ $item == *=* && $value =~ ^[0-9.]+$ ]] ||
            { echo "FAIL: --impair: '$item' is not KEY=NUMBER"; exit 1; }
        impair_args+=("--$key" "$value")
    done
    hs_wait=45
    [ -n "$bindir" ] && [ -x "$bindir/tern-impair" ] ||
        skip "--impair needs tern-impair from --bindir (build it first)"
fi
client_bound=$((hs_wait + 20)) server_bound=$((hs_wait + 80))

# ------------------------------------------------------------------ who plays what
tern_impl=tern
[ -n "$stand_in" ] && tern_impl=$stand_in
if [ "$tern_role" = client ]; then
    client_impl=$tern_impl server_impl=$peer
else
    client_impl=$peer server_impl=$tern_impl
fi

need() {
    case $1 in
    tern)
        [ -n "$bindir" ] ||
            { echo "FAIL: --bindir is needed to find tern-client/tern-server"; exit 1; }
        for t in tern-client tern-server; do
            [ -x "$bindir/$t" ] || { echo "FAIL: $bindir/$t is missing (build it first)"; exit 1; }
        done ;;
    openssl) command -v openssl > /dev/null ||
        skip "openssl not found (scripts/deps.sh test installs it)" ;;
    gnutls) command -v gnutls-serv > /dev/null && command -v gnutls-cli > /dev/null ||
        skip "gnutls-serv/gnutls-cli not found (scripts/deps.sh test installs gnutls-bin)" ;;
    esac
}
need "$client_impl"
need "$server_impl"
if [ "$tern_impl" != tern ]; then
    case $trust/$expect in
    fingerprint/* | */wrong-fingerprint)
        skip "$tern_impl has no leaf fingerprint pinning: this case is tern-only" ;;
    esac
fi

# ------------------------------------------------------------------ names per peer
# IANA suite name -> OpenSSL name, GnuTLS cipher and key exchange.
ossl_suite= gt_cipher= gt_kx=
if [ -n "$suite" ]; then
    case $suite in
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) ossl_suite=ECDHE-ECDSA-AES128-GCM-SHA256 ;;
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) ossl_suite=ECDHE-ECDSA-AES256-GCM-SHA384 ;;
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256) ossl_suite=ECDHE-ECDSA-CHACHA20-POLY1305 ;;
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) ossl_suite=ECDHE-RSA-AES128-GCM-SHA256 ;;
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) ossl_suite=ECDHE-RSA-AES256-GCM-SHA384 ;;
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) ossl_suite=ECDHE-RSA-CHACHA20-POLY1305 ;;
    *) echo "FAIL: unknown suite $suite"; exit 1 ;;
    esac
    case $suite in
    *AES_128_GCM*) gt_cipher=AES-128-GCM ;;
    *AES_256_GCM*) gt_cipher=AES-256-GCM ;;
    *CHACHA20*) gt_cipher=CHACHA20-POLY1305 ;;
    esac
    case $suite in
    *ECDHE_ECDSA*) gt_kx=ECDHE-ECDSA ;;
    *ECDHE_RSA*) gt_kx=ECDHE-RSA ;;
    esac
fi
# A group is chosen by putting it first on both sides, not by offering it alone: in
# TLS 1.2 the client's supported_groups also names the curves it accepts for ECDSA
# certificates (RFC 8422 §5.1), so a client offering X25519 alone cannot take the
# P-256 leaf, and OpenSSL refuses the suite. The other group comes second.
groups= ossl_groups= gt_groups= gt_group= ossl_tempkey=
case $group in
'') ;;
X25519) groups=X25519,P-256 ossl_groups=X25519:P-256 gt_group=X25519
    gt_groups=+GROUP-X25519:+GROUP-SECP256R1 ossl_tempkey='X25519' ;;
P-256) groups=P-256,X25519 ossl_groups=P-256:X25519 gt_group=SECP256R1
    gt_groups=+GROUP-SECP256R1:+GROUP-X25519 ossl_tempkey='ECDH, prime256v1' ;;
*) echo "FAIL: unknown group $group"; exit 1 ;;
esac
gt_priority=NORMAL:-VERS-ALL:+VERS-DTLS1.2
[ -n "$gt_cipher" ] && gt_priority+=":-CIPHER-ALL:+$gt_cipher:-KX-ALL:+$gt_kx"
[ -n "$gt_groups" ] && gt_priority+=":-GROUP-ALL:$gt_groups"

server_chain=$pki/leaf-$cert-chain.pem
server_leaf=$pki/leaf-$cert.pem
server_key=$pki/leaf-$cert.key
# Mutual authentication: the server requires a client certificate.
require_client=false
[ -n "$client_cert" ] || [ "$expect" = no-client-cert ] && require_client=true
[ "$expect" = no-client-cert ] && client_cert=

# ------------------------------------------------------------------ work area, cleanup
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-interop.XXXXXX")
server_pid= client_pid= impair_pid=
kill_tree() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null || return 0
    kill -TERM "$pid" 2> /dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$pid" 2> /dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2> /dev/null || true
}
cleanup() {
    exec 7>&- 8>&- 2> /dev/null || true
    kill_tree "$client_pid"
    kill_tree "$impair_pid"
    kill_tree "$server_pid"
    wait 2> /dev/null || true
    if [ "${TERN_INTEROP_KEEP:-0}" = 1 ]; then
        echo "logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

dump() {
    for f in "$work"/*.out "$work"/*.err; do
        [ -s "$f" ] || continue
        echo "----- ${f##*/}"
        grep -v '^Waiting for connection\.\.\.$' "$f" | head -c 20000 || true
    done
}
fail() {
    echo "FAIL: $*"
    dump
    exit 1
}
note() { echo "# $*"; }

ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wait_for REGEX SECONDS PID FILE... : true once REGEX matches a line of the files;
# false at the deadline or, once the match is still missing, when PID has exited.
wait_for() {
    local re=$1 secs=$2 pid=$3
    shift 3
    local end=$(($(ms) + secs * 1000))
    while :; do
        cat "$@" 2> /dev/null | grep -qE -- "$re" && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then
            cat "$@" 2> /dev/null | grep -qE -- "$re" && return 0
            return 1
        fi
        [ "$(ms)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# all_lines_in FILE LINE... : every LINE appears in FILE (as a substring: openssl
# prints what it receives without adding line breaks).
all_lines_in() {
    local f=$1 l
    shift
    for l in "$@"; do grep -qF -- "$l" "$f" 2> /dev/null || return 1; done
}

tag=$RANDOM$RANDOM
client_lines=("client line one $tag" "client line two, with some more words $tag"
    "client line three: end $tag")
server_lines=("server line one $tag" "server line two $tag" "server line three $tag")

# ------------------------------------------------------------------ the server
port=
start_server() {
    local attempt
    mkfifo "$work/server.in"
    exec 7<> "$work/server.in" # held open: openssl s_server stops at end of input
    for attempt in 1 2 3 4 5 6; do
        local args=() ready
        : > "$work/server.out"
        : > "$work/server.err"
        case $server_impl in
        tern)
            args=("$bindir/tern-server" --bind 127.0.0.1 --port 0 --echo --stats
                --cert "$server_chain" --key "$server_key")
            [ -n "$suite" ] && args+=(--cipher "$suite")
            [ -n "$groups" ] && args+=(--groups "$groups")
            [ -n "$mtu" ] && args+=(--mtu "$mtu")
            $require_client && args+=(--require-peer --ca "$pki/root-ca.pem")
            ready='^listening on 127\.0\.0\.1:[0-9]+$' ;;
        openssl)
            port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
            args=(openssl s_server -dtls1_2 -accept "127.0.0.1:$port" -cert "$server_leaf"
                -cert_chain "$pki/int-ca.pem" -key "$server_key")
            [ -n "$ossl_suite" ] && args+=(-cipher "$ossl_suite")
            # -serverpref: the server's order of suites and groups decides.
            [ -n "$ossl_groups" ] && args+=(-groups "$ossl_groups" -serverpref)
            # OpenSSL's -mtu is the link MTU: the IPv4 and UDP headers (28 bytes) are in it.
            [ -n "$mtu" ] && args+=(-mtu $((mtu + 28)))
            $require_client && args+=(-Verify 1 -verify_return_error -CAfile "$pki/root-ca.pem")
            ready='^ACCEPT$' ;;
        gnutls)
            port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
            args=(gnutls-serv --udp --echo -p "$port" --x509certfile "$server_chain"
                --x509keyfile "$server_key" --priority "$gt_priority:%SERVER_PRECEDENCE")
            [ -n "$mtu" ] && args+=(--mtu "$mtu")
            $require_client && args+=(--require-client-cert --x509cafile "$pki/root-ca.pem")
            ready='listening on IPv4 .*done' ;;
        esac
        note "server: ${args[*]}"
        timeout -k 2 "$server_bound" "${args[@]}" < "$work/server.in" > "$work/server.out" \
            2> "$work/server.err" &
        server_pid=$!
        if wait_for "$ready" 10 "$server_pid" "$work/server.out" "$work/server.err"; then
            if [ "$server_impl" = tern ]; then
                port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.err")
            fi
            return 0
        fi
        kill_tree "$server_pid"
        wait "$server_pid" 2> /dev/null || true
        server_pid=
        # Only a port already taken is worth another try.
        grep -qiE 'in use|bind' "$work/server.out" "$work/server.err" ||
            fail "the $server_impl server did not start"
        note "port $port is taken, trying another"
    done
    fail "no free port found for the $server_impl server"
}

# ------------------------------------------------------------------ the proxy
# Without --impair the client talks to the server directly.
client_port=
start_impair() {
    if [ -z "$impair" ]; then
        client_port=$port
        return 0
    fi
    # --verbose: one line per datagram, in the logs printed on failure.
    local args=("$bindir/tern-impair" --listen 127.0.0.1:0 --to "127.0.0.1:$port"
        --handshake-only --duration "$server_bound" --verbose "${impair_args[@]}")
    note "proxy: ${args[*]}"
    timeout -k 2 "$((server_bound + 5))" "${args[@]}" > "$work/impair.out" 2> "$work/impair.err" &
    impair_pid=$!
    wait_for '^listening on 127\.0\.0\.1:[0-9]+$' 10 "$impair_pid" "$work/impair.err" ||
        fail "tern-impair did not start"
    client_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/impair.err")
}

# stop_impair: SIGTERM (to tern-impair itself, as for the server), then its counters
# are checked: each lossy direction must have lost something, duplication and
# reordering must have happened when asked for, the size limit dropped nothing.
impair_counter() { # DIR NAME : one counter of the proxy's exit lines
    sed -nE "s/^tern-impair: $1: .*[ ,]$2 ([0-9]+)(,.*)?\$/\1/p" "$work/impair.err"
}
stop_impair() {
    [ -n "$impair_pid" ] || return 0
    local child dir lossy lost big=0 dups=0 held=0
    child=$(pgrep -P "$impair_pid" | head -n 1 || true)
    kill -TERM "${child:-$impair_pid}" 2> /dev/null || true
    wait "$impair_pid" 2> /dev/null || true
    impair_pid=
    for dir in up down; do
        grep -q "^tern-impair: $dir: in " "$work/impair.err" ||
            fail "tern-impair printed no counters for '$dir'"
        note "proxy $(grep -E "^tern-impair: $dir: " "$work/impair.err" | sed 's/^tern-impair: //')"
        lost=$(impair_counter $dir "dropped by loss")
        big=$((big + $(impair_counter $dir "dropped by size")))
        dups=$((dups + $(impair_counter $dir duplicated)))
        held=$((held + $(impair_counter $dir reordered)))
        lossy=impair_lossy_$dir
        if ${!lossy} && [ "$lost" = 0 ]; then
            fail "tern-impair lost no datagram going $dir: this seed tests no loss there"
        fi
    done
    note "proxy $(grep -E '^tern-impair: clients ' "$work/impair.err" | sed 's/^tern-impair: //')"
    ! $impair_dup || [ "$dups" != 0 ] || fail "tern-impair duplicated nothing: pick another seed"
    ! $impair_reorder || [ "$held" != 0 ] || fail "tern-impair reordered nothing: pick another seed"
    if $impair_size && [ "$big" != 0 ] && [ "$expect" != over-limit ]; then
        fail "tern-impair dropped $big datagram(s) over the size limit: a side ignored its MTU"
    fi
    return 0
}

# ------------------------------------------------------------------ the client
client_hs_re=
start_client() {
    local args=() ca=$pki/root-ca.pem
    [ "$expect" = wrong-ca ] && ca=$pki/other-root-ca.pem
    local vname=$name
    [ "$expect" = wrong-name ] && vname=wrong.example.com
    local is_ip=false
    [[ $vname =~ ^[0-9.]+$ ]] && is_ip=true
    case $client_impl in
    tern)
        args=("$bindir/tern-client" --host 127.0.0.1 --port "$client_port" --stats
            --timeout "$hs_wait" --wait 5)
        case $trust/$expect in
        */wrong-fingerprint)
            args+=(--fingerprint "$(fingerprint "$pki/other-leaf.pem")") ;;
        fingerprint/*)
            args+=(--fingerprint "$(fingerprint "$server_leaf")") ;;
        *)
            args+=(--ca "$ca")
            $is_ip || args+=(--servername "$vname") ;;
        esac
        [ -n "$suite" ] && args+=(--cipher "$suite")
        [ -n "$groups" ] && args+=(--groups "$groups")
        [ -n "$mtu" ] && args+=(--mtu "$mtu")
        [ -n "$client_cert" ] && args+=(--cert "$pki/leaf-$client_cert-chain.pem"
            --key "$pki/leaf-$client_cert.key")
        client_hs_re='^handshake: ' ;;
    openssl)
        args=(openssl s_client -dtls1_2 -connect "127.0.0.1:$client_port" -CAfile "$ca"
            -verify_return_error)
        if $is_ip; then args+=(-verify_ip "$vname"); else
            args+=(-verify_hostname "$vname" -servername "$vname"); fi
        [ -n "$ossl_suite" ] && args+=(-cipher "$ossl_suite")
        [ -n "$ossl_groups" ] && args+=(-groups "$ossl_groups")
        [ -n "$mtu" ] && args+=(-mtu $((mtu + 28)))
        [ -n "$client_cert" ] && args+=(-cert "$pki/leaf-$client_cert.pem"
            -cert_chain "$pki/int-ca.pem" -key "$pki/leaf-$client_cert.key")
        client_hs_re='^New, TLSv1\.2, Cipher is ' ;;
    gnutls)
        args=(gnutls-cli --udp -p "$client_port" --x509cafile "$ca" --verify-hostname "$vname"
            --priority "$gt_priority")
        $is_ip || args+=(--sni-hostname "$vname")
        [ -n "$mtu" ] && args+=(--mtu "$mtu")
        [ -n "$client_cert" ] && args+=(--x509certfile "$pki/leaf-$client_cert-chain.pem"
            --x509keyfile "$pki/leaf-$client_cert.key")
        args+=(127.0.0.1)
        client_hs_re='Handshake was completed' ;;
    esac
    note "client: ${args[*]}"
    mkfifo "$work/client.in"
    timeout -k 2 "$client_bound" "${args[@]}" < "$work/client.in" > "$work/client.out" \
        2> "$work/client.err" &
    client_pid=$!
    exec 8> "$work/client.in" # stdin stays open until the data has been checked
}

fingerprint() {
    openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

feed() { # FD LINE... : write lines a little apart, so that each becomes one record
    local fd=$1 l
    shift
    for l in "$@"; do
        printf '%s\n' "$l" >&"$fd"
        sleep 0.1
    done
}

# stop_server: SIGTERM, then its exit status in server_status. The signal goes to
# the server itself, the child of our timeout(1): signalled, timeout would pass it
# on to its whole process group as well, and a second SIGTERM that lands while a
# sanitizer build runs LeakSanitizer at exit kills LSan's tracer and hangs the
# server.
server_status=
stop_server() {
    local child
    child=$(pgrep -P "$server_pid" | head -n 1 || true)
    kill -TERM "${child:-$server_pid}" 2> /dev/null || true
    local end=$(($(ms) + 5000))
    while kill -0 "$server_pid" 2> /dev/null && [ "$(ms)" -lt "$end" ]; do sleep 0.05; done
    server_status=0
    wait "$server_pid" || server_status=$?
    server_pid=
}

# wait_client: its exit status in client_status (stdin is closed first).
client_status=
wait_client() {
    exec 8>&-
    client_status=0
    wait "$client_pid" || client_status=$?
    client_pid=
}

# ------------------------------------------------------------------ checks of what was negotiated
check_tern_handshake() { # FILE
    local re="^handshake: DTLS 1\.2 ${suite:-[A-Z0-9_]+} ${group:-[A-Za-z0-9-]+}$"
    local n
    n=$(grep -cE "^handshake: " "$1" || true)
    [ "$n" = 1 ] || fail "expected exactly one 'handshake:' line in ${1##*/}, found $n"
    grep -qE "$re" "$1" || fail "${1##*/}: handshake line does not match /$re/"
}
check_negotiated() { # IMPL ROLE
    local f
    case $1/$2 in
    tern/*) check_tern_handshake "$work/$2.err" ;;
    openssl/client)
        f=$work/client.out
        grep -q '^    Protocol  : DTLSv1.2$' "$f" || fail "openssl client: not DTLS 1.2"
        [ -z "$ossl_suite" ] || grep -q "Cipher is $ossl_suite\$" "$f" ||
            fail "openssl client: suite is not $ossl_suite"
        [ -z "$ossl_tempkey" ] || grep -q "^Server Temp Key: $ossl_tempkey" "$f" ||
            fail "openssl client: group is not $group" ;;
    openssl/server)
        [ -z "$ossl_suite" ] || grep -q "^CIPHER is $ossl_suite\$" "$work/server.out" ||
            fail "openssl server: suite is not $ossl_suite" ;;
    gnutls/client)
        local re='^- Description: \(DTLS1\.2-X\.509\)'
        [ -n "$gt_group" ] && re+="-\\(ECDHE-$gt_group\\)" || re+='-\([^)]*\)'
        re+='-\([^)]*\)'
        [ -n "$gt_cipher" ] && re+="-\\($gt_cipher\\)"
        grep -qE "$re" "$work/client.out" || fail "gnutls client: negotiated not /$re/" ;;
    gnutls/server) ;; # gnutls-serv --echo does not print the session
    esac
}
# tern's own counters: "largest datagram in A out B", and the peer certificate.
check_tern_stats() { # ROLE
    local f=$work/$1.err line a b
    line=$(grep -E '(^|: )stats: ' "$f" | tail -n 1)
    [ -n "$line" ] || fail "no stats line from tern-$1"
    a=$(sed -E 's/.*largest datagram in ([0-9]+) out ([0-9]+).*/\1/' <<< "$line")
    b=$(sed -E 's/.*largest datagram in ([0-9]+) out ([0-9]+).*/\2/' <<< "$line")
    note "tern-$1 largest datagram in $a out $b${mtu:+ (mtu $mtu)}"
    [ -z "$impair" ] || note "tern-$1 ${line#*stats: }"
    if [ -n "$mtu" ]; then
        [ "$b" -le "$mtu" ] || fail "tern-$1 sent a $b-byte datagram over --mtu $mtu"
        [ "$a" -le "$mtu" ] || fail "the peer sent a $a-byte datagram over its mtu $mtu"
    fi
    if [ "$1" = server ] && $require_client; then
        grep -q 'peer certificate received' <<< "$line" ||
            fail "tern-server completed without the required client certificate"
    fi
}

# ------------------------------------------------------------------ a case that must fail
expect_failure() {
    local who re
    case $expect in
    wrong-ca | wrong-name | wrong-fingerprint) who=client ;;
    no-client-cert) who=server ;;
    *) echo "FAIL: unknown --expect-fail $expect"; exit 1 ;;
    esac
    local impl=$client_impl
    [ $who = server ] && impl=$server_impl
    case $impl/$expect in
    tern/wrong-ca) re='^tern-client: handshake failed: .*not trusted' ;;
    tern/wrong-name) re='^tern-client: handshake failed: .*does not match the host name' ;;
    tern/wrong-fingerprint) re='^tern-client: handshake failed: .*fingerprint' ;;
    tern/no-client-cert)
        re='^tern-server: peer 127\.0\.0\.1:[0-9]+: handshake failed: .*no certificate' ;;
    openssl/wrong-ca) re='unable to get local issuer certificate|certificate verify failed' ;;
    openssl/wrong-name) re='hostname mismatch' ;;
    openssl/no-client-cert) re='peer did not return a certificate' ;;
    gnutls/wrong-ca) re='issuer is unknown|NOT trusted' ;;
    gnutls/wrong-name) re='does not match' ;;
    gnutls/no-client-cert) re='[Nn]o certificate|certificate required|Error in the certificate' ;;
    esac

    if [ $who = server ]; then
        wait_for "$re" 15 "$server_pid" "$work/server.out" "$work/server.err" ||
            fail "the $server_impl server did not say /$re/"
    fi
    # The client ends by itself: it refuses, or the server's alert stops it (its stdin
    # stays open meanwhile). gnutls-serv sends no alert when the client certificate
    # is missing, so only then may the client still be waiting.
    local end=$(($(ms) + 15000))
    while kill -0 "$client_pid" 2> /dev/null && [ "$(ms)" -lt "$end" ]; do sleep 0.05; done
    if kill -0 "$client_pid" 2> /dev/null; then
        [ "$server_impl/$expect" = gnutls/no-client-cert ] ||
            fail "the client is still running 15 s after the refusal"
        note "the client is still waiting (gnutls-serv sent no alert); stopping it"
        kill_tree "$client_pid"
        client_status=stopped
        wait "$client_pid" 2> /dev/null || true
        client_pid=
    else
        wait_client
        [ "$client_status" != 0 ] || fail "the client exited 0, the handshake should have failed"
        note "client exit status $client_status (expected non-zero)"
    fi
    if [ $who = client ]; then
        grep -qE -- "$re" "$work/client.out" "$work/client.err" ||
            fail "the $client_impl client did not say /$re/"
    fi
    grep -qF -- "${client_lines[0]}" "$work/server.out" "$work/client.out" &&
        fail "data went through a connection that should have failed"
    note "the $who ($impl) refused, saying: $(grep -hE -m1 -- "$re" "$work/$who.out" \
        "$work/$who.err" | head -n 1)"
    stop_server
    if [ "$server_impl" = tern ]; then
        [ "$server_status" = 0 ] || fail "tern-server exited $server_status on SIGTERM"
    fi
}

# --expect-fail over-limit: the handshake must not complete, for want of tern's
# datagrams that the link dropped as too large.
expect_over_limit() {
    local from=down big
    [ "$tern_role" = client ] && from=up
    $impair_size || { echo "FAIL: --expect-fail over-limit needs --impair max-size=N"; exit 1; }
    wait_for "$client_hs_re" 4 "$client_pid" "$work/client.out" "$work/client.err" &&
        fail "the handshake completed through a link that drops tern's large datagrams"
    kill_tree "$client_pid"
    wait "$client_pid" 2> /dev/null || true
    client_pid=
    stop_impair
    big=$(impair_counter $from "dropped by size")
    [ "$big" -ge 1 ] || fail "tern-impair dropped no datagram from tern-$tern_role by size"
    note "the link dropped $big datagram(s) from tern-$tern_role as too large; no handshake"
    stop_server
    if [ "$server_impl" = tern ]; then
        [ "$server_status" = 0 ] || fail "tern-server exited $server_status on SIGTERM"
    fi
}

# ------------------------------------------------------------------ run
note "case: tern-$tern_role vs $peer${stand_in:+ (tern played by $stand_in)}"
start_server
note "server ($server_impl) ready on 127.0.0.1:$port"
start_impair
[ -n "$impair" ] && note "proxy ready on 127.0.0.1:$client_port"
start_client

if [ "$expect" = over-limit ]; then
    expect_over_limit
    echo "PASS (expected failure: $expect)"
    exit 0
elif [ -n "$expect" ]; then
    expect_failure
    echo "PASS (expected failure: $expect)"
    exit 0
fi

wait_for "$client_hs_re" "$hs_wait" "$client_pid" "$work/client.out" "$work/client.err" ||
    fail "the client ($client_impl) did not complete the handshake"
if [ "$server_impl" = openssl ]; then
    wait_for '^CIPHER is ' 5 "$server_pid" "$work/server.out" ||
        fail "openssl s_server did not complete the handshake"
    feed 7 "${server_lines[@]}"
    expect_back=("${server_lines[@]}")
else
    expect_back=("${client_lines[@]}")
fi
feed 8 "${client_lines[@]}"

# Everything the client should receive, then the end of its input.
end=$(($(ms) + 10000))
until all_lines_in "$work/client.out" "${expect_back[@]}"; do
    kill -0 "$client_pid" 2> /dev/null || break
    [ "$(ms)" -lt "$end" ] || break
    sleep 0.05
done
all_lines_in "$work/client.out" "${expect_back[@]}" ||
    fail "the client ($client_impl) did not receive: ${expect_back[*]}"
wait_client
[ "$client_status" = 0 ] || fail "the client ($client_impl) exited $client_status"
if [ "$server_impl" = openssl ]; then
    wait_for "${client_lines[2]}" 5 "$server_pid" "$work/server.out" || true
    all_lines_in "$work/server.out" "${client_lines[@]}" ||
        fail "openssl s_server did not receive: ${client_lines[*]}"
fi
if [ "$client_impl" = tern ]; then
    # An echo comes back as exactly the lines sent, one record each. openssl's lines
    # keep their "\n" (and two may share a record), so blank lines are not compared.
    if [ "$server_impl" = openssl ]; then
        got=$(grep -v '^$' "$work/client.out" || true)
        exp=$(printf '%s\n' "${server_lines[@]}")
    else
        got=$(cat "$work/client.out")
        exp=$(printf '%s\n' "${client_lines[@]}")
    fi
    [ "$got" = "$exp" ] ||
        fail "tern-client printed other bytes than the records it should have received"
fi
# tern-server prints its per-peer stats once the client's close_notify is in.
[ "$server_impl" = tern ] && { wait_for 'stats: ' 5 "$server_pid" "$work/server.err" || true; }
stop_server
if [ "$server_impl" = tern ]; then
    [ "$server_status" = 0 ] || fail "tern-server exited $server_status on SIGTERM"
    grep -q 'closed by the peer' "$work/server.err" ||
        fail "tern-server did not see the client's close_notify"
fi

stop_impair
check_negotiated "$client_impl" client
check_negotiated "$server_impl" server
[ "$client_impl" = tern ] && check_tern_stats client
[ "$server_impl" = tern ] && check_tern_stats server
note "negotiated: $(grep -hE '^handshake: |Cipher is |Description: ' "$work/client.out" \
    "$work/client.err" | head -n 1)"
echo PASS
