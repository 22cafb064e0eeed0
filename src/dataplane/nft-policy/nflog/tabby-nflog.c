/*
 * tabby-nflog: reads one NFLOG group (nfnetlink_log over a raw netlink socket, no library) and
 * prints one line per logged packet, for the policy dataplane's DeniedFlowLog.
 *
 *   tabby-nflog --group N [--copy-range BYTES]
 *
 * Output (stdout, line-buffered, tab-separated):
 *   ready<TAB>GROUP                                 once the group is bound
 *   pkt<TAB>PREFIX<TAB>IN<TAB>OUT<TAB>FAMILY<TAB>PROTO<TAB>SRC<TAB>DST<TAB>SPORT<TAB>DPORT<TAB>TIME_MS
 *   lost<TAB>ENOBUFS                                 when the kernel dropped messages (socket full)
 * IN/OUT are interface names ("-" when none), FAMILY 4 or 6, PROTO the IP protocol number,
 * SPORT/DPORT "-" for protocols without ports, TIME_MS milliseconds since the epoch.
 *
 * Runs in the network namespace it is started in (NFLOG groups are per namespace). Exit status:
 * 2 on bad usage, 1 when the group cannot be bound (e.g. another reader holds it), 0 on SIGTERM.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(const char *why) {
  fprintf(stderr, "tabby-nflog: %s\nusage: tabby-nflog --group N [--copy-range BYTES]\n", why);
  exit(2);
}

static long number(const char *s, long lo, long hi, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) usage(what);
  return v;
}

static void put_attr(char *buf, size_t *len, uint16_t type, const void *data, uint16_t size) {
  struct nlattr *a = (struct nlattr *)(buf + *len);
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + size);
  memcpy(buf + *len + NLA_HDRLEN, data, size);
  *len += NLA_ALIGN(a->nla_len);
}

/* Sends one NFULNL_MSG_CONFIG for `group` with one attribute and waits for its ack. */
static int config(int fd, uint16_t group, uint16_t type, const void *data, uint16_t size, uint32_t seq) {
  char buf[256];
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  nh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nh->nlmsg_seq = seq;
  struct nfgenmsg *g = (struct nfgenmsg *)NLMSG_DATA(nh);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(group);
  size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *g);
  put_attr(buf, &len, type, data, size);
  nh->nlmsg_len = (uint32_t)len;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  for (;;) {
    char rbuf[4096];
    ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)rbuf; NLMSG_OK(r, (unsigned)n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != seq || r->nlmsg_type != NLMSG_ERROR) continue;
      return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
    }
  }
}

static void ifname(uint32_t index, char *out) {
  if (index == 0 || if_indextoname(index, out) == NULL) strcpy(out, index == 0 ? "-" : "?");
}

static void print_packet(const char *prefix, uint32_t in, uint32_t out, const uint8_t *p, size_t len, long long ms) {
  char inName[IF_NAMESIZE + 1], outName[IF_NAMESIZE + 1];
  ifname(in, inName);
  ifname(out, outName);
  char src[INET6_ADDRSTRLEN] = "-", dst[INET6_ADDRSTRLEN] = "-", sport[8] = "-", dport[8] = "-";
  int family = 0, proto = -1;
  size_t l4 = 0;
  if (len >= 20 && (p[0] >> 4) == 4) {
    family = 4;
    proto = p[9];
    inet_ntop(AF_INET, p + 12, src, sizeof src);
    inet_ntop(AF_INET, p + 16, dst, sizeof dst);
    l4 = (size_t)(p[0] & 0x0f) * 4;
    /* A non-first fragment has no ports. */
    if ((((p[6] << 8) | p[7]) & 0x1fff) != 0) l4 = len;
  } else if (len >= 40 && (p[0] >> 4) == 6) {
    family = 6;
    proto = p[6];
    inet_ntop(AF_INET6, p + 8, src, sizeof src);
    inet_ntop(AF_INET6, p + 24, dst, sizeof dst);
    l4 = 40; /* extension headers are not followed: ports only right after the fixed header */
  }
  if (family != 0 && (proto == 6 || proto == 17 || proto == 132) && l4 + 4 <= len) {
    snprintf(sport, sizeof sport, "%u", (unsigned)((p[l4] << 8) | p[l4 + 1]));
    snprintf(dport, sizeof dport, "%u", (unsigned)((p[l4 + 2] << 8) | p[l4 + 3]));
  }
  printf("pkt\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%lld\n", prefix[0] ? prefix : "-", inName, outName, family, proto, src, dst, sport, dport, ms);
}

static void handle(struct nlmsghdr *nh) {
  if (nh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) return;
  size_t off = NLMSG_ALIGN(sizeof(struct nfgenmsg));
  size_t total = nh->nlmsg_len - NLMSG_HDRLEN;
  const char *prefix = "";
  uint32_t in = 0, out = 0;
  const uint8_t *payload = NULL;
  size_t plen = 0;
  long long ms = -1;
  while (off + NLA_HDRLEN <= total) {
    struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(nh) + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > total) break;
    const void *data = (char *)a + NLA_HDRLEN;
    size_t dlen = a->nla_len - NLA_HDRLEN;
    switch (a->nla_type & NLA_TYPE_MASK) {
      case NFULA_PREFIX:
        if (dlen > 0 && ((const char *)data)[dlen - 1] == '\0') prefix = data;
        break;
      case NFULA_IFINDEX_INDEV:
        if (dlen >= 4) in = ntohl(*(const uint32_t *)data);
        break;
      case NFULA_IFINDEX_OUTDEV:
        if (dlen >= 4) out = ntohl(*(const uint32_t *)data);
        break;
      case NFULA_PAYLOAD:
        payload = data;
        plen = dlen;
        break;
      default:
        break;
    }
    off += NLA_ALIGN(a->nla_len);
  }
  if (ms < 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  }
  print_packet(prefix, in, out, payload == NULL ? (const uint8_t *)"" : payload, plen, ms);
}

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

int main(int argc, char **argv) {
  long group = -1, range = 256;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage("missing value");
    if (strcmp(argv[i], "--group") == 0) group = number(argv[++i], 0, 65535, "--group must be 0..65535");
    else if (strcmp(argv[i], "--copy-range") == 0) range = number(argv[++i], 40, 65535, "--copy-range must be 40..65535");
    else usage("unknown argument");
  }
  if (group < 0) usage("--group is required");
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  /* The reader ends with the agent that started it: a SIGKILLed agent must not leave a reader
     holding the group (its successor could not bind it) or a namespace alive. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) return 1;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) {
    perror("tabby-nflog: netlink socket");
    return 1;
  }
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    perror("tabby-nflog: bind");
    return 1;
  }
  struct nfulnl_msg_config_cmd bindCmd = {.command = NFULNL_CFG_CMD_BIND};
  int err = config(fd, (uint16_t)group, NFULA_CFG_CMD, &bindCmd, sizeof bindCmd, 1);
  if (err != 0) {
    fprintf(stderr, "tabby-nflog: cannot bind NFLOG group %ld: %s\n", group, strerror(-err));
    return 1;
  }
  struct nfulnl_msg_config_mode mode = {.copy_range = htonl((uint32_t)range), .copy_mode = NFULNL_COPY_PACKET};
  err = config(fd, (uint16_t)group, NFULA_CFG_MODE, &mode, sizeof mode, 2);
  if (err != 0) {
    fprintf(stderr, "tabby-nflog: cannot set copy mode of NFLOG group %ld: %s\n", group, strerror(-err));
    return 1;
  }
  /* Deliver each packet at once (the default batches up to 100 packets or one second). */
  uint32_t qthresh = htonl(1);
  err = config(fd, (uint16_t)group, NFULA_CFG_QTHRESH, &qthresh, sizeof qthresh, 3);
  if (err != 0) {
    fprintf(stderr, "tabby-nflog: cannot set the queue threshold of NFLOG group %ld: %s\n", group, strerror(-err));
    return 1;
  }
  printf("ready\t%ld\n", group);
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        printf("lost\tENOBUFS\n");
        continue;
      }
      perror("tabby-nflog: recv");
      return 1;
    }
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n); nh = NLMSG_NEXT(nh, n)) handle(nh);
  }
}
