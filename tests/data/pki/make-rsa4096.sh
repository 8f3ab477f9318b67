#!/bin/sh
# make-rsa4096.sh - a large certificate chain for the bad-network simulations
# (tests/sim): three RSA-4096 certificates, root, intermediate and leaf, so the
# server's Certificate message is over 3 KB and must be fragmented at every MTU.
# Made with the openssl CLI (3.0+); run it from anywhere:
#
#     sh tests/data/pki/make-rsa4096.sh
#
# Validity as in make.sh: 2025-01-01 to 2125-01-01.
#
#   rsa4096-root-ca.pem          root CA, RSA-4096, self-signed (the trust anchor)
#   rsa4096-leaf.pem / .key      RSA-4096 leaf "localhost": DNS:localhost, IP:127.0.0.1,
#                                signed by an RSA-4096 intermediate
#   rsa4096-chain.pem            leaf, intermediate and root: what the server sends
#                                (the root included on purpose, to pass 3 KB)
#
# The CA keys are thrown away. Keys are public test data: never use them elsewhere.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

start=20250101000000Z
end=21250101000000Z

cat > ca.cnf <<'CNF'
[ ca ]
default_ca = tern_ca

[ tern_ca ]
dir             = .
database        = ./index.txt
new_certs_dir   = ./certs
serial          = ./serial
default_md      = sha256
policy          = policy_any
copy_extensions = none
unique_subject  = no
email_in_dn     = no

[ policy_any ]
organizationName = optional
commonName       = supplied

[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ v3_int ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf_rsa ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth, clientAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CNF
mkdir certs
: > index.txt
echo 01 > serial

rsa4096() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$1" 2> /dev/null; }

# sign NAME CN ISSUER_CERT ISSUER_KEY EXTENSIONS   (ISSUER_CERT "self": self-signed)
sign() {
    openssl req -new -config ca.cnf -key "$1.key" -subj "/O=tern test PKI/CN=$2" -out "$1.csr"
    if [ "$3" = self ]; then
        openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" \
            -startdate $start -enddate $end -rand_serial -extensions "$5" -notext \
            -out "$1.pem" 2> /dev/null
    else
        openssl ca -batch -config ca.cnf -cert "$3" -keyfile "$4" -in "$1.csr" \
            -startdate $start -enddate $end -rand_serial -extensions "$5" -notext \
            -out "$1.pem" 2> /dev/null
    fi
}

rsa4096 rsa4096-root-ca.key
sign rsa4096-root-ca "tern test RSA-4096 root CA" self "" v3_root

rsa4096 rsa4096-int-ca.key
sign rsa4096-int-ca "tern test RSA-4096 intermediate CA" rsa4096-root-ca.pem \
    rsa4096-root-ca.key v3_int

rsa4096 rsa4096-leaf.key
sign rsa4096-leaf localhost rsa4096-int-ca.pem rsa4096-int-ca.key v3_leaf_rsa

cat rsa4096-leaf.pem rsa4096-int-ca.pem rsa4096-root-ca.pem > rsa4096-chain.pem

openssl verify -CAfile rsa4096-root-ca.pem -untrusted rsa4096-int-ca.pem rsa4096-leaf.pem \
    > /dev/null

cp rsa4096-root-ca.pem rsa4096-leaf.pem rsa4096-leaf.key rsa4096-chain.pem "$here"/

for f in rsa4096-leaf rsa4096-int-ca rsa4096-root-ca; do
    printf '%s: %s bytes DER\n' $f "$(openssl x509 -in $f.pem -outform DER | wc -c)"
done
