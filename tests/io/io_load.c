/*
 * io_load.c - tern-io-load: many tern client associations at once against one
 * server, from this one process, each handshaking and exchanging records; used by
 * the io.load500 test and the endpoint benchmark.
 *
 *     tern-io-load --port N [--host 127.0.0.1] [--clients 500] [--messages 3]
 *                  [--ca FILE] [--servername localhost] [--timeout S]
 *
 * Each association has its own endpoint (a server tells its peers apart by source
 * port, so many associations to one server need many sockets); all of them are
 * started together and driven by one epoll loop, woken by any socket or the
 * earliest endpoint deadline. An association is done when every one of its
 * messages has come back; all stay open until all are done (so the server holds
 * them all at once), then all close. Prints one summary line; exit 0 when every
 * association completed its handshake and got every echo within --timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tern/tern.h"
#include "tern/tern_io.h"

typedef struct client {
    tern_endpoint *ep;
    tern_assoc *a;
    unsigned sent, echoed;
    bool done, failed;
} client;

static void usage(void)
{
    fprintf(stderr, "usage: tern-io-load --port N [--host H] [--clients N] [--messages N]\n"
                    "       [--ca FILE] [--servername NAME] [--timeout S]\n");
    exit(2);
}

/* Send the next messages and check what came back. */
static void service(client *c, unsigned idx, unsigned messages)
{
    char want[64], buf[64];
    size_t n;
    if (c->done || c->failed)
        return;
    tern_state st = tern_assoc_state(c->a);
    if (st == TERN_STATE_FAILED || st == TERN_STATE_CLOSED) {
        c->failed = true;
        return;
    }
    if (st != TERN_STATE_ESTABLISHED)
        return;
    while (tern_assoc_read(c->a, (uint8_t *)buf, sizeof buf - 1, &n, 0) == TERN_OK) {
        buf[n] = '\0';
        snprintf(want, sizeof want, "client %u message %u", idx, c->echoed);
        if (strcmp(buf, want) != 0) {
            fprintf(stderr, "tern-io-load: client %u got \"%s\", not \"%s\"\n", idx, buf, want);
            c->failed = true;
            return;
        }
        c->echoed++;
    }
    /* One message in flight at a time: a lost one shows as a timeout. */
    if (c->sent == c->echoed && c->sent < messages) {
        snprintf(want, sizeof want, "client %u message %u", idx, c->sent);
        if (tern_assoc_write(c->a, (const uint8_t *)want, strlen(want), 0) == TERN_OK)
            c->sent++;
    }
    if (c->echoed == messages)
        c->done = true;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = NULL, *ca = NULL, *name = "localhost";
    unsigned nclients = 500, messages = 3, timeout_s = 60;
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},    {"port", required_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'n'}, {"messages", required_argument, NULL, 'm'},
        {"ca", required_argument, NULL, 'c'},      {"servername", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'n':
            nclients = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            messages = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'c':
            ca = optarg;
            break;
        case 's':
            name = optarg;
            break;
        case 't':
            timeout_s = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            usage();
        }
    }
    if (port == NULL || nclients == 0 || timeout_s == 0)
        usage();

    tern_config *cfg = tern_config_new();
    if (cfg == NULL)
        return 1;
    if (ca != NULL) {
        if (tern_config_load_ca_file(cfg, ca) != TERN_OK) {
            fprintf(stderr, "tern-io-load: --ca %s: cannot load\n", ca);
            return 1;
        }
        tern_config_set_verify(cfg, TERN_VERIFY_PEER);
    } else {
        tern_config_set_verify(cfg, TERN_VERIFY_NONE);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        fprintf(stderr, "tern-io-load: %s port %s: no such address\n", host, port);
        return 1;
    }
    client *cl = calloc(nclients, sizeof *cl);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (cl == NULL || epfd < 0)
        return 1;

    uint64_t t0 = tern_endpoint_now(), deadline = t0 + (uint64_t)timeout_s * 1000;
    tern_endpoint_opts o;
    tern_endpoint_opts_init(&o);
    o.bind = res->ai_family == AF_INET6 ? "::1" : "127.0.0.1";
    o.accept = false;
    o.batch = 2;
    o.max_datagram = 4096;
    for (unsigned i = 0; i < nclients; i++) {
        tern_err err;
        cl[i].ep = tern_endpoint_new(cfg, &o, &err);
        if (cl[i].ep == NULL) {
            fprintf(stderr, "tern-io-load: endpoint %u: %s (%s)\n", i, tern_strerror(err),
                    strerror(errno));
            return 1;
        }
        cl[i].a = tern_endpoint_connect(cl[i].ep, res->ai_addr, res->ai_addrlen, name, &err);
        if (cl[i].a == NULL) {
            fprintf(stderr, "tern-io-load: connect %u: %s\n", i, tern_strerror(err));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, tern_endpoint_fd(cl[i].ep), &ev) != 0)
            return 1;
    }
    freeaddrinfo(res);
    tern_config_free(cfg);

    unsigned done = 0, failed = 0;
    uint64_t hs_ms_sum = 0;
    struct epoll_event evs[64];
    while (done + failed < nclients && tern_endpoint_now() < deadline) {
        uint64_t now = tern_endpoint_now(), wake = deadline;
        for (unsigned i = 0; i < nclients; i++) {
            uint64_t d = tern_endpoint_deadline(cl[i].ep);
            if (d < wake)
                wake = d;
        }
        int n = epoll_wait(epfd, evs, 64, wake <= now ? 0 : (int)(wake - now));
        if (n < 0 && errno != EINTR)
            return 1;
        now = tern_endpoint_now();
        for (int k = 0; k < n; k++)
            if (tern_endpoint_process(cl[evs[k].data.u32].ep, now) != TERN_OK)
                return 1;
        done = failed = 0;
        for (unsigned i = 0; i < nclients; i++) {
            client *c = &cl[i];
            if (tern_endpoint_deadline(c->ep) <= now &&
                tern_endpoint_process(c->ep, now) != TERN_OK)
                return 1;
            while (tern_endpoint_ready(c->ep) != NULL) {
                /* service() below looks at every association anyway */
            }
            service(c, i, messages);
            done += c->done;
            failed += c->failed;
        }
    }
    uint64_t ms = tern_endpoint_now() - t0;
    unsigned handshakes = 0;
    for (unsigned i = 0; i < nclients; i++) {
        tern_stats st;
        tern_conn_stats(tern_assoc_conn(cl[i].a), &st);
        if (st.handshake_ms > 0 || tern_conn_version(tern_assoc_conn(cl[i].a)) != 0) {
            handshakes++;
            hs_ms_sum += st.handshake_ms;
        }
    }
    printf("tern-io-load: %u/%u handshakes, %u/%u associations got all %u echoes, %u failed, "
           "in %llu ms (mean handshake %llu ms)\n",
           handshakes, nclients, done, nclients, messages, failed, (unsigned long long)ms,
           (unsigned long long)(handshakes ? hs_ms_sum / handshakes : 0));
    fflush(stdout);
    for (unsigned i = 0; i < nclients; i++) {
        tern_assoc_free(cl[i].a);
        tern_endpoint_free(cl[i].ep);
    }
    close(epfd);
    free(cl);
    return done == nclients ? 0 : 1;
}
