/*
 * batch.h - datagrams in and out of the endpoint's socket, several per system
 * call: recvmmsg/sendmmsg where the system has them (Linux), one recvfrom/sendto
 * per datagram elsewhere.
 *
 * The receive side owns |n| buffers of |rx_size| bytes; tern_conn_recv decrypts in
 * place in them. The send side owns |n| buffers of |tx_size| bytes (the MTU):
 * tern_conn_send writes straight into the next free one, which is then committed
 * with its destination; the queue leaves in one call when it is full or flushed.
 */
#ifndef TERN_IO_BATCH_H
#define TERN_IO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tern/tern.h"

typedef struct tern_batch_impl tern_batch_impl;

typedef struct tern_batch {
    unsigned n;
    size_t rx_size, tx_size;
    uint8_t *rx_buf, *tx_buf; /* n * rx_size, n * tx_size */
    struct sockaddr_storage *rx_addr, *tx_addr;
    socklen_t *rx_addrlen, *tx_addrlen;
    size_t *rx_len, *tx_len;
    bool *rx_trunc;
    unsigned tx_count;
    tern_batch_impl *impl; /* mmsghdr and iovec arrays, if any */
} tern_batch;

/* What one tern_batch_send() did. */
typedef struct tern_batch_sent {
    unsigned sent, dropped; /* datagrams */
    unsigned calls;         /* system calls */
    int refused;            /* ECONNREFUSED seen (connected socket: ICMP unreachable) */
} tern_batch_sent;

/* Allocate |n| receive buffers of |rx_size| bytes and |n| send buffers of
 * |tx_size|. Errors: TERN_ERR_NOMEM. */
TERN_MUST_USE tern_err tern_batch_init(tern_batch *b, unsigned n, size_t rx_size, size_t tx_size);
void tern_batch_clear(tern_batch *b);

/* Read up to n datagrams from non-blocking |fd|. Returns how many (0 when none
 * waits), or -1 with errno for an error other than EAGAIN / EINTR. */
int tern_batch_recv(tern_batch *b, int fd, unsigned *calls);

/* The |i|th datagram read. */
static inline uint8_t *tern_batch_rx(const tern_batch *b, unsigned i)
{
    return b->rx_buf + (size_t)i * b->rx_size;
}

/* The next free send buffer (tx_size bytes), or NULL when the queue is full. */
static inline uint8_t *tern_batch_tx_slot(const tern_batch *b)
{
    return b->tx_count < b->n ? b->tx_buf + (size_t)b->tx_count * b->tx_size : NULL;
}

/* Queue the |len| bytes written in the slot for |to| (NULL on a connected socket). */
void tern_batch_tx_commit(tern_batch *b, size_t len, const struct sockaddr *to, socklen_t tolen);

/* Send everything queued on |fd| and empty the queue. A datagram the socket
 * refuses (buffer full, unreachable) is dropped: UDP, and DTLS retransmits. */
void tern_batch_send(tern_batch *b, int fd, tern_batch_sent *out);

#endif
