/*
 * echo_server.c - a DTLS echo server for many clients at once, on one UDP port,
 * with an epoll loop.
 *
 *     example-echo-server PORT CERT.pem KEY.pem
 *
 * One tern_endpoint owns the UDP socket. It answers new clients by itself (with a
 * stateless cookie, so a flood of fake ClientHellos costs no memory), runs the
 * handshakes, and tells us when something happened. Our loop only:
 *   - sleeps in epoll_wait() until a datagram arrives or a timer of tern's is due;
 *   - calls tern_endpoint_process() to let tern do its work;
 *   - takes new clients from tern_endpoint_accept() and clients with news from
 *     tern_endpoint_ready(), and echoes what they sent.
 * Ctrl-C (SIGINT) or SIGTERM stop it cleanly.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include <tern/tern.h>
#include <tern/tern_io.h>

#define MAX_CLIENTS 1024
static tern_assoc *clients[MAX_CLIENTS]; /* ours to free: every accepted client */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1; /* epoll_wait() returns with EINTR, the loop ends */
}

/* Forget a client: free its association (this sends close_notify if still open). */
static void drop(tern_assoc *a)
{
    tern_assoc **slot = tern_assoc_user(a);
    *slot = NULL;
    tern_assoc_free(a);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT CERT.pem KEY.pem\n", argv[0]);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* 1. The config: our certificate chain and private key. */
    tern_config *cfg = tern_config_new();
    if (cfg == NULL || tern_config_load_certificate(cfg, argv[2], argv[3]) != TERN_OK) {
        fprintf(stderr, "cannot load %s and %s\n", argv[2], argv[3]);
        return 1;
    }

    /* 2. The endpoint: a UDP socket on PORT (IPv4 and IPv6), accepting clients. */
    tern_endpoint_opts opts;
    tern_endpoint_opts_init(&opts); /* the defaults, then what we want to change */
    opts.port = (uint16_t)atoi(argv[1]);
    opts.accept = true;
    tern_err err;
    tern_endpoint *ep = tern_endpoint_new(cfg, &opts, &err);
    tern_config_free(cfg); /* the endpoint keeps its own reference */
    if (ep == NULL) {
        perror("cannot open the UDP port");
        return 1;
    }
    struct sockaddr_storage me;
    socklen_t melen;
    if (tern_endpoint_local_addr(ep, &me, &melen) == TERN_OK)
        printf("listening on port %u\n", /* the port sits at the same place in IPv6 */
               ntohs(((struct sockaddr_in *)&me)->sin_port));
    fflush(stdout);

    /* 3. epoll watches the endpoint's socket (level-triggered, the default). */
    int epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(epfd, EPOLL_CTL_ADD, tern_endpoint_fd(ep), &ev);

    while (!stop) {
        /* Sleep until a datagram comes or tern's next timer (a retransmission,
         * a timeout) is due: tern_endpoint_timeout() says how long that is. */
        epoll_wait(epfd, &ev, 1, tern_endpoint_timeout(ep, tern_endpoint_now()));

        /* Let tern read the datagrams, run its timers and send its answers. */
        if (tern_endpoint_process(ep, tern_endpoint_now()) != TERN_OK)
            break;

        /* New clients: their handshake has completed. */
        tern_assoc *a;
        while ((a = tern_endpoint_accept(ep)) != NULL) {
            int i = 0;
            while (i < MAX_CLIENTS && clients[i] != NULL)
                i++;
            if (i == MAX_CLIENTS) {
                tern_assoc_free(a); /* full: say goodbye */
                continue;
            }
            clients[i] = a;
            tern_assoc_set_user(a, &clients[i]); /* to find the slot again */
            printf("client %d connected\n", i);
        }

        /* Clients with news: records to echo, or the end of the connection. */
        while ((a = tern_endpoint_ready(ep)) != NULL) {
            uint8_t buf[1500];
            size_t n;
            while ((err = tern_assoc_read(a, buf, sizeof buf, &n, 0)) == TERN_OK) {
                if (tern_assoc_write(a, buf, n, 0) != TERN_OK)
                    printf("an echo was lost\n"); /* as any UDP datagram may be */
            }
            if (err != TERN_ERR_AGAIN) { /* closed by the client, failed, or idle */
                printf("client %d gone: %s\n", (int)((tern_assoc **)tern_assoc_user(a) - clients),
                       tern_assoc_end_name(tern_assoc_end_reason(a)));
                drop(a);
            }
        }
        fflush(stdout);
    }

    /* 4. Goodbye to everyone still connected, then close the socket. */
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i] != NULL)
            drop(clients[i]);
    tern_endpoint_free(ep);
    return 0;
}
