/*
 * crypto.h - the crypto provider: every cryptographic operation tern's protocol
 * code performs, behind one interface.
 *
 * The protocol layers (record, flight, handshake, cookie) include this header and
 * nothing else of cryptography; src/crypto/openssl*.c implement it on OpenSSL 3
 * libcrypto and are the only files that include OpenSSL headers. Another backend
 * (Mbed TLS/PSA for microcontrollers) implements the same functions.
 *
 * Rules every backend keeps:
 *   - keyed objects (AEAD, record-number mask, key exchange, keys) are set up once
 *     and reused: sealing or opening a record allocates nothing and fetches nothing;
 *   - algorithm objects are fetched once per process, not per operation;
 *   - every object holding secret material wipes it when freed;
 *   - nothing here reads the clock (certificate verification takes the time as an
 *     argument) or does I/O, except the *_file and *_dir loaders, which read files;
 *   - functions return TERN_OK or a negative tern_err; on failure, output
 *     arguments are left unset unless documented otherwise;
 *   - all functions are safe to call from several threads on different objects;
 *     one object is used by one thread at a time.
 */
#ifndef TERN_CRYPTO_H
#define TERN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/tern.h"

/* ------------------------------------------------------------------ randomness */

/* Fill |out| with |len| random bytes from |rng|, or from the backend's CSPRNG when
 * |rng| is NULL. Errors: TERN_ERR_RNG. */
TERN_MUST_USE tern_err tern_random(const tern_rng *rng, uint8_t *out, size_t len);

/* Constant-time comparison of two |len|-byte buffers: true when equal. Use it for
 * every comparison of secrets, MACs and cookies. */
bool tern_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* Zero |len| bytes at |p| in a way the compiler does not remove. */
void tern_wipe(void *p, size_t len);

/* ------------------------------------------------------------------ hashes */

typedef enum tern_hash_alg {
    TERN_HASH_SHA256,
    TERN_HASH_SHA384,
} tern_hash_alg;

#define TERN_HASH_MAX_LEN 48   /* largest digest any tern_hash_alg produces */
#define TERN_HASH_MAX_BLOCK 128

/* Digest length in bytes (32, 48), or 0 for an unknown algorithm. */
size_t tern_hash_len(tern_hash_alg alg);

/* An incremental hash (for example the handshake transcript). Opaque. */
typedef struct tern_hash tern_hash;

/* Start a hash of algorithm |alg|; *out is the caller's, freed by tern_hash_free().
 * Errors: TERN_ERR_UNSUPPORTED, TERN_ERR_NOMEM, TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_hash_new(tern_hash_alg alg, tern_hash **out);

/* Add |len| bytes. Errors: TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_hash_update(tern_hash *h, const uint8_t *data, size_t len);

/* Write the digest of everything added so far to |out| (tern_hash_len bytes) and
 * leave |h| as it was, so more data can still be added (transcript snapshots).
 * Errors: TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_hash_peek(const tern_hash *h, uint8_t *out);

/* A new hash object in the same state as |h|. Errors: TERN_ERR_NOMEM, TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_hash_dup(const tern_hash *h, tern_hash **out);

/* The algorithm |h| was started with. */
tern_hash_alg tern_hash_alg_of(const tern_hash *h);

/* Free |h| (NULL is fine). */
void tern_hash_free(tern_hash *h);

/* One-shot digest of |data| into |out| (tern_hash_len bytes). */
TERN_MUST_USE tern_err tern_hash_once(tern_hash_alg alg, const uint8_t *data, size_t len,
                                      uint8_t *out);

/* ------------------------------------------------------------------ HMAC, HKDF, PRF */

/* One piece of a message given in several parts. */
typedef struct tern_iov {
    const uint8_t *data;
    size_t len;
} tern_iov;

/* HMAC-|alg| with |key| over the concatenation of |parts| (|nparts| of them) into
 * |out| (tern_hash_len bytes). Errors: TERN_ERR_UNSUPPORTED, TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_hmac(tern_hash_alg alg, const uint8_t *key, size_t keylen,
                                 const tern_iov *parts, size_t nparts, uint8_t *out);

/* HKDF-Extract (RFC 5869 §2.2): |out| gets tern_hash_len(alg) bytes. A NULL or
 * empty salt means a string of HashLen zeros. */
TERN_MUST_USE tern_err tern_hkdf_extract(tern_hash_alg alg, const uint8_t *salt, size_t saltlen,
                                         const uint8_t *ikm, size_t ikmlen, uint8_t *out);

/* HKDF-Expand (RFC 5869 §2.3): |outlen| bytes (at most 255 * HashLen, else
 * TERN_ERR_ARG) from pseudorandom key |prk| and |info|. */
TERN_MUST_USE tern_err tern_hkdf_expand(tern_hash_alg alg, const uint8_t *prk, size_t prklen,
                                        const uint8_t *info, size_t infolen, uint8_t *out,
                                        size_t outlen);

/* The TLS 1.2 PRF (RFC 5246 §5): P_<alg>(secret, label || seed), |outlen| bytes.
 * |label| is the ASCII label without a terminator. */
TERN_MUST_USE tern_err tern_tls12_prf(tern_hash_alg alg, const uint8_t *secret, size_t secretlen,
                                      const char *label, const uint8_t *seed, size_t seedlen,
                                      uint8_t *out, size_t outlen);

/* ------------------------------------------------------------------ AEAD */

typedef enum tern_aead_alg {
    TERN_AEAD_AES_128_GCM,
    TERN_AEAD_AES_256_GCM,
    TERN_AEAD_CHACHA20_POLY1305,
    TERN_AEAD_AES_128_CCM,
    TERN_AEAD_AES_128_CCM_8,
} tern_aead_alg;

#define TERN_AEAD_NONCE_LEN 12   /* every tern_aead_alg uses a 96-bit nonce */
#define TERN_AEAD_MAX_KEY_LEN 32
#define TERN_AEAD_MAX_TAG_LEN 16

size_t tern_aead_key_len(tern_aead_alg alg);  /* 16 or 32; 0 if unknown */
size_t tern_aead_tag_len(tern_aead_alg alg);  /* 16, or 8 for CCM_8; 0 if unknown */

/* An AEAD keyed once (per epoch and direction). Opaque. */
typedef struct tern_aead tern_aead;

/* Key an AEAD of |alg| with |key| (tern_aead_key_len bytes); *out is the caller's,
 * freed with tern_aead_free(). Errors: TERN_ERR_UNSUPPORTED, TERN_ERR_NOMEM,
 * TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_aead_new(tern_aead_alg alg, const uint8_t *key, tern_aead **out);

/* Encrypt |len| bytes of |in| with |nonce| (12 bytes) and additional data |aad|,
 * writing len + tag_len bytes (ciphertext then tag) to |out|. |in| == |out| is
 * allowed (in place); other overlaps are not. No allocation.
 * Errors: TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_aead_seal(tern_aead *a, const uint8_t *nonce, const uint8_t *aad,
                                      size_t aadlen, const uint8_t *in, size_t len, uint8_t *out);

/* Decrypt and authenticate |len| bytes of |in| (ciphertext then tag) into |out|,
 * which receives len - tag_len bytes (*outlen). |in| == |out| is allowed. On any
 * failure nothing of the plaintext is to be trusted (the backend may have written
 * to |out|). Errors: TERN_ERR_BAD_MAC (short input or tag mismatch), TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_aead_open(tern_aead *a, const uint8_t *nonce, const uint8_t *aad,
                                      size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
                                      size_t *outlen);

tern_aead_alg tern_aead_alg_of(const tern_aead *a);

/* DTLS 1.2 records in one call, for backends that can build the record nonce
 * themselves (OpenSSL's TLS record mode); tern_aead_seal/open are the reference.
 * Both work in place on a record's fragment, with the 13-byte additional data
 * |aad| of RFC 5246 §6.2.3.3 (seq_num, type, version, plaintext length) and |iv|,
 * the write IV of the key block (4 bytes for AES-GCM, 12 for ChaCha20-Poly1305):
 *   AES-GCM (RFC 5288 §3): fragment = nonce_explicit(8) || text || tag(16), the
 *     nonce salt(4) || nonce_explicit; for sealing the caller has written
 *     nonce_explicit already (any value, as long as it never repeats under a key);
 *   ChaCha20-Poly1305 (RFC 7905 §2): fragment = text || tag(16), the nonce |iv|
 *     xor the 64-bit seq_num of |aad|.
 * tern_aead_seal12 encrypts the |len| bytes of text after any nonce_explicit and
 * writes the tag after them. tern_aead_open12 checks and decrypts the |len|-byte
 * fragment; the plaintext (*ptlen bytes) is then at frag + nonce_explicit length.
 * No allocation. |iv| must be the same on every call with one |a|.
 * Errors: TERN_ERR_UNSUPPORTED (not available for this algorithm or backend: use
 * tern_aead_seal/open), TERN_ERR_BAD_MAC (open: too short or authentication
 * failed; the fragment is then not to be trusted), TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_aead_seal12(tern_aead *a, const uint8_t *iv, const uint8_t aad[13],
                                        uint8_t *frag, size_t len);
TERN_MUST_USE tern_err tern_aead_open12(tern_aead *a, const uint8_t *iv, const uint8_t aad[13],
                                        uint8_t *frag, size_t len, size_t *ptlen);

/* Wipe and free |a| (NULL is fine). */
void tern_aead_free(tern_aead *a);

/* Record-number encryption for DTLS 1.3 (RFC 9147 §4.2.3): a cipher keyed once with
 * sn_key, producing a 16-byte mask from a 16-byte ciphertext sample. For the AES
 * AEADs (GCM and CCM) mask = AES-ECB(sn_key, sample); for ChaCha20-Poly1305,
 * mask = ChaCha20(sn_key, counter = sample[0..3] little-endian, nonce = sample[4..15])
 * applied to zeros. Errors as for tern_aead_new / TERN_ERR_CRYPTO. */
typedef struct tern_snmask tern_snmask;
TERN_MUST_USE tern_err tern_snmask_new(tern_aead_alg alg, const uint8_t *sn_key,
                                       tern_snmask **out);
TERN_MUST_USE tern_err tern_snmask_apply(tern_snmask *m, const uint8_t sample[16],
                                         uint8_t mask[16]);
void tern_snmask_free(tern_snmask *m);

/* ------------------------------------------------------------------ key exchange */

/* Named groups, by their IANA TLS codepoints. */
typedef enum tern_group {
    TERN_GROUP_SECP256R1 = 23,
    TERN_GROUP_SECP384R1 = 24,
    TERN_GROUP_X25519 = 29,
} tern_group;

#define TERN_KEX_MAX_SHARE_LEN 97   /* uncompressed P-384 point */
#define TERN_KEX_MAX_SECRET_LEN 48

/* Length of a public share on the wire: 32 (X25519), 65 (P-256 uncompressed),
 * 97 (P-384 uncompressed); 0 if unknown. */
size_t tern_kex_share_len(tern_group g);

/* An ephemeral key pair. Opaque. */
typedef struct tern_kex tern_kex;

/* Generate a key pair on |g|, drawing the private key from |rng| (NULL: CSPRNG),
 * so a seeded rng gives reproducible shares. *out is the caller's.
 * Errors: TERN_ERR_UNSUPPORTED, TERN_ERR_RNG, TERN_ERR_NOMEM, TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_kex_new(tern_group g, const tern_rng *rng, tern_kex **out);

/* Our public share, as sent on the wire (X25519: 32 raw bytes; NIST curves: the
 * uncompressed point 0x04 || X || Y). Errors: TERN_ERR_BUF. */
TERN_MUST_USE tern_err tern_kex_public(const tern_kex *k, uint8_t *out, size_t cap,
                                       size_t *outlen);

/* The shared secret with the peer's share |peer| (X25519: 32 bytes; NIST curves:
 * the X coordinate, 32 or 48 bytes). The peer's share is checked first: wrong
 * length, not uncompressed, not on the curve, the point at infinity, or an X25519
 * result of all zeros each give TERN_ERR_BAD_SHARE. Other errors: TERN_ERR_BUF,
 * TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_kex_derive(const tern_kex *k, const uint8_t *peer, size_t peerlen,
                                       uint8_t *out, size_t cap, size_t *outlen);

tern_group tern_kex_group(const tern_kex *k);

/* Wipe and free |k| (NULL is fine). */
void tern_kex_free(tern_kex *k);

/* ------------------------------------------------------------------ signatures */

/* Signature schemes, by their IANA TLS codepoints. In TLS 1.2 the ECDSA codepoints
 * name the hash only (any curve); in TLS 1.3 they also fix the curve. */
typedef enum tern_sigscheme {
    TERN_SIG_RSA_PKCS1_SHA256 = 0x0401,
    TERN_SIG_RSA_PKCS1_SHA384 = 0x0501,
    TERN_SIG_RSA_PKCS1_SHA512 = 0x0601,
    TERN_SIG_ECDSA_SECP256R1_SHA256 = 0x0403,
    TERN_SIG_ECDSA_SECP384R1_SHA384 = 0x0503,
    TERN_SIG_RSA_PSS_RSAE_SHA256 = 0x0804,
    TERN_SIG_RSA_PSS_RSAE_SHA384 = 0x0805,
    TERN_SIG_RSA_PSS_RSAE_SHA512 = 0x0806,
    TERN_SIG_ED25519 = 0x0807,
} tern_sigscheme;

#define TERN_SIG_MAX_LEN 512   /* RSA-4096 */

typedef enum tern_key_type {
    TERN_KEY_NONE,
    TERN_KEY_EC_P256,
    TERN_KEY_EC_P384,
    TERN_KEY_RSA,
    TERN_KEY_ED25519,
} tern_key_type;

/* A private key, or a public key taken from a certificate. Opaque. */
typedef struct tern_pkey tern_pkey;

/* Parse a private key in PEM (PKCS#8, "EC PRIVATE KEY", "RSA PRIVATE KEY") or DER
 * (PKCS#8) from |data|. *out is the caller's. Errors: TERN_ERR_BAD_KEY,
 * TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_pkey_parse_private(const uint8_t *data, size_t len, tern_pkey **out);

/* Read a private key file (PEM or DER). Errors: TERN_ERR_IO, as above. */
TERN_MUST_USE tern_err tern_pkey_load_private(const char *path, tern_pkey **out);

/* Generate a new private key of |type| (RSA: 2048 bits). Errors: TERN_ERR_UNSUPPORTED,
 * TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_pkey_generate(tern_key_type type, tern_pkey **out);

/* Type of |k|, and its size in bits (256, 384, RSA modulus bits, 255 for Ed25519). */
tern_key_type tern_pkey_type(const tern_pkey *k);
unsigned tern_pkey_bits(const tern_pkey *k);

/* Whether |k| can sign or verify with |scheme| (key type matches; RSA-PSS needs a
 * modulus large enough for the salt; ECDSA's curve is NOT checked, as in TLS 1.2).*/
bool tern_pkey_supports(const tern_pkey *k, tern_sigscheme scheme);

/* Sign the message |msg| (the whole message: the scheme hashes it) with private key
 * |k| under |scheme| into |sig| (*siglen bytes). RSA-PSS uses a salt as long as
 * the hash (RFC 8446 §4.2.3); ECDSA signatures are DER (as TLS sends them).
 * Errors: TERN_ERR_CERT_KEY (scheme does not fit the key, or |k| is a public key),
 * TERN_ERR_BUF, TERN_ERR_CRYPTO. */
TERN_MUST_USE tern_err tern_sign(const tern_pkey *k, tern_sigscheme scheme, const uint8_t *msg,
                                 size_t len, uint8_t *sig, size_t cap, size_t *siglen);

/* Verify |sig| over |msg| with public key |k| under |scheme|.
 * Errors: TERN_ERR_BAD_SIGNATURE, TERN_ERR_CERT_KEY. */
TERN_MUST_USE tern_err tern_verify(const tern_pkey *k, tern_sigscheme scheme, const uint8_t *msg,
                                   size_t len, const uint8_t *sig, size_t siglen);

/* Free |k|, wiping private material (NULL is fine). */
void tern_pkey_free(tern_pkey *k);

/* ------------------------------------------------------------------ certificates */

/* One DER certificate. */
typedef struct tern_der {
    const uint8_t *data;
    size_t len;
} tern_der;

/* A certificate chain as TLS sends it: leaf first, each certificate DER. A chain
 * filled by tern_chain_parse/load/self_signed owns its memory (free it with
 * tern_chain_clear); a chain the caller builds may point into a received message,
 * for tern_chain_verify, and is then not cleared. */
typedef struct tern_chain {
    tern_der *certs;
    size_t count;
} tern_chain;

/* Parse every "CERTIFICATE" PEM block in |pem| (|len| bytes), in order, into
 * |chain| (which the caller then owns and clears with tern_chain_clear()). A DER
 * certificate (not PEM) is accepted as a chain of one.
 * Errors: TERN_ERR_CERT_PARSE (no certificate, or one that does not parse),
 * TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_chain_parse(const uint8_t *pem, size_t len, tern_chain *chain);

/* Read a chain file (PEM or DER). Errors: TERN_ERR_IO, as above. */
TERN_MUST_USE tern_err tern_chain_load(const char *path, tern_chain *chain);

/* Free the certificates of |chain| and zero it. */
void tern_chain_clear(tern_chain *chain);

/* Make a self-signed certificate for |key| with subject CN |common_name| (also put
 * in subjectAltName as a DNS name, or as an iPAddress when it is an IP address
 * literal), valid from now - 1 h for |days| days, with a
 * random serial number, signed with SHA-256 (Ed25519: pure). Writes a chain of one.
 * Errors: TERN_ERR_CRYPTO, TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_cert_self_signed(const tern_pkey *key, const char *common_name,
                                             unsigned days, tern_chain *chain);

/* The public key of certificate |der|. Errors: TERN_ERR_CERT_PARSE, TERN_ERR_BAD_KEY. */
TERN_MUST_USE tern_err tern_cert_public_key(const uint8_t *der, size_t len, tern_pkey **out);

/* SHA-256 of the DER certificate (the fingerprint WebRTC and pinning use). */
TERN_MUST_USE tern_err tern_cert_fingerprint(const uint8_t *der, size_t len, uint8_t out[32]);

/* A set of trusted CA certificates. Opaque. It also keeps the last few certificates
 * tern_chain_verify() parsed (by their exact DER bytes, behind a lock), so a chain
 * seen again is not parsed again; it is still verified in full. */
typedef struct tern_trust tern_trust;

TERN_MUST_USE tern_err tern_trust_new(tern_trust **out);
/* Add every certificate in PEM (or one DER) |data|. Errors: TERN_ERR_CERT_PARSE. */
TERN_MUST_USE tern_err tern_trust_add(tern_trust *t, const uint8_t *data, size_t len);
/* Add a CA file, or a directory of PEM files (every regular file in it that
 * parses). Errors: TERN_ERR_IO, TERN_ERR_CERT_PARSE. */
TERN_MUST_USE tern_err tern_trust_add_file(tern_trust *t, const char *path);
TERN_MUST_USE tern_err tern_trust_add_dir(tern_trust *t, const char *path);
void tern_trust_free(tern_trust *t);

/* Verify |chain| (leaf first, as received) against |trust| at time |now_unix|
 * (seconds since 1970; 0 means the backend's current time), and when |host| is
 * not NULL, check that the leaf matches it (DNS name in subjectAltName, or an IP
 * address literal against an iPAddress entry). On success, *leaf_key (if not NULL)
 * gets the leaf's public key, owned by the caller.
 * Errors: TERN_ERR_CERT_PARSE, TERN_ERR_CERT_UNTRUSTED, TERN_ERR_CERT_EXPIRED,
 * TERN_ERR_CERT_NAME, TERN_ERR_NOMEM; TERN_ERR_CERT_KEY when the chain verifies but
 * *leaf_key was asked for and the leaf's key is of a type tern does not use. */
TERN_MUST_USE tern_err tern_chain_verify(const tern_trust *trust, const tern_chain *chain,
                                         const char *host, uint64_t now_unix,
                                         tern_pkey **leaf_key);

#endif /* TERN_CRYPTO_H */
