/*
 * sock.c - the endpoint's socket and the peer addresses it sees.
 *
 * A peer is keyed by what the kernel reports as its source: family, port and
 * address, plus the scope of an IPv6 address (a link-local address is only unique
 * on its link). IPv4 peers reach an IPv6 dual-stack socket as IPv4-mapped
 * addresses (::ffff:a.b.c.d); their key is the plain IPv4 one, so a peer has the
 * same key, and the same cookie, whichever socket family carries it.
 */
#define _GNU_SOURCE 1 /* SO_REUSEPORT */
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY_FAMILY_V4 4
#define KEY_FAMILY_V6 6

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool tern_io_addr_key(const struct sockaddr *sa, socklen_t len, tern_demux_key *k)
{
    memset(k, 0, sizeof *k);
    k->kind = TERN_DEMUX_ADDR;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        k->b[0] = KEY_FAMILY_V4;
        memcpy(k->b + 1, &s->sin_port, 2);
        memcpy(k->b + 3, &s->sin_addr, 4);
        k->len = 7;
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        const uint8_t *a = (const uint8_t *)&s->sin6_addr;
        memcpy(k->b + 1, &s->sin6_port, 2);
        if (memcmp(a, v4mapped_prefix, sizeof v4mapped_prefix) == 0) {
            k->b[0] = KEY_FAMILY_V4;
            memcpy(k->b + 3, a + 12, 4);
            k->len = 7;
            return true;
        }
        k->b[0] = KEY_FAMILY_V6;
        memcpy(k->b + 3, a, 16);
        memcpy(k->b + 19, &s->sin6_scope_id, 4);
        k->len = 23;
        return true;
    }
    return false;
}

bool tern_io_addr_for(int family, const struct sockaddr *sa, socklen_t len,
                      struct sockaddr_storage *out, socklen_t *outlen)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        if (family == AF_INET) {
            memcpy(out, s, sizeof *s);
            *outlen = sizeof *s;
            return true;
        }
        struct sockaddr_in6 *m = (struct sockaddr_in6 *)out;
        m->sin6_family = AF_INET6;
        m->sin6_port = s->sin_port;
        memcpy((uint8_t *)&m->sin6_addr, v4mapped_prefix, sizeof v4mapped_prefix);
        memcpy((uint8_t *)&m->sin6_addr + 12, &s->sin_addr, 4);
        *outlen = sizeof *m;
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6) &&
        family == AF_INET6) {
        memcpy(out, sa, sizeof(struct sockaddr_in6));
        *outlen = sizeof(struct sockaddr_in6);
        return true;
    }
    return false;
}

bool tern_io_fd_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    return fl >= 0 && fdfl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) == 0;
}

/* Open and bind one socket for |ai|; -1 with errno on failure. */
static int open_bound(const struct addrinfo *ai, const tern_endpoint_opts *o)
{
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0), on = 1;
    if (fd < 0)
        return -1;
    int v6only = o->v6only ? 1 : 0;
    if (!tern_io_fd_flags(fd) ||
        (ai->ai_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0) ||
        (o->rcvbuf > 0 &&
         setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf) != 0) ||
        (o->sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof o->sndbuf) != 0))
        goto fail;
    if (o->reuseport) {
#ifdef SO_REUSEPORT
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
            goto fail;
#else
        errno = ENOPROTOOPT;
        goto fail;
#endif
    }
    (void)on;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int tern_io_socket(const tern_endpoint_opts *o, int *family, tern_err *err)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)o->port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;

    /* No address: IPv6 and IPv4 on one socket, or IPv4 alone where IPv6 is off. */
    const char *binds[2] = {o->bind, NULL};
    if (o->bind == NULL) {
        binds[0] = "::";
        binds[1] = "0.0.0.0";
    }
    int fd = -1, e = 0;
    for (int i = 0; i < 2 && binds[i] != NULL && fd < 0; i++) {
        if (getaddrinfo(binds[i], port, &hints, &res) != 0) {
            *err = TERN_ERR_ARG;
            errno = EINVAL;
            return -1;
        }
        fd = open_bound(res, o);
        e = errno;
        if (fd >= 0)
            *family = res->ai_family;
        freeaddrinfo(res);
        /* Only a missing IPv6 stack is worth the IPv4 fallback. */
        if (fd < 0 && e != EAFNOSUPPORT && e != EADDRNOTAVAIL)
            break;
    }
    if (fd < 0) {
        *err = TERN_ERR_IO;
        errno = e;
    }
    return fd;
}
