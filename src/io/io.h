/*
 * io.h - the inside of tern_endpoint and tern_assoc (see tern_io.h for the public
 * side), shared by endpoint.c (datagrams, timers, life cycle), blocking.c (the
 * blocking calls) and sock.c (sockets and addresses).
 */
#ifndef TERN_IO_IO_H
#define TERN_IO_IO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "io/batch.h"
#include "io/demux.h"
#include "io/timers.h"
#include "tern/tern.h"
#include "tern/tern_io.h"

/* Which list an association's q_prev / q_next link it into. */
enum {
    TERN_ASSOC_Q_NONE,
    TERN_ASSOC_Q_ACCEPT, /* the endpoint's accept queue (the endpoint owns it) */
    TERN_ASSOC_Q_READY,  /* the ready list (the caller owns it) */
};

struct tern_assoc {
    tern_endpoint *ep; /* NULL once detached by tern_endpoint_free */
    tern_conn *c;
    tern_demux_key key; /* the peer's address; the map points at it */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    tern_timer timer;

    tern_assoc *all_prev, *all_next; /* every association of the endpoint */
    tern_assoc *q_prev, *q_next;     /* accept queue or ready list */
    uint8_t q;                       /* TERN_ASSOC_Q_* */

    /* RFC 6347 §4.2.8: a new handshake from the address of an established one. */
    tern_assoc *successor, *predecessor;

    bool server;    /* made by the front door */
    bool app_owned; /* the caller's: connected, accepted */
    bool in_map;
    bool established_seen; /* its handshake completed */
    bool counted_hs;       /* in ep->n_handshakes */
    bool counted;          /* in ep->n_assocs */
    uint8_t random[32];    /* server: the random of the ClientHello it was made from */

    tern_assoc_end end;
    uint64_t last_rx;
    tern_assoc_stats st;
    void *user;
    tern_endpoint *owned_ep; /* tern_dial: the private endpoint, freed with it */
};

typedef struct tern_assoc_list {
    tern_assoc *head, *tail;
    size_t count;
} tern_assoc_list;

struct tern_endpoint {
    tern_config *cfg;
    tern_endpoint_opts opt;
    int fd;
    int family;      /* of the socket: AF_INET or AF_INET6 */
    bool connected;  /* tern_dial: connect()ed to its one peer */
    bool refused;    /* ECONNREFUSED seen on the connected socket */
    bool in_process; /* datagrams wait for the end of tern_endpoint_process */
    bool corked;     /* ... or for the end of a tern_endpoint_run round */
    uint64_t now;    /* the latest time seen: time never runs backwards */

    tern_batch io;
    tern_demux map;
    tern_timers timers;
    size_t n_timed; /* associations with room reserved in |timers| */

    tern_assoc *all;
    tern_assoc_list accept_q, ready;
    size_t n_assocs, n_handshakes;

    uint8_t *scratch; /* a datagram copy, for a peer with two associations */

    volatile sig_atomic_t stop;
    int wake[2]; /* self-pipe of tern_endpoint_run, made on first use */

    void (*event_cb)(void *ctx, tern_endpoint_event ev, const tern_assoc *a,
                     const struct sockaddr *peer, socklen_t peerlen);
    void *event_ctx;

    tern_endpoint_stats st;
};

/* For tern calls whose failure is read back from the connection's state, where
 * one place acts on it (a fatal error is sticky): the result is not needed. */
static inline void tern_io_via_state(tern_err err)
{
    (void)err;
}

/* ---- endpoint.c ---- */

/* |now| unless the endpoint has seen a later time. */
uint64_t tern_io_time(tern_endpoint *ep, uint64_t now);

/* Send what is queued, unless a round of tern_endpoint_process or run is under
 * way (it sends at its end); then act on a refused connected socket. */
void tern_io_flush(tern_endpoint *ep);

/* Queue |a|'s datagrams, act on its state, re-arm its timer. */
void tern_io_assoc_update(tern_assoc *a);

/* ---- sock.c ---- */

/* The map key of a peer address: family, port, address (and the scope of an IPv6
 * one); an IPv4-mapped IPv6 address gives the IPv4 key. False for other families. */
bool tern_io_addr_key(const struct sockaddr *sa, socklen_t len, tern_demux_key *k);

/* |sa| as a socket of |family| sends to it (IPv4 becomes IPv4-mapped IPv6 on an
 * AF_INET6 socket). False when it cannot be reached from such a socket. */
bool tern_io_addr_for(int family, const struct sockaddr *sa, socklen_t len,
                      struct sockaddr_storage *out, socklen_t *outlen);

/* A non-blocking, close-on-exec UDP socket bound as |o| says; its family in
 * *family. Returns the fd, or -1 with *err (TERN_ERR_ARG, TERN_ERR_IO) and errno. */
int tern_io_socket(const tern_endpoint_opts *o, int *family, tern_err *err);

/* Set O_NONBLOCK and FD_CLOEXEC. False with errno. */
bool tern_io_fd_flags(int fd);

#endif
