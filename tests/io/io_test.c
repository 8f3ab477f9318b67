/*
 * io_test.c - see io_test.h.
 */
#define _GNU_SOURCE 1
#include "io_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define IO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IO_ASAN 1
#endif
#endif
#ifdef IO_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

static void pki(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/tests/data/pki/%s", test_source_dir(), name);
}

tern_config *io_server_cfg(void)
{
    char chain[512], key[512];
    tern_config *cfg = tern_config_new();
    pki(chain, sizeof chain, "leaf-ecdsa-chain.pem");
    pki(key, sizeof key, "leaf-ecdsa.key");
    if (cfg == NULL || tern_config_load_certificate(cfg, chain, key) != TERN_OK) {
        tern_config_free(cfg);
        return NULL;
    }
    tern_config_set_verify(cfg, TERN_VERIFY_NONE);
    return cfg;
}

tern_config *io_client_cfg(void)
{
    char ca[512];
    tern_config *cfg = tern_config_new();
    pki(ca, sizeof ca, "root-ca.pem");
    if (cfg == NULL || tern_config_load_ca_file(cfg, ca) != TERN_OK) {
        tern_config_free(cfg);
        return NULL;
    }
    tern_config_set_verify(cfg, TERN_VERIFY_PEER);
    return cfg;
}

uint16_t io_port(const tern_endpoint *ep)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (tern_endpoint_local_addr(ep, &ss, &len) != TERN_OK)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

socklen_t io_loopback(const tern_endpoint *ep, bool v6, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (v6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)out;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(io_port(ep));
        s->sin6_addr = in6addr_loopback;
        return sizeof *s;
    }
    struct sockaddr_in *s = (struct sockaddr_in *)out;
    s->sin_family = AF_INET;
    s->sin_port = htons(io_port(ep));
    s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *s;
}

/* ------------------------------------------------------------------ echo server */

void io_echo_step(io_echo *s, uint64_t now)
{
    uint8_t buf[2048];
    size_t n;
    tern_assoc *a;
    if (tern_endpoint_process(s->ep, now ? now : tern_endpoint_now()) != TERN_OK)
        return;
    while ((a = tern_endpoint_accept(s->ep)) != NULL) {
        if (s->n_accepted < IO_TEST_MAX_ACCEPTED)
            s->accepted[s->n_accepted++] = a;
        else
            tern_assoc_free(a);
    }
    while ((a = tern_endpoint_ready(s->ep)) != NULL) {
        while (tern_assoc_read(a, buf, sizeof buf, &n, 0) == TERN_OK) {
            if (tern_assoc_write(a, buf, n, 0) == TERN_OK)
                s->echoed++;
        }
    }
}

void io_echo_clear(io_echo *s)
{
    for (size_t i = 0; i < s->n_accepted; i++)
        tern_assoc_free(s->accepted[i]);
    s->n_accepted = 0;
}

static int wait_fds(struct pollfd *pfd, size_t n, int ms)
{
    int rc;
    do {
        rc = poll(pfd, (nfds_t)n, ms);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

bool io_pump(io_echo *s, tern_endpoint **clients, size_t n, int ms, bool (*done)(void *ctx),
             void *ctx)
{
    uint64_t end = tern_endpoint_now() + (uint64_t)ms;
    struct pollfd *pfd = calloc(n + 1, sizeof *pfd);
    bool ok = false;
    for (;;) {
        if (s != NULL)
            io_echo_step(s, 0);
        for (size_t i = 0; i < n; i++)
            if (tern_endpoint_process(clients[i], tern_endpoint_now()) != TERN_OK)
                goto out;
        if (done != NULL && done(ctx)) {
            ok = true;
            break;
        }
        uint64_t now = tern_endpoint_now();
        if (now >= end)
            break;
        size_t k = 0;
        if (s != NULL)
            pfd[k++] = (struct pollfd){.fd = tern_endpoint_fd(s->ep), .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            pfd[k++] = (struct pollfd){.fd = tern_endpoint_fd(clients[i]), .events = POLLIN};
        int t = (int)(end - now);
        if (t > 20)
            t = 20; /* timers of any endpoint get a look at least this often */
        wait_fds(pfd, k, t);
    }
out:
    free(pfd);
    return ok;
}

/* ------------------------------------------------------------------ raw client */

bool io_raw_open(io_raw *r, const tern_endpoint *server, uint16_t port)
{
    struct sockaddr_in me;
    memset(r, 0, sizeof *r);
    r->serverlen = io_loopback(server, false, &r->server);
    r->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (r->fd < 0)
        return false;
    int on = 1;
    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_port = htons(port);
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(r->fd, (struct sockaddr *)&me, sizeof me) != 0 ||
        fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK) != 0) {
        close(r->fd);
        r->fd = -1;
        return false;
    }
    return true;
}

void io_raw_close_socket(io_raw *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

uint16_t io_raw_port(const io_raw *r)
{
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    if (getsockname(r->fd, (struct sockaddr *)&me, &len) != 0)
        return 0;
    return ntohs(me.sin_port);
}

bool io_raw_start(io_raw *r, tern_config *cfg)
{
    tern_conn_free(r->c);
    r->c = tern_conn_new_client(cfg);
    return r->c != NULL && tern_conn_set_hostname(r->c, "localhost") == TERN_OK &&
           tern_conn_start(r->c, tern_endpoint_now()) == TERN_OK;
}

void io_raw_step(io_raw *r)
{
    uint8_t buf[4096];
    size_t n;
    uint64_t now = tern_endpoint_now();
    for (;;) {
        ssize_t got = recv(r->fd, buf, sizeof buf, 0);
        if (got < 0)
            break;
        if (r->n_rx < 16) {
            memcpy(r->rx[r->n_rx], buf, (size_t)got < 2048 ? (size_t)got : 2048);
            r->rx_len[r->n_rx] = (size_t)got;
        }
        r->n_rx++;
        if (r->c != NULL && tern_conn_recv(r->c, now, buf, (size_t)got) != TERN_OK) {
            /* the state says it */
        }
    }
    if (r->c == NULL)
        return;
    if (now >= tern_conn_deadline(r->c) && tern_conn_tick(r->c, now) != TERN_OK) {
        /* the state says it */
    }
    while (!r->mute && tern_conn_send(r->c, now, buf, sizeof buf, &n) == TERN_OK) {
        if (sendto(r->fd, buf, n, 0, (struct sockaddr *)&r->server, r->serverlen) < 0)
            continue;
        memcpy(r->last_sent, buf, n < sizeof r->last_sent ? n : sizeof r->last_sent);
        r->last_sent_len = n;
    }
}

void io_raw_free(io_raw *r)
{
    io_raw_close_socket(r);
    tern_conn_free(r->c);
    r->c = NULL;
}

bool io_pump_raw(io_echo *s, io_raw **raws, size_t n, int ms, bool (*done)(void *ctx), void *ctx)
{
    uint64_t end = tern_endpoint_now() + (uint64_t)ms;
    for (;;) {
        if (s != NULL)
            io_echo_step(s, 0);
        for (size_t i = 0; i < n; i++)
            io_raw_step(raws[i]);
        if (done != NULL && done(ctx))
            return true;
        uint64_t now = tern_endpoint_now();
        if (now >= end)
            return false;
        struct pollfd pfd[17];
        size_t k = 0;
        if (s != NULL)
            pfd[k++] = (struct pollfd){.fd = tern_endpoint_fd(s->ep), .events = POLLIN};
        for (size_t i = 0; i < n && k < 17; i++)
            pfd[k++] = (struct pollfd){.fd = raws[i]->fd, .events = POLLIN};
        wait_fds(pfd, k, (int)(end - now) > 20 ? 20 : (int)(end - now));
    }
}

size_t io_heap_in_use(void)
{
#ifdef IO_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}
