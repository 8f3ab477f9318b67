/*
 * tern_io.h - the POSIX endpoint: one UDP socket, many DTLS peers.
 *
 * tern_conn (tern.h) never touches a socket or a clock. A tern_endpoint is the
 * layer that does: it owns one UDP socket (IPv4 or IPv6), reads CLOCK_MONOTONIC,
 * and drives any number of associations over that socket:
 *
 *   - a datagram from an unknown address goes through the stateless front door
 *     (tern_server_hello): it is answered with a HelloVerifyRequest or dropped, and
 *     nothing is allocated for it; a tern_conn is made only once a ClientHello
 *     brings back a valid cookie;
 *   - every other datagram reaches its association by the peer's address (a hash
 *     map whose key can also be a Connection ID);
 *   - all retransmission, handshake and idle timers sit in one heap: the endpoint
 *     gives one fd and one deadline to a poll/epoll loop, and
 *     tern_endpoint_process() does what is due;
 *   - completed server handshakes wait in an accept queue; associations with news
 *     (data, end) wait in a ready list;
 *   - datagrams are read and sent in batches (recvmmsg/sendmmsg where available).
 *
 * The same endpoint makes client associations too (tern_endpoint_connect), and a
 * blocking convenience API (tern_dial, tern_assoc_handshake/read/write with
 * timeouts) serves simple programs.
 *
 * Two ways to drive an endpoint:
 *
 *     poll/epoll loop                          blocking
 *     ---------------                          --------
 *     fd = tern_endpoint_fd(ep);               a = tern_dial(cfg, "host", "4433",
 *     for (;;) {                                             "host", &err);
 *       poll(fd, tern_endpoint_timeout(ep,     tern_assoc_handshake(a, 5000);
 *            tern_endpoint_now()));            tern_assoc_write(a, msg, len, 1000);
 *       tern_endpoint_process(ep,              tern_assoc_read(a, buf, sizeof buf,
 *            tern_endpoint_now());                             &n, 5000);
 *       while ((a = tern_endpoint_accept(ep)))  tern_assoc_free(a);
 *         ...new peer...
 *       while ((a = tern_endpoint_ready(ep)))
 *         ...tern_assoc_read until AGAIN...
 *     }
 *
 * Ownership. An association made by tern_endpoint_connect() or tern_dial(), or
 * returned by tern_endpoint_accept(), belongs to the caller until
 * tern_assoc_free(). Every other association (handshakes in progress, completed
 * ones not yet accepted) belongs to the endpoint. The endpoint never frees one of
 * the caller's associations: when it ends one (idle timeout, the peer's
 * close_notify or fatal alert, a restart of the peer) it only marks it ended and
 * reports it through tern_endpoint_ready().
 *
 * Threads: an endpoint and its associations are used by one thread at a time.
 * Several endpoints on one port (opts.reuseport), one per thread, share the load;
 * they must share one tern_config (its cookie secret) or the same cookie secret.
 *
 * Time: every "now" here is milliseconds of CLOCK_MONOTONIC as tern_endpoint_now()
 * returns it. An endpoint never lets time run backwards: a |now| older than one it
 * has seen is taken as that one.
 */
#ifndef TERN_IO_H
#define TERN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tern.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_endpoint tern_endpoint;
typedef struct tern_assoc tern_assoc;

/* ====================================================================== endpoint */

typedef struct tern_endpoint_opts {
    const char *bind;      /* numeric local address ("127.0.0.1", "::1", "::");
                              NULL: "::" for IPv4 and IPv6, or "0.0.0.0" on a host
                              without IPv6 */
    uint16_t port;         /* local UDP port; 0: any free port */
    bool accept;           /* answer ClientHellos from new peers (a server); when
                              false, datagrams from unknown addresses are dropped */
    bool reuseport;        /* SO_REUSEPORT: several endpoints on one port */
    bool v6only;           /* with an IPv6 bind address: IPv6 peers only */
    size_t max_assocs;     /* associations at once; a proven ClientHello beyond
                              it is dropped and counted (limit_assocs) */
    size_t max_handshakes; /* server handshakes in progress at once (limit_handshakes) */
    uint32_t idle_ms;      /* an established association that receives nothing
                              for this long is closed (close_notify); 0: never */
    unsigned batch;        /* datagrams per recvmmsg/sendmmsg call (1..256) */
    size_t max_datagram;   /* largest datagram received; larger ones are dropped
                              and counted (truncated) */
    int rcvbuf, sndbuf;    /* SO_RCVBUF / SO_SNDBUF in bytes; 0: the system's */
} tern_endpoint_opts;

/* Fill |o| with the defaults: bind NULL, port 0, accept true, reuseport false,
 * v6only false, max_assocs 100000, max_handshakes 1000, idle_ms 600000 (10 min),
 * batch 32, max_datagram 65535, rcvbuf and sndbuf 0. Start from this and change
 * what you need, so that fields added later get their defaults. */
TERN_API void tern_endpoint_opts_init(tern_endpoint_opts *o);

/*
 * A new endpoint: a non-blocking UDP socket bound to opts->bind and opts->port,
 * and associations made from |cfg| (which the endpoint references; the caller may
 * free its own reference at once). Set |cfg| up first: its MTU sizes the send
 * buffers. |opts| is copied (not the bind string, which is used at once); NULL
 * means the defaults.
 * Returns NULL with *err (if |err| is not NULL): TERN_ERR_ARG (a bind address that
 * is not a numeric address, or an option out of range), TERN_ERR_NOMEM, TERN_ERR_RNG,
 * or TERN_ERR_IO when the socket could not be made or bound (errno says why, for
 * example EADDRINUSE).
 */
TERN_API tern_endpoint *tern_endpoint_new(tern_config *cfg, const tern_endpoint_opts *opts,
                                          tern_err *err);

/*
 * Close the socket and free the endpoint. Associations the endpoint owns are sent
 * close_notify (when established) and freed. The caller's associations are sent
 * close_notify too and end with TERN_END_SHUTDOWN; they stay valid (detached: no
 * I/O any more) until the caller frees them. NULL is fine.
 */
TERN_API void tern_endpoint_free(tern_endpoint *ep);

/* The socket, to watch for POLLIN / EPOLLIN (level-triggered). Owned by the
 * endpoint: do not read from it, close it or change its flags. */
TERN_API int tern_endpoint_fd(const tern_endpoint *ep);

/* The bound local address (its port when opts.port was 0) into |out| (|*len| in:
 * its size, out: the address's). Errors: TERN_ERR_IO (getsockname failed). */
TERN_API TERN_MUST_USE tern_err tern_endpoint_local_addr(const tern_endpoint *ep,
                                                         struct sockaddr_storage *out,
                                                         socklen_t *len);

/* Milliseconds of CLOCK_MONOTONIC: the clock every endpoint runs on. */
TERN_API uint64_t tern_endpoint_now(void);

/* When tern_endpoint_process() has a timer to run (retransmission, handshake
 * timeout, idle timeout), in tern_endpoint_now() time; UINT64_MAX when none. */
TERN_API uint64_t tern_endpoint_deadline(const tern_endpoint *ep);

/* The same as a poll()/epoll_wait() timeout from |now|: milliseconds (rounded
 * up, at most INT_MAX), 0 when a timer is due, -1 when there is none. */
TERN_API int tern_endpoint_timeout(const tern_endpoint *ep, uint64_t now);

/*
 * Do everything due at |now| (pass tern_endpoint_now()) without blocking: read the
 * datagrams waiting on the socket (at most a few batches, so timers get their
 * turn: a socket still readable afterwards stays readable for poll), feed them to
 * the front door or their association, run due timers, and send what results.
 * Afterwards see tern_endpoint_accept() and tern_endpoint_ready().
 * Returns TERN_OK; TERN_ERR_IO when the socket failed in a way that will not go
 * away (errno says why); errors of single datagrams are counted, not returned.
 */
TERN_API TERN_MUST_USE tern_err tern_endpoint_process(tern_endpoint *ep, uint64_t now);

/* Block until a datagram arrives, a timer is due or |timeout_ms| passes (negative:
 * no limit), then tern_endpoint_process(). Returns TERN_OK, TERN_ERR_AGAIN when
 * the time ran out with nothing to do, or TERN_ERR_IO (poll failed; errno). */
TERN_API TERN_MUST_USE tern_err tern_endpoint_wait(tern_endpoint *ep, int timeout_ms);

/* The next completed server handshake, now the caller's (free it with
 * tern_assoc_free), or NULL. Records may already wait in it: read them. A
 * completed handshake that is not accepted before the idle timeout is closed. */
TERN_API tern_assoc *tern_endpoint_accept(tern_endpoint *ep);

/* The next of the caller's associations with news since it was last returned: a
 * completed client handshake, received records, or its end (tern_assoc_end()).
 * NULL when there is none. Read each one until TERN_ERR_AGAIN. */
TERN_API tern_assoc *tern_endpoint_ready(tern_endpoint *ep);

/*
 * Start a client association with the server at |addr| (|addrlen| bytes; an IPv4
 * address on an IPv6 endpoint is used as IPv4-mapped). |servername| (may be NULL)
 * is sent as SNI and checked against the certificate, as tern_conn_set_hostname().
 * The ClientHello leaves at once; the handshake then runs with the endpoint
 * (tern_endpoint_ready() reports its completion) or with tern_assoc_handshake().
 * The association is the caller's. Returns NULL with *err: TERN_ERR_ARG (bad
 * address or name), TERN_ERR_STATE (an association with that address exists),
 * TERN_ERR_NOMEM, or an error of tern_conn_start().
 */
TERN_API tern_assoc *tern_endpoint_connect(tern_endpoint *ep, const struct sockaddr *addr,
                                           socklen_t addrlen, const char *servername,
                                           tern_err *err);

/* Run a simple server or client: call on_accept for each completed server
 * handshake (the association is then the caller's) and on_ready for each
 * association with news, until tern_endpoint_stop(). Datagrams written from the
 * callbacks leave together after each round. Either callback may be NULL: an
 * accepted association is then freed at once, news ignored. Returns TERN_OK after
 * tern_endpoint_stop(), or TERN_ERR_IO. */
typedef struct tern_endpoint_handlers {
    void (*on_accept)(void *ctx, tern_assoc *a);
    void (*on_ready)(void *ctx, tern_assoc *a);
} tern_endpoint_handlers;

TERN_API TERN_MUST_USE tern_err tern_endpoint_run(tern_endpoint *ep,
                                                  const tern_endpoint_handlers *h, void *ctx);

/* Make tern_endpoint_run() return soon. Safe to call from a signal handler. */
TERN_API void tern_endpoint_stop(tern_endpoint *ep);

/* What the endpoint saw and did, for logs and tests. */
typedef enum tern_endpoint_event {
    TERN_EVENT_HANDSHAKE_FAILED, /* a handshake the endpoint owned failed (the peer's
                                    alert, ours, or its timeout); |a| is freed after
                                    the callback returns */
    TERN_EVENT_RESTART,          /* a peer with an established association started a
                                    new handshake from the same address (RFC 6347
                                    §4.2.8); |a| is the new one */
    TERN_EVENT_LIMIT,            /* a proven ClientHello was turned away at
                                    max_assocs or max_handshakes; |a| is NULL */
    TERN_EVENT_EXPIRED,          /* a completed handshake nobody accepted was closed
                                    for idleness, and is freed after the callback */
} tern_endpoint_event;

/* |cb| is called from the endpoint's calls with the event, the association it
 * concerns (read-only, valid during the call only; may be NULL) and the peer's
 * address. It must not call into the endpoint. NULL turns it off. */
TERN_API void tern_endpoint_set_event_cb(tern_endpoint *ep,
                                         void (*cb)(void *ctx, tern_endpoint_event ev,
                                                    const tern_assoc *a,
                                                    const struct sockaddr *peer, socklen_t peerlen),
                                         void *ctx);

typedef struct tern_endpoint_stats {
    uint64_t datagrams_in, datagrams_out;
    uint64_t recv_calls, send_calls; /* system calls: datagrams per call shows batching */
    uint64_t hello_replies;          /* HelloVerifyRequests sent (nothing kept) */
    uint64_t hello_dropped;          /* from unknown addresses: not a ClientHello, bad */
    uint64_t unknown_dropped;        /* from unknown addresses with opts.accept off */
    uint64_t assocs_created;         /* tern_conns made: proven cookies, connects */
    uint64_t handshakes_done, handshakes_failed;
    uint64_t restarts; /* new handshakes from an address in use */
    uint64_t replaced; /* associations replaced by a restart */
    uint64_t idle_closed;
    uint64_t limit_assocs, limit_handshakes; /* proven ClientHellos turned away */
    uint64_t send_dropped;                   /* datagrams the socket refused (buffer full) */
    uint64_t truncated;                      /* datagrams over opts.max_datagram */
    size_t assocs;                           /* now: associations (with handshakes) */
    size_t assocs_peak;                      /* the most there were at once */
    size_t handshakes;                       /* now: server handshakes in progress */
    size_t accept_queue;                     /* now: completed, not yet accepted */
} tern_endpoint_stats;

TERN_API void tern_endpoint_get_stats(const tern_endpoint *ep, tern_endpoint_stats *out);

/* ====================================================================== associations */

/* Why an association ended. */
typedef enum tern_assoc_end {
    TERN_END_NONE,        /* it has not */
    TERN_END_CLOSED,      /* close_notify, sent (tern_assoc_close) or received */
    TERN_END_FAILED,      /* the DTLS connection failed: tern_conn_error() on
                             tern_assoc_conn() says why */
    TERN_END_IDLE,        /* nothing received for opts.idle_ms (close_notify sent) */
    TERN_END_REPLACED,    /* the peer started over from the same address and the new
                             handshake completed (RFC 6347 §4.2.8) */
    TERN_END_UNREACHABLE, /* the system reported the peer unreachable (ICMP; only
                             on the connected socket of tern_dial) */
    TERN_END_SHUTDOWN,    /* the endpoint was freed */
} tern_assoc_end;

/*
 * Blocking client: resolve |host| and |port| (names or numbers), open a private
 * endpoint with a socket connected to the first address, and start the handshake
 * as tern_endpoint_connect() does (|servername| likewise). Then
 * tern_assoc_handshake() waits for it. tern_assoc_free() frees the endpoint too.
 * Returns NULL with *err: TERN_ERR_ARG (the name does not resolve), TERN_ERR_IO
 * (socket; errno), TERN_ERR_NOMEM, or an error of tern_endpoint_connect().
 */
TERN_API tern_assoc *tern_dial(tern_config *cfg, const char *host, const char *port,
                               const char *servername, tern_err *err);

/*
 * Wait until the handshake of |a| has completed: TERN_OK. Otherwise the
 * connection's fatal error (tern_conn_error() has details), TERN_ERR_TIMEOUT after
 * |timeout_ms| (negative: no limit; the handshake goes on), or TERN_ERR_CLOSED when
 * the association ended another way (tern_assoc_end()). Runs the endpoint meanwhile.
 */
TERN_API TERN_MUST_USE tern_err tern_assoc_handshake(tern_assoc *a, int timeout_ms);

/*
 * The next received record into |out| (*outlen bytes), waiting up to |timeout_ms|
 * (0: do not wait; negative: no limit) and running the endpoint meanwhile.
 * Errors: TERN_ERR_AGAIN (nothing within the time), TERN_ERR_BUF (the record is
 * larger than |cap|: *outlen says how large; it stays queued), TERN_ERR_CLOSED (the
 * peer closed, or the association ended: tern_assoc_end()), or the connection's
 * fatal error.
 */
TERN_API TERN_MUST_USE tern_err tern_assoc_read(tern_assoc *a, uint8_t *out, size_t cap,
                                                size_t *outlen, int timeout_ms);

/*
 * Send |len| bytes as one record (at most tern_conn_max_write() of the
 * connection). It leaves at once (or with the round's other datagrams inside
 * tern_endpoint_run callbacks). With a |timeout_ms| other than 0 the call first
 * waits for the handshake to complete and for room in the send queue.
 * Errors: TERN_ERR_UNEXPECTED (handshake not complete and |timeout_ms| 0),
 * TERN_ERR_TOO_BIG, TERN_ERR_AGAIN (no room within the time), TERN_ERR_TIMEOUT
 * (handshake not complete within the time), TERN_ERR_CLOSED (ended), or the
 * connection's fatal error.
 */
TERN_API TERN_MUST_USE tern_err tern_assoc_write(tern_assoc *a, const uint8_t *data, size_t len,
                                                 int timeout_ms);

/* Send close_notify (an established association) or user_canceled (a handshake)
 * and end the association (TERN_END_CLOSED); records already received can still
 * be read. Does nothing to an ended one. Returns TERN_OK. */
TERN_API TERN_MUST_USE tern_err tern_assoc_close(tern_assoc *a);

/* Close (as tern_assoc_close) if not ended, and free |a|, and its private
 * endpoint for one made by tern_dial. NULL is fine. */
TERN_API void tern_assoc_free(tern_assoc *a);

/* The connection's state; an association the endpoint ended for another reason
 * than a failure reads TERN_STATE_CLOSED. */
TERN_API tern_state tern_assoc_state(const tern_assoc *a);

/* TERN_END_NONE while the association lives, else why it ended. */
TERN_API tern_assoc_end tern_assoc_end_reason(const tern_assoc *a);

/* "closed", "idle timeout", ...: a phrase for tern_assoc_end |why| (static). */
TERN_API const char *tern_assoc_end_name(tern_assoc_end why);

/* The connection, to ask what was negotiated, its error and its counters with the
 * const functions of tern.h. Owned by |a|. */
TERN_API const tern_conn *tern_assoc_conn(const tern_assoc *a);

/* The peer's address (owned by |a|) and its length in *len. */
TERN_API const struct sockaddr *tern_assoc_peer(const tern_assoc *a, socklen_t *len);

/* The endpoint |a| runs on (NULL once detached by tern_endpoint_free). */
TERN_API tern_endpoint *tern_assoc_endpoint(const tern_assoc *a);

/* A pointer of the caller's, kept with |a| (NULL at first). */
TERN_API void tern_assoc_set_user(tern_assoc *a, void *user);
TERN_API void *tern_assoc_user(const tern_assoc *a);

/* What the endpoint counts per association, next to tern_conn_stats(). */
typedef struct tern_assoc_stats {
    size_t largest_in, largest_out; /* datagram sizes, bytes */
    uint64_t send_dropped;          /* datagrams the socket refused */
    uint64_t established_at;        /* tern_endpoint_now() of completion, or 0 */
} tern_assoc_stats;

TERN_API void tern_assoc_get_stats(const tern_assoc *a, tern_assoc_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* TERN_IO_H */
