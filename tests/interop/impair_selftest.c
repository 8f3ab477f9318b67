/*
 * impair_selftest.c - tern-impair checked against what actually crossed it.
 *
 * How it works: each case starts tern-impair (TERN_IMPAIR_PATH, set by CMake) with
 * --listen 127.0.0.1:0 in front of an echo "server" socket of this process, learns
 * its port from the "listening on" line, and sends numbered datagrams from one or two
 * client sockets. The server socket sends every datagram back to where it came from
 * (the proxy's upstream socket for that client), so both directions are exercised.
 * Every arrival is recorded, in order, at the server and at the clients. Once the
 * traffic is over the proxy gets SIGTERM, and the counter lines it prints at exit
 * are parsed and compared with the records: a counter must equal what arrived, not
 * merely look plausible. Each datagram carries its client's number and its own
 * number in its first five bytes.
 *
 * Loopback does not lose, duplicate or reorder datagrams of this size at this rate,
 * so whatever happens to them is the proxy's doing.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAX_DGRAMS 4096
#define PAYLOAD_MAX 2048
#define HDR 5 /* client number, then the datagram's number (big-endian u32) */

enum { UP, DOWN };

typedef struct counters {
    unsigned long long in, forwarded, loss, size, dup, reordered, spared, full, send_err,
        unsent;
} counters;

typedef struct proxy_run {
    pid_t pid;
    int errfd;
    int port;
    char log[65536];
    size_t loglen;
    counters ctr[2];
    unsigned clients;
} proxy_run;

/* One arrival: who sent it, its number, its size, when (ms). */
typedef struct arrival {
    unsigned client, idx;
    size_t len;
    uint64_t at;
} arrival;

typedef struct traffic {
    unsigned nclients;   /* 1 or 2 */
    unsigned n;          /* datagrams per client */
    size_t (*size)(unsigned idx);
    unsigned spacing_ms; /* between two sends of one client (1 ms at least: see run_traffic) */
    unsigned quiet_ms;   /* after the last send, wait this long with nothing arriving */
    /* results */
    arrival at_server[MAX_DGRAMS], at_client[MAX_DGRAMS];
    size_t n_server, n_client;
    uint64_t sent_at[2][MAX_DGRAMS];
    bool misrouted; /* a reply reached the wrong client socket */
} traffic;

static proxy_run px;
static traffic tr;
static int srv_fd = -1, cli_fd[2] = {-1, -1};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------ the proxy */

/* Read what the proxy printed so far (waiting up to |ms| for something). */
static void read_log(int ms)
{
    struct pollfd p = {.fd = px.errfd, .events = POLLIN};
    if (px.errfd < 0 || poll(&p, 1, ms) <= 0)
        return;
    ssize_t n = read(px.errfd, px.log + px.loglen, sizeof px.log - 1 - px.loglen);
    if (n > 0)
        px.loglen += (size_t)n;
    else
        close(px.errfd), px.errfd = -1;
    px.log[px.loglen] = '\0';
}

/* Kill a proxy left running by a failed case. */
static void proxy_reap(void)
{
    if (px.pid > 0) {
        kill(px.pid, SIGKILL);
        waitpid(px.pid, NULL, 0);
        px.pid = 0;
    }
    if (px.errfd >= 0)
        close(px.errfd);
    px.errfd = -1;
}

static int bound_socket(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : -1;
}

static void close_sockets(void)
{
    if (srv_fd >= 0)
        close(srv_fd);
    for (int i = 0; i < 2; i++)
        if (cli_fd[i] >= 0)
            close(cli_fd[i]);
    srv_fd = cli_fd[0] = cli_fd[1] = -1;
}

/* Fresh sockets and a proxy in front of the server socket, with |args| (NULL-ended)
 * after --listen and --to. False if it did not say where it listens within 5 s. */
static bool proxy_start(const char *const *args)
{
    char to[32];
    const char *argv[40];
    size_t n = 0;
    int pipefd[2];
    uint64_t end;

    proxy_reap();
    close_sockets();
    memset(&px, 0, sizeof px);
    px.errfd = -1;
    srv_fd = bound_socket();
    cli_fd[0] = bound_socket();
    cli_fd[1] = bound_socket();
    if (srv_fd < 0 || cli_fd[0] < 0 || cli_fd[1] < 0)
        return false;
    snprintf(to, sizeof to, "127.0.0.1:%d", port_of(srv_fd));
    argv[n++] = TERN_IMPAIR_PATH;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--to";
    argv[n++] = to;
    argv[n++] = "--duration"; /* a bound, should this test hang */
    argv[n++] = "60";
    while (*args != NULL && n < 39)
        argv[n++] = *args++;
    argv[n] = NULL;
    if (pipe(pipefd) != 0)
        return false;
    px.pid = fork();
    if (px.pid < 0)
        return false;
    if (px.pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    px.errfd = pipefd[0];
    end = now_ms() + 5000;
    while (now_ms() < end && px.errfd >= 0) {
        const char *l = strstr(px.log, "listening on 127.0.0.1:");
        if (l != NULL && strchr(l, '\n') != NULL) {
            px.port = atoi(l + strlen("listening on 127.0.0.1:"));
            return px.port > 0;
        }
        read_log(100);
    }
    fprintf(stderr, "  tern-impair did not start:\n%s\n", px.log);
    return false;
}

static bool parse_dir(const char *dir, counters *c)
{
    char key[32];
    const char *l;

    snprintf(key, sizeof key, "tern-impair: %s:", dir);
    l = strstr(px.log, key);
    return l != NULL &&
           sscanf(l + strlen(key),
                  " in %llu, forwarded %llu, dropped by loss %llu, dropped by size %llu, "
                  "duplicated %llu, reordered %llu, spared %llu, queue full %llu, "
                  "send errors %llu, unsent %llu",
                  &c->in, &c->forwarded, &c->loss, &c->size, &c->dup, &c->reordered,
                  &c->spared, &c->full, &c->send_err, &c->unsent) == 10;
}

/* SIGTERM, wait (5 s at most), parse the counters. */
static bool proxy_stop(void)
{
    uint64_t end = now_ms() + 5000;
    int status = -1;
    const char *l;

    kill(px.pid, SIGTERM);
    while (now_ms() < end && waitpid(px.pid, &status, WNOHANG) == 0)
        read_log(20);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "  tern-impair did not exit 0 on SIGTERM:\n%s\n", px.log);
        proxy_reap();
        return false;
    }
    px.pid = 0;
    while (px.errfd >= 0)
        read_log(1000);
    l = strstr(px.log, "tern-impair: clients ");
    if (!parse_dir("up", &px.ctr[UP]) || !parse_dir("down", &px.ctr[DOWN]) || l == NULL ||
        sscanf(l, "tern-impair: clients %u", &px.clients) != 1) {
        fprintf(stderr, "  counters not found in:\n%s\n", px.log);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ traffic */

static size_t size_small(unsigned idx)
{
    (void)idx;
    return 100;
}

static void record(arrival *list, size_t *n, const uint8_t *b, size_t len)
{
    if (*n == MAX_DGRAMS || len < HDR)
        return;
    list[*n] = (arrival){.client = b[0],
                         .idx = (unsigned)b[1] << 24 | (unsigned)b[2] << 16 |
                                (unsigned)b[3] << 8 | b[4],
                         .len = len,
                         .at = now_ms()};
    (*n)++;
}

/* Receive everything waiting: the server echoes, the clients record. */
static void pump(int ms)
{
    struct pollfd p[3] = {{.fd = srv_fd, .events = POLLIN},
                          {.fd = cli_fd[0], .events = POLLIN},
                          {.fd = cli_fd[1], .events = POLLIN}};
    static uint8_t b[65536];

    if (poll(p, 3, ms) <= 0)
        return;
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(srv_fd, b, sizeof b, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            break;
        record(tr.at_server, &tr.n_server, b, (size_t)n);
        sendto(srv_fd, b, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
    }
    for (unsigned c = 0; c < 2; c++) {
        for (;;) {
            ssize_t n = recv(cli_fd[c], b, sizeof b, 0);
            if (n < 0)
                break;
            if (n >= HDR && b[0] != c)
                tr.misrouted = true;
            record(tr.at_client, &tr.n_client, b, (size_t)n);
        }
    }
}

/* Send tr.n datagrams from each client through the proxy, echo them, and wait until
 * nothing has arrived for tr.quiet_ms. */
static void run_traffic(void)
{
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)px.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    static uint8_t b[PAYLOAD_MAX];
    uint64_t last;
    size_t seen;

    tr.n_server = tr.n_client = 0;
    tr.misrouted = false;
    for (unsigned i = 0; i < tr.n; i++) {
        for (unsigned c = 0; c < tr.nclients; c++) {
            size_t len = tr.size(i);
            memset(b, 0xa5, len);
            b[0] = (uint8_t)c;
            b[1] = (uint8_t)(i >> 24), b[2] = (uint8_t)(i >> 16);
            b[3] = (uint8_t)(i >> 8), b[4] = (uint8_t)i;
            tr.sent_at[c][i] = now_ms();
            sendto(cli_fd[c], b, len, 0, (struct sockaddr *)&to, sizeof to);
        }
        /* Paced, so that no socket buffer overflows: loopback drops nothing else. */
        pump(0);
        sleep_ms(tr.spacing_ms);
    }
    last = now_ms();
    seen = 0;
    while (now_ms() - last < tr.quiet_ms) {
        pump(10);
        if (tr.n_server + tr.n_client != seen) {
            seen = tr.n_server + tr.n_client;
            last = now_ms();
        }
    }
}

static size_t count_from(const arrival *list, size_t n, unsigned client)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += list[i].client == client;
    return k;
}

/* Arrivals whose number is below one seen before (a datagram that was overtaken). */
static size_t overtaken(const arrival *list, size_t n, const unsigned *rank)
{
    size_t k = 0;
    long max = -1;
    for (size_t i = 0; i < n; i++) {
        long r = rank != NULL ? (long)rank[list[i].idx] : (long)list[i].idx;
        if (r < max)
            k++;
        else
            max = r;
    }
    return k;
}

/* The proxy's own books balance. */
static bool balanced(const counters *c)
{
    return c->in + c->dup == c->forwarded + c->loss + c->size + c->full + c->send_err + c->unsent;
}

/* ------------------------------------------------------------------ cases */

/* Loss both ways: every counter equals what crossed, the rate is near what was asked. */
TEST(loss_counters_match_arrivals)
{
    const char *args[] = {"--loss", "30", "--seed", "7", "--quiet", NULL};
    CHECK(proxy_start(args));
    tr.nclients = 1, tr.n = 400, tr.size = size_small, tr.spacing_ms = 1, tr.quiet_ms = 300;
    run_traffic();
    CHECK(proxy_stop());
    counters *up = &px.ctr[UP], *down = &px.ctr[DOWN];
    CHECK_EQ(up->in, 400);
    CHECK_EQ(up->forwarded, tr.n_server);
    CHECK_EQ(up->loss, 400 - tr.n_server);
    CHECK_EQ(down->in, tr.n_server); /* everything that arrived was echoed */
    CHECK_EQ(down->forwarded, tr.n_client);
    CHECK_EQ(down->loss, tr.n_server - tr.n_client);
    CHECK(balanced(up) && balanced(down));
    CHECK_EQ(up->size + up->dup + up->reordered + down->size + down->dup + down->reordered, 0);
    /* 30 % of 400 is 120; the seed fixes it, these bounds only catch a wrong rate */
    CHECK_INT(up->loss, >=, 80);
    CHECK_INT(up->loss, <=, 160);
    CHECK_INT(down->loss, >=, 50);
    CHECK_INT(down->loss, <=, 130);
    CHECK_EQ(px.clients, 1);
}

/* The same seed drops the same datagrams; another seed does not. */
static unsigned char got_first[400], got_second[400], got_other[400];

static bool run_seed(const char *seed, unsigned char *got)
{
    const char *args[] = {"--loss", "30", "--seed", seed, "--quiet", NULL};
    if (!proxy_start(args))
        return false;
    tr.nclients = 1, tr.n = 400, tr.size = size_small, tr.spacing_ms = 1, tr.quiet_ms = 300;
    run_traffic();
    if (!proxy_stop())
        return false;
    memset(got, 0, 400);
    for (size_t i = 0; i < tr.n_client; i++)
        got[tr.at_client[i].idx] = 1;
    return true;
}

TEST(loss_is_replayed_by_its_seed)
{
    CHECK(run_seed("12345", got_first));
    CHECK(run_seed("12345", got_second));
    CHECK(run_seed("12346", got_other));
    CHECK(memcmp(got_first, got_second, sizeof got_first) == 0);
    CHECK(memcmp(got_first, got_other, sizeof got_first) != 0);
}

/* --loss-up and --loss-down are separate. */
TEST(loss_per_direction)
{
    const char *args[] = {"--loss-up", "0", "--loss-down", "50", "--seed", "3", "--quiet",
                          NULL};
    CHECK(proxy_start(args));
    tr.nclients = 1, tr.n = 200, tr.size = size_small, tr.spacing_ms = 1, tr.quiet_ms = 300;
    run_traffic();
    CHECK(proxy_stop());
    CHECK_EQ(px.ctr[UP].loss, 0);
    CHECK_EQ(tr.n_server, 200);
    CHECK_EQ(px.ctr[DOWN].loss, 200 - tr.n_client);
    CHECK_INT(px.ctr[DOWN].loss, >=, 60);
    CHECK_INT(px.ctr[DOWN].loss, <=, 140);
}

static size_t size_alternating(unsigned idx)
{
    return idx % 2 == 0 ? 1000 : 1001;
}

/* --max-size 1000: 1000 bytes pass, 1001 do not; counted as size drops. */
TEST(size_limit)
{
    const char *args[] = {"--max-size", "1000", "--quiet", NULL};
    CHECK(proxy_start(args));
    tr.nclients = 1, tr.n = 100, tr.size = size_alternating, tr.spacing_ms = 1, tr.quiet_ms = 300;
    run_traffic();
    CHECK(proxy_stop());
    CHECK_EQ(px.ctr[UP].in, 100);
    CHECK_EQ(px.ctr[UP].size, 50);
    CHECK_EQ(px.ctr[UP].forwarded, 50);
    CHECK_EQ(tr.n_server, 50);
    CHECK_EQ(tr.n_client, 50);
    for (size_t i = 0; i < tr.n_server; i++)
        CHECK_EQ(tr.at_server[i].len, 1000);
    CHECK_EQ(px.ctr[DOWN].size, 0);
}

/* --dup: each duplicate arrives, and only those. */
TEST(duplication)
{
    const char *args[] = {"--dup", "25", "--seed", "5", "--quiet", NULL};
    static unsigned copies[200];
    size_t twice = 0;

    CHECK(proxy_start(args));
    tr.nclients = 1, tr.n = 200, tr.size = size_small, tr.spacing_ms = 1, tr.quiet_ms = 300;
    run_traffic();
    CHECK(proxy_stop());
    memset(copies, 0, sizeof copies);
    for (size_t i = 0; i < tr.n_server; i++)
        copies[tr.at_server[i].idx]++;
    for (unsigned i = 0; i < 200; i++) {
        CHECK(copies[i] == 1 || copies[i] == 2);
        twice += copies[i] == 2;
    }
    CHECK_EQ(px.ctr[UP].dup, twice);
    CHECK_INT(twice, >=, 20);
    CHECK_EQ(px.ctr[UP].forwarded, tr.n_server);
    CHECK_EQ(px.ctr[DOWN].in, tr.n_server);
    CHECK_EQ(tr.n_client, tr.n_server + px.ctr[DOWN].dup);
    CHECK(balanced(&px.ctr[UP]) && balanced(&px.ctr[DOWN]));
}

/* --reorder: every datagram arrives, and exactly |reordered| of them were overtaken. */
TEST(reordering)
{
    const char *args[] = {"--reorder", "25", "--seed", "9", "--quiet", NULL};
    static unsigned rank[200];

    CHECK(proxy_start(args));
    /* spaced well under the 100 ms hold, so a held datagram always has a successor */
    tr.nclients = 1, tr.n = 200, tr.size = size_small, tr.spacing_ms = 2, tr.quiet_ms = 400;
    run_traffic();
    CHECK(proxy_stop());
    CHECK_EQ(tr.n_server, 200);
    CHECK_EQ(tr.n_client, 200);
    CHECK_INT(px.ctr[UP].reordered, >=, 20);
    /* the last datagram may have been held and released alone: not overtaken */
    CHECK_EQ(overtaken(tr.at_server, tr.n_server, NULL), px.ctr[UP].reordered);
    /* the echoes were reordered again, relative to the order the server sent them */
    for (unsigned i = 0; i < tr.n_server; i++)
        rank[tr.at_server[i].idx] = i;
    CHECK_EQ(overtaken(tr.at_client, tr.n_client, rank), px.ctr[DOWN].reordered);
    CHECK(balanced(&px.ctr[UP]) && balanced(&px.ctr[DOWN]));
}

/* --delay and --jitter: each way takes delay +- jitter. */
TEST(delay_and_jitter)
{
    const char *args[] = {"--delay", "60", "--jitter", "20", "--seed", "1", "--quiet", NULL};
    uint64_t lo = UINT64_MAX, hi = 0;

    CHECK(proxy_start(args));
    tr.nclients = 1, tr.n = 30, tr.size = size_small, tr.spacing_ms = 5, tr.quiet_ms = 400;
    run_traffic();
    CHECK(proxy_stop());
    CHECK_EQ(tr.n_client, 30);
    for (size_t i = 0; i < tr.n_client; i++) {
        uint64_t rtt = tr.at_client[i].at - tr.sent_at[0][tr.at_client[i].idx];
        lo = rtt < lo ? rtt : lo;
        hi = rtt > hi ? rtt : hi;
    }
    /* two ways of 40..80 ms; the clock has 1 ms steps; a loaded machine is late */
    CHECK_INT(lo, >=, 78);
    CHECK_INT(hi, <=, 160 + 150);
    CHECK_INT(hi - lo, >=, 10); /* the jitter is there */
}

/* Two clients: one upstream socket each, and each gets its own replies. */
TEST(two_clients)
{
    const char *args[] = {NULL};

    CHECK(proxy_start(args));
    tr.nclients = 2, tr.n = 50, tr.size = size_small, tr.spacing_ms = 1, tr.quiet_ms = 300;
    run_traffic();
    CHECK(proxy_stop());
    CHECK_EQ(px.clients, 2);
    CHECK(!tr.misrouted);
    CHECK_EQ(count_from(tr.at_client, tr.n_client, 0), 50);
    CHECK_EQ(count_from(tr.at_client, tr.n_client, 1), 50);
    CHECK_EQ(px.ctr[UP].forwarded, 100);
    CHECK_EQ(px.ctr[DOWN].forwarded, 100);
    CHECK(strstr(px.log, "client 1: 127.0.0.1:") != NULL); /* not --quiet: one line each */
}

/* --duration ends the proxy by itself, counters printed. */
TEST(duration_bounds_the_run)
{
    const char *argv[] = {TERN_IMPAIR_PATH, "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9",
                          "--duration", "1", "--quiet", NULL};
    int pipefd[2], status = -1;
    uint64_t start = now_ms(), end = start + 5000;
    pid_t pid;
    char log[4096];
    size_t len = 0;

    proxy_reap();
    CHECK(pipe(pipefd) == 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    while (now_ms() < end && waitpid(pid, &status, WNOHANG) == 0)
        sleep_ms(20);
    if (now_ms() >= end) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        CHECK(!"tern-impair ran past --duration");
    }
    for (ssize_t n; (n = read(pipefd[0], log + len, sizeof log - 1 - len)) > 0;)
        len += (size_t)n;
    close(pipefd[0]);
    log[len] = '\0';
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(now_ms() - start, >=, 950);
    CHECK(strstr(log, "tern-impair: up: in 0, forwarded 0,") != NULL);
    CHECK(strstr(log, "tern-impair: down: in 0,") != NULL);
}

/* Bad options are refused with status 2. */
TEST(usage_errors)
{
    static const char *const bad[][8] = {
        {"--listen", "0", NULL},                                  /* no --to */
        {"--listen", "0", "--to", "127.0.0.1", NULL},             /* no port */
        {"--listen", "0", "--to", "127.0.0.1:1", "--loss", "101", NULL},
        {"--listen", "0", "--to", "127.0.0.1:1", "--dup", "x", NULL},
        {"--listen", "0", "--to", "127.0.0.1:1", "extra", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[10] = {TERN_IMPAIR_PATH};
        int status = -1;
        pid_t pid;

        for (size_t k = 0; bad[i][k] != NULL; k++)
            argv[k + 1] = bad[i][k];
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 2);
            execv(argv[0], (char *const *)argv);
            _exit(127);
        }
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK_EQ(WEXITSTATUS(status), 2);
    }
}

__attribute__((constructor)) static void reap_at_exit(void)
{
    px.errfd = -1;
    atexit(proxy_reap);
}
