/*
 * tabby-sockopt: the TCP socket options Node.js cannot set, for the BGP speaker: TCP-MD5
 * signatures (RFC 2385, TCP_MD5SIG) and GTSM (RFC 5082: IP_TTL / IPV6_UNICAST_HOPS 255 and
 * IP_MINTTL / IPV6_MINHOPCOUNT).
 *
 *   tabby-sockopt apply
 *       Sets options on the socket at fd 3 (inherited from the speaker, which keeps using it: the
 *       file description is shared, so the options land on the speaker's own socket). Commands
 *       come on stdin, one a line:
 *         md5 ADDR HEXKEY     add or replace the TCP-MD5 key for peer ADDR (1..80 key bytes)
 *         md5 ADDR -          remove the key for ADDR
 *         ttl N               outgoing TTL / hop limit (1..255)
 *         minttl N            drop incoming segments with a smaller TTL / hop limit (0..255)
 *         savesyn             keep each accepted connection's SYN (TCP_SAVE_SYN, on a listener)
 *         synttl N            fail (status 3) when the saved SYN of this accepted connection came
 *                             with a TTL / hop limit below N; passes when none was saved (SYN
 *                             cookies), leaving IP_MINTTL as the only check
 *       On a listening socket, MD5 keys and TTL are copied by the kernel to each accepted socket.
 *
 *   tabby-sockopt connect --peer ADDR --port P [--source ADDR] [--ttl N] [--min-ttl N]
 *       Makes a TCP socket, sets the options (the MD5 key, if any, is the first stdin line as
 *       HEX; stdin is read to its end before connecting), binds, connects, prints
 *       "connected LOCAL LPORT" on stdout and relays bytes between the TCP connection and the
 *       stream socket at fd 3 until either side ends. Dies with its parent.
 *
 * Keys never appear in argv (visible in /proc) nor in any message. Exit status: 0 after a clean
 * end, 1 on a socket or connect error (reason on stderr, one line), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_MINTTL
#define IP_MINTTL 21
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

static void usage(const char *why) {
  fprintf(stderr, "tabby-sockopt: %s\n"
          "usage: tabby-sockopt apply                (socket at fd 3, commands on stdin)\n"
          "       tabby-sockopt connect --peer ADDR --port P [--source ADDR] [--ttl N] [--min-ttl N]\n", why);
  exit(2);
}

static void fail(const char *what) {
  fprintf(stderr, "tabby-sockopt: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long number(const char *s, long lo, long hi, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) usage(what);
  return v;
}

/* ADDR → sockaddr of the socket's family (an IPv4 peer on an IPv6 socket becomes ::ffff:a.b.c.d). */
static int to_sockaddr(const char *text, int family, unsigned short port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, text, &a4) == 1) {
    if (family == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(port);
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
      *len = sizeof *s6;
    } else {
      struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port);
      s4->sin_addr = a4;
      *len = sizeof *s4;
    }
    return 0;
  }
  if (inet_pton(AF_INET6, text, &a6) == 1 && family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    s6->sin6_addr = a6;
    *len = sizeof *s6;
    return 0;
  }
  return -1;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* HEX → bytes; returns the length, or -1 when not an even-length hex string of 1..80 bytes. */
static int unhex(const char *hex, unsigned char *out) {
  size_t n = strlen(hex);
  if (n == 0 || n % 2 != 0 || n / 2 > TCP_MD5SIG_MAXKEYLEN) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi * 16 + lo);
  }
  return (int)(n / 2);
}

static int socket_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) fail("fd 3 is not a socket");
  return ss.ss_family;
}

/* The key for `peer` on `fd` (keylen 0 removes it). */
static int set_md5(int fd, int family, const char *peer, const unsigned char *key, int keylen) {
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  socklen_t len;
  if (to_sockaddr(peer, family, 0, &sig.tcpm_addr, &len) != 0) {
    errno = EINVAL;
    return -1;
  }
  sig.tcpm_keylen = (unsigned short)keylen;
  if (keylen > 0) memcpy(sig.tcpm_key, key, (size_t)keylen);
  int r = setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig);
  /* Removing a key that is not there is not an error for us. */
  if (r != 0 && keylen == 0 && errno == ENOENT) r = 0;
  memset(&sig, 0, sizeof sig);
  return r;
}

/* TTL (or minimum TTL) for both IPv4 (incl. IPv4-mapped on an IPv6 socket) and IPv6. */
static int set_ttl(int fd, int family, int value, int minimum) {
  if (setsockopt(fd, IPPROTO_IP, minimum ? IP_MINTTL : IP_TTL, &value, sizeof value) != 0) return -1;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, minimum ? IPV6_MINHOPCOUNT : IPV6_UNICAST_HOPS, &value, sizeof value) != 0) return -1;
  return 0;
}

static int apply(void) {
  int fd = 3;
  int family = socket_family(fd);
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, stdin) != NULL) {
    n++;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') continue;
    char *save = NULL;
    char *cmd = strtok_r(line, " ", &save);
    char *a = strtok_r(NULL, " ", &save);
    char *b = strtok_r(NULL, " ", &save);
    if (strcmp(cmd, "md5") == 0 && a && b) {
      unsigned char key[TCP_MD5SIG_MAXKEYLEN];
      int keylen = strcmp(b, "-") == 0 ? 0 : unhex(b, key);
      memset(b, 0, strlen(b));
      if (keylen < 0) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: the key of peer %s must be 1..%d bytes as hex\n", n, a, TCP_MD5SIG_MAXKEYLEN);
        return 2;
      }
      int r = set_md5(fd, family, a, key, keylen);
      memset(key, 0, sizeof key);
      if (r != 0) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: TCP_MD5SIG for peer %s: %s\n", n, a, strerror(errno));
        return 1;
      }
    } else if ((strcmp(cmd, "ttl") == 0 || strcmp(cmd, "minttl") == 0) && a && !b) {
      int minimum = cmd[0] == 'm';
      char *end;
      long v = strtol(a, &end, 10);
      if (*end != '\0' || v < (minimum ? 0 : 1) || v > 255) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: %s wants a number %d..255\n", n, cmd, minimum ? 0 : 1);
        return 2;
      }
      if (set_ttl(fd, family, (int)v, minimum) != 0) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: %s %ld: %s\n", n, minimum ? "IP_MINTTL" : "IP_TTL", v, strerror(errno));
        return 1;
      }
    } else if (strcmp(cmd, "savesyn") == 0 && !a) {
      int one = 1;
      if (setsockopt(fd, IPPROTO_TCP, TCP_SAVE_SYN, &one, sizeof one) != 0) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: TCP_SAVE_SYN: %s\n", n, strerror(errno));
        return 1;
      }
    } else if (strcmp(cmd, "synttl") == 0 && a && !b) {
      char *end;
      long want = strtol(a, &end, 10);
      if (*end != '\0' || want < 0 || want > 255) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: synttl wants a number 0..255\n", n);
        return 2;
      }
      unsigned char syn[512];
      socklen_t len = sizeof syn;
      if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len) != 0) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: TCP_SAVED_SYN: %s\n", n, strerror(errno));
        return 1;
      }
      if (len == 0) continue; /* nothing saved (SYN cookies): IP_MINTTL alone guards */
      /* The SYN's network header: IPv4 TTL at byte 8, IPv6 hop limit at byte 7. */
      int version = syn[0] >> 4;
      int ttl = version == 4 && len > 8 ? syn[8] : version == 6 && len > 7 ? syn[7] : -1;
      if (ttl < 0) {
        fprintf(stderr, "tabby-sockopt: stdin line %d: the saved SYN has no IP header\n", n);
        return 1;
      }
      if (ttl < want) {
        fprintf(stderr, "tabby-sockopt: the connection's SYN arrived with TTL %d, below the %ld GTSM allows\n", ttl, want);
        return 3;
      }
    } else {
      fprintf(stderr, "tabby-sockopt: stdin line %d: unknown command (want md5 ADDR HEX|-, ttl N, minttl N, savesyn, synttl N)\n", n);
      return 2;
    }
  }
  return 0;
}

/* One direction of the relay: bytes read from `from`, not yet all written to `to`. */
struct flow {
  int from, to;
  int from_is_peer;
  char buf[65536];
  size_t off, len;
};

/* Relays both ways until either side ends; each direction waits only on itself, so a peer slow
 * to read never holds back what it sends us (its KEEPALIVEs still reach the speaker). Returns the
 * exit status. */
static int relay(int tcp, int local) {
  static struct flow up = {.from_is_peer = 0}, down = {.from_is_peer = 1};
  up.from = local, up.to = tcp;
  down.from = tcp, down.to = local;
  struct flow *flows[2] = {&up, &down};
  for (;;) {
    short ev_tcp = 0, ev_local = 0;
    if (up.len == 0) ev_local |= POLLIN;
    else ev_tcp |= POLLOUT;
    if (down.len == 0) ev_tcp |= POLLIN;
    else ev_local |= POLLOUT;
    /* An fd with nothing to wait for is left out: its HUP would otherwise wake us in a loop. */
    struct pollfd p[2] = {{.fd = ev_tcp ? tcp : -1, .events = ev_tcp}, {.fd = ev_local ? local : -1, .events = ev_local}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    short rev_tcp = p[0].revents, rev_local = p[1].revents;
    for (int i = 0; i < 2; i++) {
      struct flow *f = flows[i];
      short rev_from = f->from == tcp ? rev_tcp : rev_local;
      short rev_to = f->to == tcp ? rev_tcp : rev_local;
      if (f->len == 0 && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = read(f->from, f->buf, sizeof f->buf);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r < 0) {
          if (f->from_is_peer) fprintf(stderr, "tabby-sockopt: connection to the peer failed: %s\n", strerror(errno));
          return f->from_is_peer ? 1 : 0;
        }
        if (r == 0) {
          /* One side ended: the other gets a FIN (all it was owed in this direction was written). */
          shutdown(f->to, SHUT_WR);
          return 0;
        }
        f->off = 0;
        f->len = (size_t)r;
        rev_to |= POLLOUT; /* try at once: usually there is room */
      }
      if (f->len > 0 && (rev_to & (POLLOUT | POLLHUP | POLLERR))) {
        ssize_t w = write(f->to, f->buf + f->off, f->len);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (w < 0) {
          if (!f->from_is_peer) fprintf(stderr, "tabby-sockopt: connection to the peer failed: %s\n", strerror(errno));
          return f->from_is_peer ? 0 : 1;
        }
        f->off += (size_t)w;
        f->len -= (size_t)w;
      }
    }
  }
}

static int connect_relay(int argc, char **argv) {
  const char *peer = NULL, *source = NULL;
  long port = -1, ttl = 0, minttl = 0;
  for (int i = 2; i < argc; i++) {
    if (i + 1 >= argc) usage("every option needs a value");
    if (strcmp(argv[i], "--peer") == 0) peer = argv[++i];
    else if (strcmp(argv[i], "--source") == 0) source = argv[++i];
    else if (strcmp(argv[i], "--port") == 0) port = number(argv[++i], 1, 65535, "--port wants 1..65535");
    else if (strcmp(argv[i], "--ttl") == 0) ttl = number(argv[++i], 1, 255, "--ttl wants 1..255");
    else if (strcmp(argv[i], "--min-ttl") == 0) minttl = number(argv[++i], 1, 255, "--min-ttl wants 1..255");
    else usage("unknown option");
  }
  if (!peer || port < 0) usage("connect needs --peer and --port");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1; /* the parent is already gone */
  signal(SIGPIPE, SIG_IGN);

  /* The key: the first stdin line (HEX), if any. */
  char line[256] = "";
  if (fgets(line, sizeof line, stdin) == NULL) line[0] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  unsigned char key[TCP_MD5SIG_MAXKEYLEN];
  int keylen = 0;
  if (line[0] != '\0' && (keylen = unhex(line, key)) < 0) {
    fprintf(stderr, "tabby-sockopt: the key on stdin must be 1..%d bytes as hex\n", TCP_MD5SIG_MAXKEYLEN);
    return 2;
  }
  memset(line, 0, sizeof line);

  struct in6_addr probe;
  int family = inet_pton(AF_INET6, peer, &probe) == 1 ? AF_INET6 : AF_INET;
  struct sockaddr_storage to, from;
  socklen_t tolen, fromlen;
  if (to_sockaddr(peer, family, (unsigned short)port, &to, &tolen) != 0) usage("--peer is not an IP address");
  if (source && to_sockaddr(source, family, 0, &from, &fromlen) != 0) usage("--source is not an IP address of the peer's family");

  int tcp = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (tcp < 0) fail("socket");
  int one = 1;
  setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (keylen > 0 && set_md5(tcp, family, peer, key, keylen) != 0) fail("TCP_MD5SIG");
  memset(key, 0, sizeof key);
  if (ttl > 0 && set_ttl(tcp, family, (int)ttl, 0) != 0) fail("IP_TTL");
  if (minttl > 0 && set_ttl(tcp, family, (int)minttl, 1) != 0) fail("IP_MINTTL");
  if (source && bind(tcp, (struct sockaddr *)&from, fromlen) != 0) fail("bind to the source address");

  /* Connect without blocking, so the speaker closing fd 3 (its connect-retry timer) ends us. */
  int local = 3;
  fcntl(tcp, F_SETFL, fcntl(tcp, F_GETFL) | O_NONBLOCK);
  fcntl(local, F_SETFL, fcntl(local, F_GETFL) | O_NONBLOCK);
  if (connect(tcp, (struct sockaddr *)&to, tolen) != 0 && errno != EINPROGRESS) fail("connect");
  struct pollfd p[2] = {{.fd = tcp, .events = POLLOUT}, {.fd = local, .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    if (p[1].revents) {
      /* EOF: the speaker gave up on this attempt. Bytes written early wait for the connection. */
      char c;
      ssize_t r = recv(local, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return 0;
      if (r > 0) p[1].fd = -1;
    }
    if (p[0].revents) break;
  }
  int err = 0;
  socklen_t elen = sizeof err;
  getsockopt(tcp, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) {
    errno = err;
    fail("connect");
  }
  struct sockaddr_storage me;
  socklen_t melen = sizeof me;
  char text[INET6_ADDRSTRLEN] = "?";
  unsigned short lport = 0;
  if (getsockname(tcp, (struct sockaddr *)&me, &melen) == 0) {
    if (me.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&me)->sin6_addr, text, sizeof text);
      lport = ntohs(((struct sockaddr_in6 *)&me)->sin6_port);
    } else {
      inet_ntop(AF_INET, &((struct sockaddr_in *)&me)->sin_addr, text, sizeof text);
      lport = ntohs(((struct sockaddr_in *)&me)->sin_port);
    }
  }
  printf("connected %s %u\n", text, lport);
  fflush(stdout);
  return relay(tcp, local);
}

int main(int argc, char **argv) {
  if (argc < 2) usage("missing command");
  if (strcmp(argv[1], "apply") == 0) {
    if (argc != 2) usage("apply takes no arguments");
    return apply();
  }
  if (strcmp(argv[1], "connect") == 0) return connect_relay(argc, argv);
  usage("unknown command");
  return 2;
}
