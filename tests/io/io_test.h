/*
 * io_test.h - helpers for the endpoint tests: configs with the test PKI, an echo
 * server driven step by step, and a "raw" client (one tern_conn over a plain UDP
 * socket) for what the endpoint's own client cannot do on purpose: move to
 * another port, start over on the same port, replay a datagram.
 */
#ifndef TERN_IO_TEST_H
#define TERN_IO_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tern/tern.h"
#include "tern/tern_io.h"

#define IO_TEST_MAX_ACCEPTED 1024

/* A server config with tests/data/pki/leaf-ecdsa (chain and key); NULL on error. */
tern_config *io_server_cfg(void);
/* A client config trusting tests/data/pki/root-ca.pem; NULL on error. */
tern_config *io_client_cfg(void);

/* The endpoint's port, and its address as 127.0.0.1 / ::1 for clients. */
uint16_t io_port(const tern_endpoint *ep);
socklen_t io_loopback(const tern_endpoint *ep, bool v6, struct sockaddr_storage *out);

/* An echo server on an endpoint: each round accepts and echoes every record. */
typedef struct io_echo {
    tern_endpoint *ep;
    tern_assoc *accepted[IO_TEST_MAX_ACCEPTED];
    size_t n_accepted;
    size_t echoed;
} io_echo;

/* One round: process (at |now|, or the clock when 0), accept, echo. */
void io_echo_step(io_echo *s, uint64_t now);
/* Free the accepted associations (not the endpoint). */
void io_echo_clear(io_echo *s);

/* Run the echo server and process |clients| (may be NULL) for |ms| or until
 * |done(ctx)| is true; returns done's last answer. Sleeps in poll, bounded. */
bool io_pump(io_echo *s, tern_endpoint **clients, size_t n, int ms, bool (*done)(void *ctx),
             void *ctx);

/* A raw client: a tern_conn over its own UDP socket. */
typedef struct io_raw {
    int fd;
    struct sockaddr_storage server;
    socklen_t serverlen;
    tern_conn *c;
    uint8_t last_sent[2048]; /* the last datagram it sent */
    size_t last_sent_len;
    uint8_t rx[16][2048]; /* the first 16 datagrams received (copies) */
    size_t rx_len[16];
    size_t n_rx; /* datagrams received in all */
    bool mute;   /* io_raw_step receives but does not send */
} io_raw;

/* Open a raw client's socket on 127.0.0.1 (|port| 0: any) towards the endpoint.
 * False on error. */
bool io_raw_open(io_raw *r, const tern_endpoint *server, uint16_t port);
/* Close the socket (not the conn). */
void io_raw_close_socket(io_raw *r);
/* Start a new client conn (any previous one is freed). */
bool io_raw_start(io_raw *r, tern_config *cfg);
/* Send what the conn has; receive what arrived and feed it; tick. */
void io_raw_step(io_raw *r);
/* The local port. */
uint16_t io_raw_port(const io_raw *r);
void io_raw_free(io_raw *r);

/* Pump the echo server and raw clients until |done| or |ms|. */
bool io_pump_raw(io_echo *s, io_raw **raws, size_t n, int ms, bool (*done)(void *ctx), void *ctx);

/* Bytes of heap in use now (mallinfo2, or ASan's count under ASan). */
size_t io_heap_in_use(void);

#endif
