/*
 * batch.c - several datagrams per system call (see batch.h).
 *
 * With recvmmsg/sendmmsg (TERN_IO_MMSG, Linux) one mmsghdr and one iovec per
 * buffer are set up once; each call only resets the lengths the kernel writes
 * back. Without them the same buffers are read with recvfrom and sent with sendto.
 *
 * sendmmsg stops at the first datagram that fails and reports how many went
 * before it; that one is counted as dropped and the rest go in the next call.
 */
#define _GNU_SOURCE 1 /* recvmmsg, sendmmsg */
#include "io/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#if defined(__linux__)
#define TERN_IO_MMSG 1
#endif

struct tern_batch_impl {
#ifdef TERN_IO_MMSG
    struct mmsghdr *rx_msgs, *tx_msgs;
    struct iovec *rx_iov, *tx_iov;
#else
    int unused;
#endif
};

tern_err tern_batch_init(tern_batch *b, unsigned n, size_t rx_size, size_t tx_size)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->rx_size = rx_size;
    b->tx_size = tx_size;
    b->rx_buf = malloc((size_t)n * rx_size);
    b->tx_buf = malloc((size_t)n * tx_size);
    b->rx_addr = calloc(n, sizeof *b->rx_addr);
    b->tx_addr = calloc(n, sizeof *b->tx_addr);
    b->rx_addrlen = calloc(n, sizeof *b->rx_addrlen);
    b->tx_addrlen = calloc(n, sizeof *b->tx_addrlen);
    b->rx_len = calloc(n, sizeof *b->rx_len);
    b->tx_len = calloc(n, sizeof *b->tx_len);
    b->rx_trunc = calloc(n, sizeof *b->rx_trunc);
    b->impl = calloc(1, sizeof *b->impl);
    if (b->rx_buf == NULL || b->tx_buf == NULL || b->rx_addr == NULL || b->tx_addr == NULL ||
        b->rx_addrlen == NULL || b->tx_addrlen == NULL || b->rx_len == NULL || b->tx_len == NULL ||
        b->rx_trunc == NULL || b->impl == NULL)
        goto nomem;
#ifdef TERN_IO_MMSG
    tern_batch_impl *im = b->impl;
    im->rx_msgs = calloc(n, sizeof *im->rx_msgs);
    im->tx_msgs = calloc(n, sizeof *im->tx_msgs);
    im->rx_iov = calloc(n, sizeof *im->rx_iov);
    im->tx_iov = calloc(n, sizeof *im->tx_iov);
    if (im->rx_msgs == NULL || im->tx_msgs == NULL || im->rx_iov == NULL || im->tx_iov == NULL)
        goto nomem;
    for (unsigned i = 0; i < n; i++) {
        im->rx_iov[i] = (struct iovec){tern_batch_rx(b, i), rx_size};
        im->rx_msgs[i].msg_hdr.msg_iov = &im->rx_iov[i];
        im->rx_msgs[i].msg_hdr.msg_iovlen = 1;
        im->tx_iov[i].iov_base = b->tx_buf + (size_t)i * tx_size;
        im->tx_msgs[i].msg_hdr.msg_iov = &im->tx_iov[i];
        im->tx_msgs[i].msg_hdr.msg_iovlen = 1;
    }
#endif
    return TERN_OK;
nomem:
    tern_batch_clear(b);
    return TERN_ERR_NOMEM;
}

void tern_batch_clear(tern_batch *b)
{
    if (b->impl != NULL) {
#ifdef TERN_IO_MMSG
        free(b->impl->rx_msgs);
        free(b->impl->tx_msgs);
        free(b->impl->rx_iov);
        free(b->impl->tx_iov);
#endif
        free(b->impl);
    }
    free(b->rx_buf);
    free(b->tx_buf);
    free(b->rx_addr);
    free(b->tx_addr);
    free(b->rx_addrlen);
    free(b->tx_addrlen);
    free(b->rx_len);
    free(b->tx_len);
    free(b->rx_trunc);
    memset(b, 0, sizeof *b);
}

static bool transient(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

int tern_batch_recv(tern_batch *b, int fd, unsigned *calls)
{
#ifdef TERN_IO_MMSG
    tern_batch_impl *im = b->impl;
    for (unsigned i = 0; i < b->n; i++) {
        im->rx_msgs[i].msg_hdr.msg_name = &b->rx_addr[i];
        im->rx_msgs[i].msg_hdr.msg_namelen = sizeof b->rx_addr[i];
        im->rx_msgs[i].msg_hdr.msg_flags = 0;
    }
    (*calls)++;
    int got = recvmmsg(fd, im->rx_msgs, b->n, MSG_DONTWAIT, NULL);
    if (got < 0)
        return transient(errno) ? 0 : -1;
    for (int i = 0; i < got; i++) {
        b->rx_len[i] = im->rx_msgs[i].msg_len;
        b->rx_addrlen[i] = im->rx_msgs[i].msg_hdr.msg_namelen;
        b->rx_trunc[i] = (im->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    }
    return got;
#else
    unsigned got = 0;
    while (got < b->n) {
        b->rx_addrlen[got] = sizeof b->rx_addr[got];
        (*calls)++;
        ssize_t r = recvfrom(fd, tern_batch_rx(b, got), b->rx_size, MSG_TRUNC,
                             (struct sockaddr *)&b->rx_addr[got], &b->rx_addrlen[got]);
        if (r < 0) {
            if (transient(errno))
                break;
            return got > 0 ? (int)got : -1;
        }
        b->rx_trunc[got] = (size_t)r > b->rx_size;
        b->rx_len[got] = b->rx_trunc[got] ? b->rx_size : (size_t)r;
        got++;
    }
    return (int)got;
#endif
}

void tern_batch_tx_commit(tern_batch *b, size_t len, const struct sockaddr *to, socklen_t tolen)
{
    unsigned i = b->tx_count++;
    b->tx_len[i] = len;
    b->tx_addrlen[i] = to != NULL ? tolen : 0;
    if (to != NULL)
        memcpy(&b->tx_addr[i], to, tolen);
}

/* One datagram the socket would not take: counted, and ECONNREFUSED noted. */
static void refused_one(tern_batch_sent *out, int e)
{
    out->dropped++;
    if (e == ECONNREFUSED)
        out->refused = 1;
}

void tern_batch_send(tern_batch *b, int fd, tern_batch_sent *out)
{
    memset(out, 0, sizeof *out);
    unsigned i = 0;
#ifdef TERN_IO_MMSG
    tern_batch_impl *im = b->impl;
    for (unsigned k = 0; k < b->tx_count; k++) {
        struct msghdr *h = &im->tx_msgs[k].msg_hdr;
        h->msg_name = b->tx_addrlen[k] ? &b->tx_addr[k] : NULL;
        h->msg_namelen = b->tx_addrlen[k];
        im->tx_iov[k].iov_len = b->tx_len[k];
    }
    while (i < b->tx_count) {
        out->calls++;
        int sent = sendmmsg(fd, im->tx_msgs + i, b->tx_count - i, MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            refused_one(out, sent < 0 ? errno : 0); /* the first one failed: drop it, go on */
            i++;
            continue;
        }
        out->sent += (unsigned)sent;
        i += (unsigned)sent;
    }
#else
    for (; i < b->tx_count; i++) {
        const uint8_t *data = b->tx_buf + (size_t)i * b->tx_size;
        ssize_t r;
        out->calls++;
        do {
            r = b->tx_addrlen[i] ? sendto(fd, data, b->tx_len[i], 0,
                                          (const struct sockaddr *)&b->tx_addr[i], b->tx_addrlen[i])
                                 : send(fd, data, b->tx_len[i], 0);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
            refused_one(out, errno);
        else
            out->sent++;
    }
#endif
    b->tx_count = 0;
}
