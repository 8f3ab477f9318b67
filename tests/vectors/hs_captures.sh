#!/usr/bin/env bash
# Regenerate hs_captures.vec: real DTLS 1.2 handshakes between OpenSSL / GnuTLS peers
# over loopback UDP, relayed through a tiny Python proxy that logs every datagram.
# The epoch-0 handshake messages are then cut out of the records (13-byte record
# header, 12-byte handshake header), fragments are reassembled, and each message body
# is written as one case. Needs openssl, gnutls-cli (gnutls-bin) and python3.
#   tests/vectors/hs_captures.sh > tests/vectors/hs_captures.vec
set -euo pipefail
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
cd "$tmp"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -days 2 -keyout k.pem -out c.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=client \
    -days 2 -keyout ck.pem -out cc.pem 2>/dev/null

cat > proxy.py <<'PY'
import socket, sys, select, time
lport, sport, logpath, secs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
ls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ls.bind(("127.0.0.1", lport))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); up.connect(("127.0.0.1", sport))
client, log, end = None, open(logpath, "w"), time.time() + secs
while time.time() < end:
    for s in select.select([ls, up], [], [], 0.2)[0]:
        if s is ls:
            d, client = ls.recvfrom(65536); log.write("c2s " + d.hex() + "\n"); up.send(d)
        else:
            d = up.recv(65536); log.write("s2c " + d.hex() + "\n")
            if client: ls.sendto(d, client)
    log.flush()
PY

# $1 log name, $2 server port, $3 proxy port, then the client command (connects to $3).
run() {
    local log=$1 sport=$2 pport=$3; shift 3
    openssl s_server -dtls1_2 -accept 127.0.0.1:$sport -cert c.pem -key k.pem \
        $SERVER_OPTS -quiet >/dev/null 2>&1 &
    local srv=$!
    python3 proxy.py $pport $sport $log 5 &
    local px=$!
    sleep 1
    (echo hello; sleep 2) | timeout 5 "$@" >/dev/null 2>&1 || true
    wait $px || true
    kill $srv 2>/dev/null || true
    wait $srv 2>/dev/null || true
}

SERVER_OPTS="-Verify 1 -CAfile cc.pem" run openssl.log 24433 24434 \
    openssl s_client -dtls1_2 -connect 127.0.0.1:24434 -servername localhost \
    -cert cc.pem -key ck.pem -CAfile c.pem
SERVER_OPTS="" run gnutls.log 24443 24444 \
    gnutls-cli --udp -p 24444 --x509cafile c.pem --verify-hostname localhost \
    --sni-hostname localhost 127.0.0.1

cat > extract.py <<'PY'
import sys
NAMES = {1: "client_hello", 2: "server_hello", 3: "hello_verify_request", 11: "certificate",
         12: "server_key_exchange", 13: "certificate_request", 14: "server_hello_done",
         15: "certificate_verify", 16: "client_key_exchange"}
def records(d):
    while d:
        typ, epoch, ln = d[0], int.from_bytes(d[3:5], "big"), int.from_bytes(d[11:13], "big")
        yield typ, epoch, d[13:13 + ln]
        d = d[13 + ln:]
peer, logpath = sys.argv[1], sys.argv[2]
msgs, order = {}, []
for line in open(logpath):
    dr, hx = line.split()
    for typ, epoch, frag in records(bytes.fromhex(hx)):
        if typ != 22 or epoch != 0:
            continue            # only the plaintext handshake
        while frag:
            t, L = frag[0], int.from_bytes(frag[1:4], "big")
            s, off = int.from_bytes(frag[4:6], "big"), int.from_bytes(frag[6:9], "big")
            fl = int.from_bytes(frag[9:12], "big")
            key = (dr, s, t)
            if key not in msgs:
                msgs[key] = [bytearray(L), []]; order.append(key)
            msgs[key][0][off:off + fl] = frag[12:12 + fl]
            msgs[key][1].append(frag[:12 + fl])
            frag = frag[12 + fl:]
for dr, s, t in order:
    if t not in NAMES:
        continue                # NewSessionTicket and the like
    body, frags = msgs[(dr, s, t)]
    print(f"peer={peer} dir={dr} msg={NAMES[t]} type={t} seq={s} body={body.hex()}")
    if len(frags) > 1:
        for f in frags:
            print(f"peer={peer} dir={dr} msg={NAMES[t]} type={t} seq={s} fragment={f.hex()}")
PY

echo "# Real DTLS 1.2 handshakes (epoch 0 only), produced by tests/vectors/hs_captures.sh:"
echo "# $(openssl version | cut -d' ' -f1-2) s_server with a throwaway P-256 certificate, against"
ossl=$(openssl version | cut -d' ' -f1-2)
echo "#   peer=openssl: $ossl s_client -dtls1_2 -servername localhost"
echo "#                 with a client certificate (the server ran with -Verify 1)"
echo "#   peer=gnutls:  $(gnutls-cli --version | head -1) --udp --sni-hostname localhost"
echo "# relayed by a Python UDP proxy that logged each datagram; the 13-byte record headers"
echo "# and 12-byte handshake headers are stripped and fragments reassembled into body=."
echo "# A message that arrived in several fragments is followed by one line per fragment"
echo "# (fragment= is the 12-byte handshake header and the fragment, as on the wire)."
echo "# seq is message_seq; dir is c2s (client to server) or s2c."
python3 extract.py openssl openssl.log
python3 extract.py gnutls gnutls.log
