/*
 * tern-impair - a UDP impairment proxy for loopback tests: seeded loss, duplication,
 * reordering, delay with jitter and a datagram-size limit between DTLS peers.
 *
 *     tern-impair --listen [ADDR:]PORT --to ADDR:PORT [--seed N]
 *                 [--loss PCT | --loss-up PCT --loss-down PCT] [--dup PCT]
 *                 [--reorder PCT] [--delay MS] [--jitter MS] [--max-size BYTES]
 *                 [--handshake-only] [--duration S] [--quiet] [--verbose]
 *
 * How it works: one socket bound to --listen receives the clients' datagrams. Each
 * client address gets its own upstream socket, connect()ed to --to, so the server
 * sees one address per client and its answers come back on the socket that says
 * which client they are for. "up" is client to server, "down" server to client;
 * each client has one flow per direction. Everything runs in one poll() loop.
 *
 * Every datagram that arrives on a flow goes through these steps, in this order:
 *   1. size     longer than --max-size: dropped (the link's MTU, always applied)
 *   2. loss     dropped with probability --loss (or --loss-up / --loss-down)
 *   3. dup      sent twice with probability --dup
 *   4. delay    due --delay ms later, plus a uniform jitter in [-J, +J] (never before
 *               it arrived); jitter alone may reorder datagrams, as on a real link
 *   5. reorder  with probability --reorder, held back (when the flow holds nothing)
 *               and sent right after the next datagram of the same flow; if none
 *               follows within HOLD_MAX_MS it is sent alone (not counted as reordered)
 * A datagram waits for its time in a small timer queue (a binary heap ordered by due
 * time, then by arrival, so equal times keep their order).
 *
 * --handshake-only spares datagrams that do not begin with a DTLS 1.2 handshake or
 * change_cipher_spec record (content types 22, 20): application data and alerts
 * pass steps 2, 3 and 5 untouched (they are still delayed and size-limited). DTLS
 * does not retransmit those, so an interop test can impair the handshake alone and
 * still compare the data. DTLS 1.3 ciphertext (unified header) counts as spared.
 *
 * Randomness: each flow has its own generator (splitmix64-seeded xorshift64*), from
 * --seed, the client's number (in order of arrival) and the direction, and draws the
 * same number of values for every datagram whatever the options. The fate of the
 * k-th datagram of a flow therefore depends on the seed and k only, not on how the
 * two directions interleave in time, and a failing run is replayed by its seed.
 *
 * At exit (SIGINT, SIGTERM or the end of --duration) one line per direction goes to
 * stderr, also under --quiet:
 *
 *     tern-impair: up: in 40, forwarded 33, dropped by loss 7, dropped by size 0,
 *         duplicated 0, reordered 0, spared 0, queue full 0, send errors 0, unsent 0
 *
 * (on one line). They always add up: in + duplicated = forwarded + dropped by loss
 * + dropped by size + queue full + send errors + unsent, where unsent counts what was
 * still queued or held at exit. "listening on ADDR:PORT" is printed once the socket is
 * bound (--listen PORT 0 picks a free port); --quiet leaves out everything else but
 * errors and the counters; --verbose adds one line per datagram. Exit status 0, or
 * 1 on a socket error at start, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "tern-impair"
#define MAX_CLIENTS 64
/* Datagrams waiting for their time, all flows together; past it they are dropped
 * and counted ("queue full"). */
#define MAX_QUEUE 4096
#define DGRAM_MAX 65536
/* A held-back datagram with no successor is sent alone after this long. */
#define HOLD_MAX_MS 100u
/* Datagrams read from one socket per wake-up before timers get a turn. */
#define RECV_BATCH 64
#define RCVBUF_BYTES (1 << 20)
#define ADDR_STRLEN 80
/* Content types of the DTLS 1.2 record header (RFC 6347 §4.1). */
#define CT_CHANGE_CIPHER_SPEC 20
#define CT_HANDSHAKE 22
#define DTLS12_HDR_LEN 13

enum { UP, DOWN, NDIR };
static const char *const dir_name[NDIR] = {"up", "down"};

typedef struct impair_opts {
    const char *listen, *to;
    uint64_t seed;
    bool seed_given;
    double loss[NDIR], dup, reorder; /* percentages */
    unsigned long delay_ms, jitter_ms, max_size, duration_s;
    bool handshake_only, quiet, verbose;
} impair_opts;

typedef struct counters {
    uint64_t in, forwarded, dropped_loss, dropped_size, duplicated, reordered;
    uint64_t spared;     /* --handshake-only: not subject to loss, dup, reorder */
    uint64_t queue_full; /* dropped: the timer queue was full */
    uint64_t send_err;   /* dropped: the socket refused it */
    uint64_t unsent;     /* still queued or held at exit */
} counters;

/* A datagram held back to be sent after the next one (data NULL: none held). */
typedef struct held {
    uint8_t *data;
    size_t len;
    unsigned copies;
    uint64_t since, due;
} held;

typedef struct flow {
    uint64_t rng;
    held hold;
} flow;

typedef struct client {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd; /* upstream socket, connected to the server */
    char name[ADDR_STRLEN];
    flow flows[NDIR];
} client;

typedef struct pending {
    uint64_t due, seq;
    unsigned client;
    int dir;
    size_t len;
    uint8_t *data;
} pending;

typedef struct proxy {
    const impair_opts *opt;
    int listen_fd;
    struct sockaddr_storage to;
    socklen_t tolen;
    client clients[MAX_CLIENTS];
    unsigned nclients;
    uint64_t refused; /* datagrams from new clients once the table was full */
    pending queue[MAX_QUEUE];
    size_t nqueue;
    uint64_t seq;
    counters ctr[NDIR];
} proxy;

static proxy px;
static uint8_t buf[DGRAM_MAX];
static int signal_pipe[2] = {-1, -1};

/* ------------------------------------------------------------------ small helpers */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Non-blocking, with a large receive buffer (best effort: the kernel caps it at
 * net.core.rmem_max), so that a burst waits in the kernel instead of being lost
 * there, where no counter of ours would see it. */
static bool set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL), size = RCVBUF_BYTES;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;

    /* A full pipe already says "a signal arrived". */
    if (write(signal_pipe[1], &b, 1) < 0) {
    }
    errno = saved;
}

/* SIGINT and SIGTERM through a self-pipe; returns its read end or -1. */
static int signals_init(void)
{
    struct sigaction sa;

    if (pipe(signal_pipe) != 0 || fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK) != 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    return signal_pipe[0];
}

static void addr_str(const struct sockaddr *sa, socklen_t len, char out[ADDR_STRLEN])
{
    char host[64], port[8];

    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, ADDR_STRLEN, "(unknown address)");
    else if (sa->sa_family == AF_INET6)
        snprintf(out, ADDR_STRLEN, "[%s]:%s", host, port);
    else
        snprintf(out, ADDR_STRLEN, "%s:%s", host, port);
}

/* Same address and port (the table key of a client). */
static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

/* "[ADDR:]PORT", "[V6ADDR]:PORT" into an address; |dflt| when ADDR is left out (NULL:
 * ADDR is required). False after printing why. */
static bool parse_endpoint(const char *opt, const char *s, const char *dflt,
                           struct sockaddr_storage *out, socklen_t *outlen)
{
    char host[256];
    const char *port;
    struct addrinfo hints, *res;
    int rc;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            goto bad;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else if (strrchr(s, ':') != NULL) {
        const char *colon = strrchr(s, ':');
        if ((size_t)(colon - s) >= sizeof host || colon == s)
            goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    } else {
        if (dflt == NULL)
            goto bad;
        snprintf(host, sizeof host, "%s", dflt);
        port = s;
    }
    if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port))
        goto bad;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, PROG ": %s %s: %s\n", opt, s, gai_strerror(rc));
        return false;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *outlen = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
bad:
    fprintf(stderr, PROG ": %s wants %s, not \"%s\"\n", opt,
            dflt != NULL ? "[ADDR:]PORT" : "ADDR:PORT", s);
    return false;
}

/* ------------------------------------------------------------------ randomness */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* xorshift64*: a uniform double in [0, 1). */
static double rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

static uint64_t flow_seed(uint64_t seed, unsigned ci, int dir)
{
    uint64_t x = seed ^ ((uint64_t)ci << 1 | (uint64_t)dir) * 0xd1b54a32d192ed03u;
    uint64_t s = splitmix64(&x);
    return s != 0 ? s : 1; /* xorshift never leaves 0 */
}

/* ------------------------------------------------------------------ the timer queue */

static bool before(const pending *a, const pending *b)
{
    return a->due != b->due ? a->due < b->due : a->seq < b->seq;
}

static void heap_swap(size_t i, size_t j)
{
    pending t = px.queue[i];
    px.queue[i] = px.queue[j];
    px.queue[j] = t;
}

/* Queue |len| bytes of |data| (copied) on a flow, due at |due|. */
static void enqueue(unsigned ci, int dir, const uint8_t *data, size_t len, uint64_t due)
{
    pending *p;
    size_t i;

    if (px.nqueue == MAX_QUEUE) {
        px.ctr[dir].queue_full++;
        return;
    }
    p = &px.queue[px.nqueue];
    p->data = malloc(len > 0 ? len : 1);
    if (p->data == NULL) {
        px.ctr[dir].queue_full++;
        return;
    }
    memcpy(p->data, data, len);
    p->len = len;
    p->due = due;
    p->seq = px.seq++;
    p->client = ci;
    p->dir = dir;
    for (i = px.nqueue++; i > 0 && before(&px.queue[i], &px.queue[(i - 1) / 2]); i = (i - 1) / 2)
        heap_swap(i, (i - 1) / 2);
}

static void heap_pop(void)
{
    size_t i = 0;

    px.queue[0] = px.queue[--px.nqueue];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < px.nqueue && before(&px.queue[l], &px.queue[m]))
            m = l;
        if (r < px.nqueue && before(&px.queue[r], &px.queue[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
}

static void transmit(const pending *p)
{
    client *cl = &px.clients[p->client];
    ssize_t n;

    if (p->dir == UP)
        n = send(cl->fd, p->data, p->len, 0);
    else
        n = sendto(px.listen_fd, p->data, p->len, 0, (const struct sockaddr *)&cl->addr,
                   cl->addrlen);
    if (n < 0 || (size_t)n != p->len) {
        px.ctr[p->dir].send_err++;
        if (px.opt->verbose)
            fprintf(stderr, PROG ": %s %s: send failed: %s\n", dir_name[p->dir], cl->name,
                    n < 0 ? strerror(errno) : "short write");
        return;
    }
    px.ctr[p->dir].forwarded++;
}

/* Send every datagram due by |now|; release holds that waited too long. */
static void run_timers(uint64_t now)
{
    for (unsigned c = 0; c < px.nclients; c++) {
        for (int d = 0; d < NDIR; d++) {
            held *h = &px.clients[c].flows[d].hold;
            if (h->data == NULL || now - h->since < HOLD_MAX_MS)
                continue;
            for (unsigned k = 0; k < h->copies; k++)
                enqueue(c, d, h->data, h->len, h->due > now ? h->due : now);
            free(h->data);
            h->data = NULL;
        }
    }
    while (px.nqueue > 0 && px.queue[0].due <= now) {
        pending p = px.queue[0];
        heap_pop();
        transmit(&p);
        free(p.data);
    }
}

/* The next time run_timers() has something to do; UINT64_MAX if never. */
static uint64_t next_timer(void)
{
    uint64_t t = px.nqueue > 0 ? px.queue[0].due : UINT64_MAX;

    for (unsigned c = 0; c < px.nclients; c++)
        for (int d = 0; d < NDIR; d++)
            if (px.clients[c].flows[d].hold.data != NULL)
                t = min_u64(t, px.clients[c].flows[d].hold.since + HOLD_MAX_MS);
    return t;
}

/* ------------------------------------------------------------------ one datagram */

/* Whether a datagram begins with a DTLS 1.2 handshake or change_cipher_spec record. */
static bool is_handshake(const uint8_t *data, size_t len)
{
    return len >= DTLS12_HDR_LEN && (data[0] == CT_HANDSHAKE || data[0] == CT_CHANGE_CIPHER_SPEC) &&
           data[1] == 0xfe;
}

static void impair(unsigned c, int dir, const uint8_t *data, size_t len, uint64_t now)
{
    const impair_opts *o = px.opt;
    counters *ct = &px.ctr[dir];
    flow *f = &px.clients[c].flows[dir];
    /* The same draws for every datagram: its fate depends on its number in the flow. */
    double u_loss = rng_next(&f->rng), u_dup = rng_next(&f->rng);
    double u_reorder = rng_next(&f->rng), u_jitter = rng_next(&f->rng);
    bool eligible = !o->handshake_only || is_handshake(data, len);
    unsigned copies = 1;
    uint64_t due = now + o->delay_ms;
    const char *what = "forward";

    ct->in++;
    if (o->max_size != 0 && len > o->max_size) {
        ct->dropped_size++;
        what = "drop (size)";
        goto out;
    }
    if (!eligible)
        ct->spared++;
    if (eligible && u_loss * 100.0 < o->loss[dir]) {
        ct->dropped_loss++;
        what = "drop (loss)";
        goto out;
    }
    if (eligible && u_dup * 100.0 < o->dup) {
        copies = 2;
        ct->duplicated++;
        what = "duplicate";
    }
    if (o->jitter_ms != 0) {
        /* uniform in [-J, +J], never before now */
        int64_t j = (int64_t)(u_jitter * (double)(2 * o->jitter_ms + 1)) -
                    (int64_t)o->jitter_ms;
        due = j < 0 && (uint64_t)-j > o->delay_ms ? now : (uint64_t)((int64_t)due + j);
    }
    if (eligible && f->hold.data == NULL && u_reorder * 100.0 < o->reorder) {
        f->hold.data = malloc(len > 0 ? len : 1);
        if (f->hold.data != NULL) {
            memcpy(f->hold.data, data, len);
            f->hold.len = len;
            f->hold.copies = copies;
            f->hold.since = now;
            f->hold.due = due;
            what = copies == 2 ? "duplicate, hold back" : "hold back";
            goto out;
        }
    }
    for (unsigned k = 0; k < copies; k++)
        enqueue(c, dir, data, len, due);
    if (f->hold.data != NULL) {
        /* after this one: same time or later, and a later sequence number */
        uint64_t hdue = f->hold.due > due ? f->hold.due : due;
        for (unsigned k = 0; k < f->hold.copies; k++)
            enqueue(c, dir, f->hold.data, f->hold.len, hdue);
        free(f->hold.data);
        f->hold.data = NULL;
        ct->reordered++;
    }
out:
    if (o->verbose)
        fprintf(stderr, PROG ": %s %s #%llu %zu bytes%s: %s\n", dir_name[dir],
                px.clients[c].name, (unsigned long long)ct->in, len,
                eligible ? "" : " (spared)", what);
}

/* ------------------------------------------------------------------ sockets */

static int find_or_add_client(const struct sockaddr_storage *from, socklen_t fromlen)
{
    client *cl;
    int fd;

    for (unsigned c = 0; c < px.nclients; c++)
        if (same_addr(&px.clients[c].addr, from))
            return (int)c;
    if (px.nclients == MAX_CLIENTS)
        return -1;
    fd = socket(px.to.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || !set_nonblock(fd) ||
        connect(fd, (const struct sockaddr *)&px.to, px.tolen) != 0) {
        fprintf(stderr, PROG ": upstream socket: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    cl = &px.clients[px.nclients];
    memset(cl, 0, sizeof *cl);
    memcpy(&cl->addr, from, fromlen);
    cl->addrlen = fromlen;
    cl->fd = fd;
    addr_str((const struct sockaddr *)from, fromlen, cl->name);
    for (int d = 0; d < NDIR; d++)
        cl->flows[d].rng = flow_seed(px.opt->seed, px.nclients, d);
    if (!px.opt->quiet) {
        struct sockaddr_storage local;
        socklen_t locallen = sizeof local;
        char up[ADDR_STRLEN] = "?";

        if (getsockname(fd, (struct sockaddr *)&local, &locallen) == 0)
            addr_str((const struct sockaddr *)&local, locallen, up);
        fprintf(stderr, PROG ": client %u: %s, upstream from %s\n", px.nclients, cl->name, up);
    }
    return (int)px.nclients++;
}

static void recv_from_clients(uint64_t now)
{
    for (int i = 0; i < RECV_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(px.listen_fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
                             &fromlen);
        int c;

        if (n < 0)
            return; /* EAGAIN, or an ICMP error for an earlier send: nothing to read */
        c = find_or_add_client(&from, fromlen);
        if (c < 0) {
            px.refused++;
            continue;
        }
        impair((unsigned)c, UP, buf, (size_t)n, now);
    }
}

static void recv_from_server(unsigned c, uint64_t now)
{
    for (int i = 0; i < RECV_BATCH; i++) {
        ssize_t n = recv(px.clients[c].fd, buf, sizeof buf, 0);
        if (n < 0)
            return; /* EAGAIN; ECONNREFUSED: the server is not (yet) there */
        impair(c, DOWN, buf, (size_t)n, now);
    }
}

static int open_listener(const char *spec)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char name[ADDR_STRLEN];
    int fd;

    if (!parse_endpoint("--listen", spec, "127.0.0.1", &addr, &addrlen))
        return -2;
    fd = socket(addr.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || !set_nonblock(fd) || bind(fd, (struct sockaddr *)&addr, addrlen) != 0) {
        fprintf(stderr, PROG ": --listen %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    addrlen = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) != 0) {
        fprintf(stderr, PROG ": getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    addr_str((struct sockaddr *)&addr, addrlen, name);
    fprintf(stderr, "listening on %s\n", name);
    return fd;
}

/* ------------------------------------------------------------------ options */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " --listen [ADDR:]PORT --to ADDR:PORT [--seed N]\n"
            "       [--loss PCT | --loss-up PCT --loss-down PCT] [--dup PCT] [--reorder PCT]\n"
            "       [--delay MS] [--jitter MS] [--max-size BYTES] [--handshake-only]\n"
            "       [--duration S] [--quiet] [--verbose]\n"
            "\n"
            "  --listen [ADDR:]PORT  where clients send (ADDR default 127.0.0.1; PORT 0: any)\n"
            "  --to ADDR:PORT        the server; one upstream socket per client address\n"
            "  --seed N              seeds every random choice (default: from the clock)\n"
            "  --loss PCT            drop datagrams both ways with this probability (0-100)\n"
            "  --loss-up PCT         ... client to server only\n"
            "  --loss-down PCT       ... server to client only\n"
            "  --dup PCT             send a datagram twice\n"
            "  --reorder PCT         hold a datagram back and send it after the next one\n"
            "  --delay MS            delay every datagram\n"
            "  --jitter MS           add a uniform -MS..+MS to the delay\n"
            "  --max-size BYTES      drop datagrams longer than this (a link MTU)\n"
            "  --handshake-only      loss, dup and reorder hit only datagrams that begin\n"
            "                        with a DTLS 1.2 handshake or change_cipher_spec record\n"
            "  --duration S          exit after S seconds (default: at SIGINT or SIGTERM)\n"
            "  --quiet               print only errors and the counters at exit\n"
            "  --verbose             one line per datagram\n"
            "\n"
            "At exit the counters of each direction are printed on stderr.\n");
}

static bool parse_pct(const char *opt, const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 100.0)) {
        fprintf(stderr, PROG ": --%s wants a percentage from 0 to 100, not \"%s\"\n", opt, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_ulong(const char *opt, const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v > max) {
        fprintf(stderr, PROG ": --%s wants a number from 0 to %lu, not \"%s\"\n", opt, max, s);
        return false;
    }
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, impair_opts *opt)
{
    enum { O_LISTEN = 256, O_TO, O_SEED, O_LOSS, O_LOSS_UP, O_LOSS_DOWN, O_DUP, O_REORDER,
           O_DELAY, O_JITTER, O_MAX_SIZE, O_HS_ONLY, O_DURATION, O_QUIET };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"to", required_argument, NULL, O_TO},
        {"seed", required_argument, NULL, O_SEED},
        {"loss", required_argument, NULL, O_LOSS},
        {"loss-up", required_argument, NULL, O_LOSS_UP},
        {"loss-down", required_argument, NULL, O_LOSS_DOWN},
        {"dup", required_argument, NULL, O_DUP},
        {"reorder", required_argument, NULL, O_REORDER},
        {"delay", required_argument, NULL, O_DELAY},
        {"jitter", required_argument, NULL, O_JITTER},
        {"max-size", required_argument, NULL, O_MAX_SIZE},
        {"handshake-only", no_argument, NULL, O_HS_ONLY},
        {"duration", required_argument, NULL, O_DURATION},
        {"quiet", no_argument, NULL, O_QUIET},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    const char *name;
    unsigned long v;
    bool ok = true;
    int ch, idx;

    memset(opt, 0, sizeof *opt);
    while ((ch = getopt_long(argc, argv, "qv", longopts, &idx)) != -1) {
        name = ch >= O_LISTEN ? longopts[idx].name : "";
        switch (ch) {
        case O_LISTEN: opt->listen = optarg; break;
        case O_TO: opt->to = optarg; break;
        case O_SEED:
            ok = parse_ulong(name, optarg, ULONG_MAX, &v);
            opt->seed = v;
            opt->seed_given = true;
            break;
        case O_LOSS:
            ok = parse_pct(name, optarg, &opt->loss[UP]);
            opt->loss[DOWN] = opt->loss[UP];
            break;
        case O_LOSS_UP: ok = parse_pct(name, optarg, &opt->loss[UP]); break;
        case O_LOSS_DOWN: ok = parse_pct(name, optarg, &opt->loss[DOWN]); break;
        case O_DUP: ok = parse_pct(name, optarg, &opt->dup); break;
        case O_REORDER: ok = parse_pct(name, optarg, &opt->reorder); break;
        case O_DELAY: ok = parse_ulong(name, optarg, 60000, &opt->delay_ms); break;
        case O_JITTER: ok = parse_ulong(name, optarg, 60000, &opt->jitter_ms); break;
        case O_MAX_SIZE: ok = parse_ulong(name, optarg, DGRAM_MAX, &opt->max_size); break;
        case O_DURATION: ok = parse_ulong(name, optarg, 86400, &opt->duration_s); break;
        case O_HS_ONLY: opt->handshake_only = true; break;
        case O_QUIET: case 'q': opt->quiet = true; break;
        case 'v': opt->verbose = true; break;
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
        if (!ok)
            return 2;
    }
    if (optind != argc) {
        fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (opt->listen == NULL || opt->to == NULL) {
        fprintf(stderr, PROG ": --listen and --to are required (--help for more)\n");
        return 2;
    }
    if (!opt->seed_given)
        opt->seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    return 0;
}

/* ------------------------------------------------------------------ main */

static void print_counters(void)
{
    for (int d = 0; d < NDIR; d++) {
        counters *ct = &px.ctr[d];
        fprintf(stderr,
                PROG ": %s: in %llu, forwarded %llu, dropped by loss %llu, dropped by size %llu, "
                "duplicated %llu, reordered %llu, spared %llu, queue full %llu, "
                "send errors %llu, unsent %llu\n",
                dir_name[d], (unsigned long long)ct->in, (unsigned long long)ct->forwarded,
                (unsigned long long)ct->dropped_loss, (unsigned long long)ct->dropped_size,
                (unsigned long long)ct->duplicated, (unsigned long long)ct->reordered,
                (unsigned long long)ct->spared, (unsigned long long)ct->queue_full,
                (unsigned long long)ct->send_err, (unsigned long long)ct->unsent);
    }
    fprintf(stderr, PROG ": clients %u, refused %llu, seed %llu\n", px.nclients,
            (unsigned long long)px.refused, (unsigned long long)px.opt->seed);
}

/* What is still queued or held is counted as unsent and freed. */
static void discard_pending(void)
{
    for (size_t i = 0; i < px.nqueue; i++) {
        px.ctr[px.queue[i].dir].unsent++;
        free(px.queue[i].data);
    }
    px.nqueue = 0;
    for (unsigned c = 0; c < px.nclients; c++) {
        for (int d = 0; d < NDIR; d++) {
            held *h = &px.clients[c].flows[d].hold;
            if (h->data != NULL)
                px.ctr[d].unsent += h->copies;
            free(h->data);
            h->data = NULL;
        }
        close(px.clients[c].fd);
    }
}

int main(int argc, char **argv)
{
    impair_opts opt;
    struct pollfd pfd[2 + MAX_CLIENTS];
    uint64_t end = UINT64_MAX;
    int rc, sigfd;

    rc = parse_args(argc, argv, &opt);
    if (rc != 0)
        return rc;
    px.opt = &opt;
    if (!parse_endpoint("--to", opt.to, NULL, &px.to, &px.tolen))
        return 2;
    sigfd = signals_init();
    if (sigfd < 0) {
        fprintf(stderr, PROG ": signals: %s\n", strerror(errno));
        return 1;
    }
    px.listen_fd = open_listener(opt.listen);
    if (px.listen_fd < 0)
        return px.listen_fd == -2 ? 2 : 1;
    if (!opt.quiet) {
        char to[ADDR_STRLEN];
        addr_str((struct sockaddr *)&px.to, px.tolen, to);
        fprintf(stderr, PROG ": to %s, seed %llu\n", to, (unsigned long long)opt.seed);
    }
    if (opt.duration_s != 0)
        end = now_ms() + opt.duration_s * 1000u;

    for (;;) {
        uint64_t now = now_ms(), wake;
        nfds_t nfd = 0;
        int timeout;

        run_timers(now);
        if (now >= end)
            break;
        wake = min_u64(next_timer(), end);
        timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 : (int)min_u64(wake - now, INT_MAX);
        pfd[nfd++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        pfd[nfd++] = (struct pollfd){.fd = px.listen_fd, .events = POLLIN};
        for (unsigned c = 0; c < px.nclients; c++)
            pfd[nfd++] = (struct pollfd){.fd = px.clients[c].fd, .events = POLLIN};
        rc = poll(pfd, nfd, timeout);
        if (rc < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            break;
        }
        if (rc <= 0)
            continue;
        if (pfd[0].revents != 0)
            break;
        now = now_ms();
        /* Only the clients polled this turn: a client added below has no entry yet. */
        for (nfds_t i = 2; i < nfd; i++)
            if (pfd[i].revents != 0)
                recv_from_server((unsigned)(i - 2), now);
        if (pfd[1].revents != 0)
            recv_from_clients(now);
    }
    discard_pending();
    print_counters();
    close(px.listen_fd);
    return 0;
}
