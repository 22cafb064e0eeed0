/*
 * tabby-probe: the lab's in-namespace traffic tool (no dependencies, starts in about a millisecond).
 *
 *   tabby-probe serve [--tell-source] [--tcp PORT]... [--udp PORT]...
 *       Listens on every address of the current network namespace (one dual-stack IPv6 socket per
 *       port when IPv6 exists, else IPv4). TCP: accepts and closes. UDP: echoes each datagram back
 *       to its sender. Prints "ready" on stdout once every port is bound, then closes stdout, so the
 *       caller can wait for that line. Exits 0 on SIGTERM/SIGINT.
 *       --tell-source: tell each client the source address this end saw (the lab's external host
 *       shows whether a pod's traffic was masqueraded): TCP writes "ADDR\n" before closing; UDP
 *       answers "DATAGRAM ADDR".
 *
 *   tabby-probe connect [--timeout-ms N] [--source] TARGET...
 *       TARGET is tcp:ADDR:PORT or udp:ADDR:PORT (IPv6 in brackets: tcp:[fd00::1]:80). Tries every
 *       target at once and prints one line per target, in argument order: "ok", or "fail REASON"
 *       (refused, timeout, unreachable, or the errno text). TCP is ok when the handshake completes;
 *       UDP is ok when the echo of a random token comes back (resent every 200 ms until timeout).
 *       --source: read the source address a `serve --tell-source` saw and print "ok ADDR".
 *
 *   tabby-probe http-status [--timeout-ms N] ADDR PORT PATH
 *       GETs http://ADDR:PORT/PATH and prints the status code (0 if there was no HTTP answer).
 *
 *   tabby-probe protocols
 *       Which transport protocols this kernel opens sockets for: one line each for tcp, udp and
 *       sctp, "NAME ok" or "NAME unsupported ERRNO-TEXT" (socket(AF_INET, SOCK_STREAM, proto)
 *       for tcp and sctp, SOCK_DGRAM for udp). Tests use it to say why SCTP probes were not run.
 *
 * Exit status: 0 when it ran (whatever the probes found), 2 on bad usage, 1 on a system error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define MAX_TARGETS 4096

static void usage(const char *why) {
  fprintf(stderr, "tabby-probe: %s\n"
                  "usage: tabby-probe serve [--tell-source] [--tcp PORT]... [--udp PORT]...\n"
                  "       tabby-probe connect [--timeout-ms N] [--source] tcp:ADDR:PORT|udp:ADDR:PORT...\n"
                  "       tabby-probe http-status [--timeout-ms N] ADDR PORT PATH\n"
                  "       tabby-probe protocols\n",
          why);
  exit(2);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int parse_port(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) return -1;
  return (int)v;
}

/* ---- serve ---------------------------------------------------------------------------------- */

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

/* Binds a wildcard socket of `type` on `port`: dual-stack IPv6 if possible, else IPv4. */
static int bind_wildcard(int type, int port) {
  int one = 1, zero = 0;
  int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0) return fd;
    close(fd);
  }
  fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_ANY)}};
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a4, sizeof a4) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* The peer's address as text; an IPv4-mapped IPv6 address is printed as IPv4. */
static void peer_text(const struct sockaddr_storage *a, char *out, size_t len) {
  if (a->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, out, (socklen_t)len);
    return;
  }
  const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(v6)) inet_ntop(AF_INET, &v6->s6_addr[12], out, (socklen_t)len);
  else inet_ntop(AF_INET6, v6, out, (socklen_t)len);
}

static int cmd_serve(int argc, char **argv) {
  struct pollfd fds[MAX_PORTS];
  int is_tcp[MAX_PORTS];
  int n = 0;
  int tell = 0;
  if (argc > 0 && strcmp(argv[0], "--tell-source") == 0) {
    tell = 1;
    argc--;
    argv++;
  }
  for (int i = 0; i < argc; i++) {
    int tcp = strcmp(argv[i], "--tcp") == 0;
    if (!tcp && strcmp(argv[i], "--udp") != 0) usage("serve takes --tcp PORT and --udp PORT");
    if (i + 1 >= argc) usage("missing port after --tcp/--udp");
    int port = parse_port(argv[++i]);
    if (port < 0) usage("port must be a number from 1 to 65535");
    if (n == MAX_PORTS) usage("too many ports");
    int fd = bind_wildcard(tcp ? SOCK_STREAM : SOCK_DGRAM, port);
    if (fd < 0 || (tcp && listen(fd, 128) != 0)) {
      fprintf(stderr, "tabby-probe: cannot listen on %s port %d: %s\n", tcp ? "TCP" : "UDP", port, strerror(errno));
      return 1;
    }
    fds[n].fd = fd;
    fds[n].events = POLLIN;
    is_tcp[n] = tcp;
    n++;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  printf("ready\n");
  fflush(stdout);
  fclose(stdout);

  char buf[65536];
  while (!stopping) {
    int r = poll(fds, (nfds_t)n, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("tabby-probe: poll");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (is_tcp[i]) {
        int c;
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        while ((c = accept4(fds[i].fd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC)) >= 0) {
          if (tell) {
            char line[INET6_ADDRSTRLEN + 2];
            peer_text(&peer, line, sizeof line - 1);
            strcat(line, "\n");
            if (write(c, line, strlen(line)) < 0) { /* the client went away: nothing to tell */ }
          }
          close(c);
          pl = sizeof peer;
        }
      } else {
        struct sockaddr_storage from;
        socklen_t fl;
        ssize_t got;
        while ((fl = sizeof from, got = recvfrom(fds[i].fd, buf, sizeof buf - INET6_ADDRSTRLEN - 2, 0, (struct sockaddr *)&from, &fl)) >= 0) {
          if (tell) {
            buf[got++] = ' ';
            peer_text(&from, buf + got, INET6_ADDRSTRLEN);
            got += (ssize_t)strlen(buf + got);
          }
          sendto(fds[i].fd, buf, (size_t)got, 0, (struct sockaddr *)&from, fl);
        }
      }
    }
  }
  return 0;
}

/* ---- connect -------------------------------------------------------------------------------- */

struct target {
  int tcp;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  int fd;
  int done; /* 0 while pending */
  int err;  /* 0 = reached, else the errno that ended the attempt */
  char token[32];
  long last_send;
  int reading;                           /* TCP with --source: connected, reading the source line */
  char source[INET6_ADDRSTRLEN + 1];     /* what the server saw, when it told */
};

static int want_source = 0;

/* Parses "tcp:10.0.0.1:80" or "udp:[fd00::1]:53" into t. Returns 0 or -1. */
static int parse_target(const char *text, struct target *t) {
  memset(t, 0, sizeof *t);
  t->fd = -1;
  if (strncmp(text, "tcp:", 4) == 0) t->tcp = 1;
  else if (strncmp(text, "udp:", 4) != 0) return -1;
  const char *rest = text + 4;
  char host[64];
  const char *portp;
  if (*rest == '[') {
    const char *close_b = strchr(rest, ']');
    if (!close_b || close_b[1] != ':' || (size_t)(close_b - rest - 1) >= sizeof host) return -1;
    memcpy(host, rest + 1, (size_t)(close_b - rest - 1));
    host[close_b - rest - 1] = '\0';
    portp = close_b + 2;
  } else {
    const char *colon = strrchr(rest, ':');
    if (!colon || (size_t)(colon - rest) >= sizeof host) return -1;
    memcpy(host, rest, (size_t)(colon - rest));
    host[colon - rest] = '\0';
    portp = colon + 1;
  }
  int port = parse_port(portp);
  if (port < 0) return -1;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    t->addrlen = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    t->addrlen = sizeof *a6;
  } else {
    return -1;
  }
  return 0;
}

static void finish(struct target *t, int err) {
  t->done = 1;
  t->err = err;
}

static void print_result(const struct target *t) {
  if (!t->done) { printf("fail timeout\n"); return; }
  switch (t->err) {
  case 0: printf(want_source && t->source[0] ? "ok %s\n" : "ok\n", t->source); break;
  case ECONNREFUSED: printf("fail refused\n"); break;
  case EHOSTUNREACH:
  case ENETUNREACH: printf("fail unreachable\n"); break;
  case ETIMEDOUT: printf("fail timeout\n"); break;
  default: printf("fail errno-%d\n", t->err); break;
  }
}

static void udp_send(struct target *t, long now) {
  if (send(t->fd, t->token, strlen(t->token), 0) < 0 && errno != EAGAIN) finish(t, errno);
  t->last_send = now;
}

static void start_target(struct target *t, long now, unsigned seed) {
  t->fd = socket(t->addr.ss_family, (t->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (t->fd < 0) { finish(t, errno); return; }
  if (connect(t->fd, (struct sockaddr *)&t->addr, t->addrlen) != 0 && errno != EINPROGRESS) {
    finish(t, errno);
    return;
  }
  if (t->tcp) return;
  snprintf(t->token, sizeof t->token, "tabby-probe %08x", seed);
  udp_send(t, now);
}

/* Advances t after poll reported revents on it. */
static void step_target(struct target *t, short revents) {
  int err = 0;
  socklen_t el = sizeof err;
  if (t->tcp && t->reading) {
    char line[INET6_ADDRSTRLEN + 2] = {0};
    ssize_t got = recv(t->fd, line, sizeof line - 1, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got > 0) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(t->source, sizeof t->source, "%s", line);
    }
    finish(t, 0); /* connected either way; the source is known if the server told it */
    return;
  }
  if (t->tcp) {
    if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
    getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err == 0 && want_source) t->reading = 1;
    else finish(t, err);
    return;
  }
  char buf[128];
  ssize_t got = recv(t->fd, buf, sizeof buf - 1, 0);
  if (got < 0) {
    if (errno != EAGAIN && errno != EINTR) finish(t, errno);
    return;
  }
  buf[got] = '\0';
  size_t tl = strlen(t->token);
  if (strncmp(buf, t->token, tl) == 0 && (buf[tl] == '\0' || buf[tl] == ' ')) {
    if (buf[tl] == ' ') snprintf(t->source, sizeof t->source, "%s", buf + tl + 1);
    finish(t, 0);
  }
}

static int run_targets(struct target *ts, int n, long timeout_ms) {
  static struct pollfd pfd[MAX_TARGETS];
  static int idx[MAX_TARGETS];
  long start = now_ms();
  unsigned seed = (unsigned)getpid() ^ (unsigned)start;
  for (int i = 0; i < n; i++) start_target(&ts[i], start, seed * 2654435761u + (unsigned)i);
  for (;;) {
    long now = now_ms();
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (ts[i].done) continue;
      if (!ts[i].tcp && now - ts[i].last_send >= 200) udp_send(&ts[i], now);
      if (ts[i].done) continue;
      pfd[m].fd = ts[i].fd;
      pfd[m].events = ts[i].tcp && !ts[i].reading ? POLLOUT : POLLIN;
      idx[m++] = i;
    }
    if (m == 0) break;
    long left = timeout_ms - (now - start);
    if (left <= 0) break;
    int wait = left < 200 ? (int)left : 200;
    int r = poll(pfd, (nfds_t)m, wait);
    if (r < 0 && errno != EINTR) { perror("tabby-probe: poll"); return 1; }
    for (int j = 0; r > 0 && j < m; j++)
      if (pfd[j].revents) step_target(&ts[idx[j]], pfd[j].revents);
  }
  for (int i = 0; i < n; i++) {
    print_result(&ts[i]);
    if (ts[i].fd >= 0) close(ts[i].fd);
  }
  return 0;
}

static long parse_timeout(int *argc, char ***argv) {
  long timeout = 1000;
  if (*argc >= 2 && strcmp((*argv)[0], "--timeout-ms") == 0) {
    char *end;
    timeout = strtol((*argv)[1], &end, 10);
    if (*end != '\0' || timeout < 1 || timeout > 600000) usage("--timeout-ms must be 1..600000");
    *argc -= 2;
    *argv += 2;
  }
  return timeout;
}

static int cmd_connect(int argc, char **argv) {
  long timeout = parse_timeout(&argc, &argv);
  if (argc > 0 && strcmp(argv[0], "--source") == 0) {
    want_source = 1;
    argc--;
    argv++;
  }
  if (argc > MAX_TARGETS) usage("too many targets");
  static struct target ts[MAX_TARGETS];
  for (int i = 0; i < argc; i++) {
    if (parse_target(argv[i], &ts[i]) != 0) {
      fprintf(stderr, "tabby-probe: bad target '%s' (want tcp:ADDR:PORT or udp:ADDR:PORT, IPv6 as [ADDR])\n", argv[i]);
      return 2;
    }
  }
  return run_targets(ts, argc, timeout);
}

/* ---- http-status ---------------------------------------------------------------------------- */

static int cmd_http_status(int argc, char **argv) {
  long timeout = parse_timeout(&argc, &argv);
  if (argc != 3) usage("http-status takes ADDR PORT PATH");
  char spec[128];
  snprintf(spec, sizeof spec, strchr(argv[0], ':') ? "tcp:[%s]:%s" : "tcp:%s:%s", argv[0], argv[1]);
  struct target t;
  if (parse_target(spec, &t) != 0) usage("bad ADDR or PORT");
  int fd = socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = (timeout % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int status = 0;
  if (fd >= 0 && connect(fd, (struct sockaddr *)&t.addr, t.addrlen) == 0) {
    char req[512];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[2], argv[0]);
    char resp[64] = {0};
    if (write(fd, req, (size_t)len) == len) {
      size_t have = 0;
      ssize_t got;
      while (have < sizeof resp - 1 && (got = read(fd, resp + have, sizeof resp - 1 - have)) > 0) have += (size_t)got;
      if (strncmp(resp, "HTTP/1.", 7) == 0 && have >= 12) status = atoi(resp + 9);
    }
  }
  if (fd >= 0) close(fd);
  printf("%d\n", status);
  return 0;
}

/* ---- protocols ---------------------------------------------------------------------------- */

static int cmd_protocols(void) {
  static const struct { const char *name; int type, proto; } ps[] = {
      {"tcp", SOCK_STREAM, IPPROTO_TCP}, {"udp", SOCK_DGRAM, IPPROTO_UDP}, {"sctp", SOCK_STREAM, IPPROTO_SCTP}};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    int fd = socket(AF_INET, ps[i].type | SOCK_CLOEXEC, ps[i].proto);
    if (fd >= 0) {
      printf("%s ok\n", ps[i].name);
      close(fd);
    } else {
      printf("%s unsupported %s\n", ps[i].name, strerror(errno));
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage("missing command");
  if (strcmp(argv[1], "serve") == 0) return cmd_serve(argc - 2, argv + 2);
  if (strcmp(argv[1], "connect") == 0) return cmd_connect(argc - 2, argv + 2);
  if (strcmp(argv[1], "http-status") == 0) return cmd_http_status(argc - 2, argv + 2);
  if (strcmp(argv[1], "protocols") == 0 && argc == 2) return cmd_protocols();
  usage("unknown command");
  return 2;
}
