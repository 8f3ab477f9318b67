#!/bin/sh
# make.sh - regenerate the test PKI in this directory with the openssl CLI (3.0+).
#
# Every file here was made by this script (the rsa4096-* files by make-rsa4096.sh
# beside it); run it from anywhere:
#
#     sh tests/data/pki/make.sh
#
# Keys are random, so a new run changes every certificate: then update the expected
# leaf fingerprint in tests/unit/test_crypto_pk.c (the script prints it at the end).
#
# Validity is fixed, 2025-01-01 to 2125-01-01, so the tests never expire by
# themselves; expiry is tested by handing tern a verification time.
#
#   root-ca.pem / .key          root CA, ECDSA P-256, self-signed
#   int-ca.pem / .key           intermediate CA, ECDSA P-256, signed by root (pathlen 0)
#   leaf-ecdsa.pem / .key       ECDSA P-256 leaf "localhost": DNS:localhost, IP:127.0.0.1
#   leaf-rsa.pem / .key         RSA-2048 leaf "localhost": DNS:localhost, IP:127.0.0.1
#   leaf-ed25519.pem / .key     Ed25519 leaf "localhost": DNS:localhost, IP:127.0.0.1
#   *-chain.pem                 leaf then intermediate, as a server sends them
#   other-root-ca.pem / .key    an unrelated root CA, ECDSA P-256
#   other-leaf.pem / .key       ECDSA P-256 leaf "localhost" signed by the other root
#   p384.key                    an ECDSA P-384 key (no certificate)
#   leaf-ecdsa.der              leaf-ecdsa.pem in DER
#   leaf-ecdsa.key.der          leaf-ecdsa.key as DER PKCS#8
#   leaf-ecdsa.trad.key         leaf-ecdsa.key as "EC PRIVATE KEY" (SEC 1)
#   leaf-rsa.trad.key           leaf-rsa.key as "RSA PRIVATE KEY" (PKCS#1)
#
# Private keys (*.key) are PKCS#8 PEM, unencrypted. These keys are public test data:
# never use them for anything else.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

start=20250101000000Z
end=21250101000000Z

cat > ca.cnf <<'EOF'
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

[ v3_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth, clientAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf_rsa ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth, clientAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF
mkdir certs
: > index.txt
echo 01 > serial

p256() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

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

p256 root-ca.key
sign root-ca "tern test root CA" self "" v3_root

p256 int-ca.key
sign int-ca "tern test intermediate CA" root-ca.pem root-ca.key v3_int

p256 leaf-ecdsa.key
sign leaf-ecdsa localhost int-ca.pem int-ca.key v3_leaf

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf-rsa.key \
    2> /dev/null
sign leaf-rsa localhost int-ca.pem int-ca.key v3_leaf_rsa

openssl genpkey -algorithm ED25519 -out leaf-ed25519.key
sign leaf-ed25519 localhost int-ca.pem int-ca.key v3_leaf

p256 other-root-ca.key
sign other-root-ca "tern test other root CA" self "" v3_root

p256 other-leaf.key
sign other-leaf localhost other-root-ca.pem other-root-ca.key v3_leaf

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key

for leaf in leaf-ecdsa leaf-rsa leaf-ed25519; do
    cat $leaf.pem int-ca.pem > $leaf-chain.pem
done

openssl x509 -in leaf-ecdsa.pem -outform DER -out leaf-ecdsa.der
openssl pkcs8 -topk8 -nocrypt -in leaf-ecdsa.key -outform DER -out leaf-ecdsa.key.der
openssl ec -in leaf-ecdsa.key -out leaf-ecdsa.trad.key 2> /dev/null
openssl rsa -traditional -in leaf-rsa.key -out leaf-rsa.trad.key 2> /dev/null

# The chains must verify as they are meant to before anything is kept.
openssl verify -CAfile root-ca.pem -untrusted int-ca.pem leaf-ecdsa.pem leaf-rsa.pem \
    leaf-ed25519.pem > /dev/null
openssl verify -CAfile other-root-ca.pem other-leaf.pem > /dev/null

cp root-ca.pem root-ca.key int-ca.pem int-ca.key \
   leaf-ecdsa.pem leaf-ecdsa.key leaf-rsa.pem leaf-rsa.key \
   leaf-ed25519.pem leaf-ed25519.key \
   leaf-ecdsa-chain.pem leaf-rsa-chain.pem leaf-ed25519-chain.pem \
   other-root-ca.pem other-root-ca.key other-leaf.pem other-leaf.key p384.key \
   leaf-ecdsa.der leaf-ecdsa.key.der leaf-ecdsa.trad.key leaf-rsa.trad.key "$here"/

echo "leaf-ecdsa.pem fingerprint (for tests/unit/test_crypto_pk.c):"
openssl x509 -in "$here/leaf-ecdsa.pem" -noout -fingerprint -sha256
