/*
 * blocking.c - the easy path over the endpoint (see tern_io.h): waiting for the
 * socket, the ready-made loop (tern_endpoint_run), and the blocking calls on one
 * association (tern_dial, handshake, read and write with timeouts).
 *
 * Every blocking call is the same loop: try the non-blocking operation; if it has
 * to wait, sleep in poll() until a datagram arrives, the endpoint's next timer
 * or the caller's deadline, whichever is first; run tern_endpoint_process(); try
 * again. The whole endpoint runs meanwhile, so other associations on it progress
 * too (their news waits in the accept queue and the ready list).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/io.h"

/* The absolute deadline for |timeout_ms| from now (negative: none). */
static uint64_t deadline_in(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : tern_endpoint_now() + (uint64_t)timeout_ms;
}

/* poll()'s timeout until |at| from |now|. */
static int ms_until(uint64_t at, uint64_t now)
{
    if (at == UINT64_MAX)
        return -1;
    if (at <= now)
        return 0;
    return at - now > INT_MAX ? INT_MAX : (int)(at - now);
}

static int min_timeout(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* see tern_io.h */
tern_err tern_endpoint_wait(tern_endpoint *ep, int timeout_ms)
{
    uint64_t now = tern_io_time(ep, tern_endpoint_now());
    int t = min_timeout(tern_endpoint_timeout(ep, now), timeout_ms);
    struct pollfd pfd = {.fd = ep->fd, .events = POLLIN};
    int rc = poll(&pfd, 1, t);
    if (rc < 0 && errno != EINTR)
        return TERN_ERR_IO;
    now = tern_endpoint_now();
    tern_err err = tern_endpoint_process(ep, now);
    if (err != TERN_OK)
        return err;
    /* Nothing arrived and no timer of ours was due: the caller's time is up. */
    return rc == 0 && t == timeout_ms ? TERN_ERR_AGAIN : TERN_OK;
}

/* One wait for |a|'s endpoint, until |deadline| at the latest. TERN_ERR_AGAIN
 * once the deadline has passed, TERN_ERR_CLOSED when |a| has no endpoint. */
static tern_err step(tern_assoc *a, uint64_t deadline)
{
    if (a->ep == NULL)
        return TERN_ERR_CLOSED;
    uint64_t now = tern_endpoint_now();
    if (now >= deadline)
        return TERN_ERR_AGAIN;
    tern_err err = tern_endpoint_wait(a->ep, ms_until(deadline, now));
    return err == TERN_ERR_AGAIN ? TERN_OK : err; /* the loop looks at the clock */
}

/* The error for an association that has ended. */
static tern_err ended_error(const tern_assoc *a)
{
    tern_err err = TERN_OK;
    if (a->end == TERN_END_FAILED || tern_conn_state(a->c) == TERN_STATE_FAILED)
        tern_conn_error(a->c, &err, NULL, NULL);
    return err != TERN_OK ? err : TERN_ERR_CLOSED;
}

/* see tern_io.h */
tern_err tern_assoc_handshake(tern_assoc *a, int timeout_ms)
{
    uint64_t deadline = deadline_in(timeout_ms);
    for (;;) {
        if (a->established_seen)
            return TERN_OK;
        if (a->end != TERN_END_NONE || a->ep == NULL ||
            tern_conn_state(a->c) != TERN_STATE_HANDSHAKE)
            return ended_error(a);
        tern_err err = step(a, deadline);
        if (err == TERN_ERR_AGAIN)
            return TERN_ERR_TIMEOUT;
        if (err != TERN_OK)
            return err;
    }
}

/* see tern_io.h */
tern_err tern_assoc_read(tern_assoc *a, uint8_t *out, size_t cap, size_t *outlen, int timeout_ms)
{
    uint64_t deadline = timeout_ms == 0 ? 0 : deadline_in(timeout_ms);
    *outlen = 0;
    for (;;) {
        tern_err err = tern_conn_read(a->c, out, cap, outlen);
        if (err != TERN_ERR_AGAIN)
            return err;
        if (a->end != TERN_END_NONE || a->ep == NULL)
            return ended_error(a);
        if (timeout_ms == 0)
            return TERN_ERR_AGAIN;
        err = step(a, deadline);
        if (err != TERN_OK)
            return err;
    }
}

/* see tern_io.h */
tern_err tern_assoc_write(tern_assoc *a, const uint8_t *data, size_t len, int timeout_ms)
{
    uint64_t deadline = timeout_ms == 0 ? 0 : deadline_in(timeout_ms);
    for (;;) {
        tern_endpoint *ep = a->ep;
        if (a->end != TERN_END_NONE || ep == NULL)
            return ended_error(a);
        tern_state st = tern_conn_state(a->c);
        if (st == TERN_STATE_HANDSHAKE) {
            if (timeout_ms == 0)
                return TERN_ERR_UNEXPECTED;
            tern_err err = step(a, deadline);
            if (err == TERN_ERR_AGAIN)
                return TERN_ERR_TIMEOUT;
            if (err != TERN_OK)
                return err;
            continue;
        }
        tern_err err = tern_conn_write(a->c, data, len);
        if (err == TERN_ERR_AGAIN) {
            /* The send queue is full: empty it into the socket, try once more. */
            tern_io_time(ep, tern_endpoint_now());
            tern_io_assoc_update(a);
            tern_io_flush(ep);
            if (a->ep == NULL || a->end != TERN_END_NONE)
                continue;
            err = tern_conn_write(a->c, data, len);
        }
        if (err == TERN_OK) {
            tern_io_time(ep, tern_endpoint_now());
            tern_io_assoc_update(a);
            tern_io_flush(ep);
            return TERN_OK;
        }
        if (err != TERN_ERR_AGAIN || timeout_ms == 0)
            return err;
        err = step(a, deadline);
        if (err != TERN_OK)
            return err;
    }
}

/* ------------------------------------------------------------------ the ready-made loop */

static bool make_wake_pipe(tern_endpoint *ep)
{
    int p[2];
    if (pipe(p) != 0)
        return false;
    if (!tern_io_fd_flags(p[0]) || !tern_io_fd_flags(p[1])) {
        close(p[0]);
        close(p[1]);
        return false;
    }
    ep->wake[0] = p[0];
    ep->wake[1] = p[1];
    return true;
}

/* see tern_io.h */
tern_err tern_endpoint_run(tern_endpoint *ep, const tern_endpoint_handlers *h, void *ctx)
{
    if (ep->wake[0] < 0 && !make_wake_pipe(ep))
        return TERN_ERR_IO;
    tern_err rc = TERN_OK;
    while (!ep->stop) {
        uint64_t now = tern_io_time(ep, tern_endpoint_now());
        struct pollfd pfd[2] = {{.fd = ep->fd, .events = POLLIN},
                                {.fd = ep->wake[0], .events = POLLIN}};
        if (poll(pfd, 2, tern_endpoint_timeout(ep, now)) < 0 && errno != EINTR) {
            rc = TERN_ERR_IO;
            break;
        }
        if (pfd[1].revents != 0) {
            uint8_t drain[64];
            while (read(ep->wake[0], drain, sizeof drain) > 0) {
            }
        }
        rc = tern_endpoint_process(ep, tern_endpoint_now());
        if (rc != TERN_OK)
            break;
        /* What the callbacks write leaves together at the end of the round. */
        ep->corked = true;
        tern_assoc *a;
        while ((a = tern_endpoint_accept(ep)) != NULL) {
            if (h != NULL && h->on_accept != NULL)
                h->on_accept(ctx, a);
            else
                tern_assoc_free(a);
        }
        while ((a = tern_endpoint_ready(ep)) != NULL) {
            if (h != NULL && h->on_ready != NULL)
                h->on_ready(ctx, a);
        }
        ep->corked = false;
        tern_io_flush(ep);
    }
    ep->stop = 0;
    return rc;
}

/* see tern_io.h */
void tern_endpoint_stop(tern_endpoint *ep)
{
    ep->stop = 1;
    if (ep->wake[1] >= 0) {
        int saved = errno;
        /* A full pipe already means "wake up". */
        if (write(ep->wake[1], "", 1) < 0) {
        }
        errno = saved;
    }
}

/* ------------------------------------------------------------------ dialing */

/* see tern_io.h */
tern_assoc *tern_dial(tern_config *cfg, const char *host, const char *port, const char *servername,
                      tern_err *errp)
{
    tern_err dummy = TERN_OK;
    tern_err *err = errp != NULL ? errp : &dummy;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    if (host == NULL || port == NULL || getaddrinfo(host, port, &hints, &res) != 0) {
        *err = TERN_ERR_ARG;
        return NULL;
    }
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.accept = false;
    o.batch = 4;
    tern_assoc *a = NULL;
    *err = TERN_ERR_ARG;
    /* The first address whose socket takes it: a UDP connect() only checks that
     * there is a route. The socket is connected to the server, so an ICMP "port
     * unreachable" comes back as ECONNREFUSED (TERN_END_UNREACHABLE). */
    for (struct addrinfo *ai = res; ai != NULL && a == NULL; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        o.bind = ai->ai_family == AF_INET6 ? "::" : "0.0.0.0";
        tern_endpoint *ep = tern_endpoint_new(cfg, &o, err);
        if (ep == NULL)
            continue;
        if (connect(ep->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            int saved = errno;
            tern_endpoint_free(ep);
            errno = saved;
            *err = TERN_ERR_IO;
            continue;
        }
        ep->connected = true;
        a = tern_endpoint_connect(ep, ai->ai_addr, ai->ai_addrlen, servername, err);
        if (a == NULL) {
            tern_endpoint_free(ep);
            break; /* the name or the config: another address will not help */
        }
        a->owned_ep = ep;
    }
    freeaddrinfo(res);
    return a;
}
