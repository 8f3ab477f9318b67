/*
 * echo_client.c - send one message to a DTLS echo server and print the answer.
 *
 *     example-echo-client HOST PORT CA.pem [MESSAGE]
 *
 * This is the blocking way to use tern: tern_dial() opens a UDP socket and starts
 * the DTLS handshake, and every call after it waits (up to a timeout) for what it
 * needs. tern does the rest for you: retransmitting lost handshake messages,
 * keeping to the MTU, checking the server's certificate against CA.pem and its
 * name against HOST.
 *
 * Try it with example-echo-server, or `tern-server --echo`, in another terminal:
 *     example-echo-server 4433 tests/data/pki/leaf-ecdsa-chain.pem tests/data/pki/leaf-ecdsa.key
 *     example-echo-client localhost 4433 tests/data/pki/root-ca.pem "hello"
 */
#include <stdio.h>
#include <string.h>

#include <tern/tern.h>    /* configs, connections, errors */
#include <tern/tern_io.h> /* sockets: tern_dial and the association calls */

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT CA.pem [MESSAGE]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *ca = argv[3];
    const char *message = argc == 5 ? argv[4] : "hello, DTLS";

    /* 1. A config holds what connections share. A client's default is to verify
     *    the server, so give it the CA that signed the server's certificate. */
    tern_config *cfg = tern_config_new();
    if (cfg == NULL || tern_config_load_ca_file(cfg, ca) != TERN_OK) {
        fprintf(stderr, "cannot load the CA file %s\n", ca);
        tern_config_free(cfg);
        return 1;
    }

    /* 2. Dial: resolve HOST, open a socket, send the ClientHello. HOST is also
     *    the name the server's certificate must carry. */
    tern_err err;
    tern_assoc *a = tern_dial(cfg, host, port, host, &err);
    tern_config_free(cfg); /* the association keeps its own reference */
    if (a == NULL) {
        fprintf(stderr, "cannot reach %s port %s: %s\n", host, port, tern_strerror(err));
        return 1;
    }

    /* 3. Wait up to 5 s for the handshake. On failure, tern says why (an
     *    untrusted certificate, a wrong name, no answer, ...). */
    err = tern_assoc_handshake(a, 5000);
    if (err != TERN_OK) {
        fprintf(stderr, "handshake failed: %s (%s)\n", tern_strerror(err),
                tern_assoc_end_name(tern_assoc_end_reason(a)));
        tern_assoc_free(a);
        return 1;
    }
    const tern_conn *c = tern_assoc_conn(a); /* read-only: what was negotiated */
    printf("connected: %s %s\n", tern_version_name(tern_conn_version(c)), tern_conn_suite_name(c));

    /* 4. One message out (one DTLS record, one datagram) ... */
    err = tern_assoc_write(a, (const uint8_t *)message, strlen(message), 1000);
    if (err != TERN_OK) {
        fprintf(stderr, "write: %s\n", tern_strerror(err));
        tern_assoc_free(a);
        return 1;
    }

    /* 5. ... and its echo back, waiting up to 5 s. Datagrams can be lost: a real
     *    program would send again after a timeout, as DTLS leaves that to you. */
    uint8_t buf[1500];
    size_t n;
    err = tern_assoc_read(a, buf, sizeof buf, &n, 5000);
    if (err != TERN_OK) {
        fprintf(stderr, "read: %s\n", tern_strerror(err));
        tern_assoc_free(a);
        return 1;
    }
    printf("echo: %.*s\n", (int)n, (const char *)buf);

    /* 6. Free closes politely (close_notify) and releases the socket. */
    tern_assoc_free(a);
    return 0;
}
