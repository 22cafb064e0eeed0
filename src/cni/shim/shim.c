/*
 * tabby CNI shim: the executable a container runtime runs as the `tabby` and `tabby-ipam` CNI
 * plugins. It holds no CNI logic: it forwards the request to the Tabby agent over a unix socket
 * and prints the agent's reply, exiting with the agent's exit code (DESIGN.md section 5). One
 * binary serves both plugins; the agent tells them apart by the name it was run as (argv[0]).
 *
 * Wire protocol "TABBY-CNI/1" (src/cni/protocol.ts is the agent side and the TypeScript forwarder):
 *   Every message is a sequence of frames; a frame is a 4-byte big-endian length N followed by N
 *   bytes. N is at most 16 MiB.
 *   Request, shim -> agent, three frames:
 *     1. "TABBY-CNI/1 <plugin>"   plugin = the basename of argv[0], e.g. "tabby" or "tabby-ipam"
 *     2. the environment: every variable whose name starts with "CNI_", as "NAME=value" entries,
 *        each followed by one NUL byte
 *     3. the bytes read from stdin (the network configuration), possibly empty
 *   Response, agent -> shim, three frames:
 *     1. "TABBY-CNI/1 <exit code>"   decimal, 0..255
 *     2. bytes to write to stdout (a CNI result or error object)
 *     3. bytes to write to stderr (diagnostics for the runtime's log)
 *   The agent closes the connection after the response. One request per connection.
 *
 * When the agent cannot be reached (socket missing, connection refused, connection closed before a
 * complete reply, timeout) the shim prints a CNI error itself: code 11 "try again later", or for
 * STATUS code 50 "plugin not available", as the CNI spec asks. The error's cniVersion is the
 * top-level "cniVersion" of the request, else "1.1.0". VERSION alone is answered by the shim then.
 *
 * The agent's socket: TABBY_CNI_SOCKET if set, else the network configuration's top-level
 * "tabby_socket" string, else /run/tabby/cni.sock. TABBY_CNI_TIMEOUT: seconds to wait for the
 * agent (default 300).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "io.h"

#define PROTOCOL "TABBY-CNI/1"
#define MAX_FRAME (16u << 20)
#define DEFAULT_SOCKET "/run/tabby/cni.sock"
#define DEFAULT_TIMEOUT_SECONDS 300
#define SUPPORTED_VERSIONS "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

extern char **environ;


static int read_stdin(struct buf *b)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (b->len + (size_t)n > MAX_FRAME) {
			errno = EFBIG;
			return -1;
		}
		if (buf_append(b, chunk, (size_t)n) < 0)
			return -1;
	}
}


/* 0 on success; -1 with errno on failure; an early end of stream sets errno to ECONNRESET. */
static int read_exact(int fd, void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_frame(int fd, const void *p, size_t n)
{
	unsigned char len[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
				 (unsigned char)n };
	if (write_all(fd, len, 4) < 0)
		return -1;
	return n ? write_all(fd, p, n) : 0;
}

static int recv_frame(int fd, struct buf *b)
{
	unsigned char len[4];
	if (read_exact(fd, len, 4) < 0)
		return -1;
	uint32_t n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
	if (n > MAX_FRAME) {
		errno = EMSGSIZE;
		return -1;
	}
	b->len = 0;
	if (buf_append(b, "", 0) < 0)
		return -1;
	if (n == 0)
		return 0;
	char *tmp = malloc(n);
	if (!tmp)
		return -1;
	int rc = read_exact(fd, tmp, n);
	if (rc == 0)
		rc = buf_append(b, tmp, n);
	free(tmp);
	return rc;
}

/*
 * Finds a top-level string member of a JSON object without a JSON parser: walks the text
 * tracking string state and nesting depth, and only accepts the key at depth 1, so a nested
 * prevResult's cniVersion is never taken. Copies the value into out (or leaves it untouched).
 * Values with escapes are not taken (cniVersion and socket paths need none).
 */
static void scan_top_level_string(const char *s, size_t len, const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key);
	int depth = 0;
	size_t i = 0;
	while (i < len) {
		char c = s[i];
		if (c == '{' || c == '[') {
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (c == '"') {
			size_t start = ++i;
			while (i < len && s[i] != '"')
				i += (s[i] == '\\') ? 2 : 1;
			size_t end = i++;
			if (depth != 1 || end - start != klen || memcmp(s + start, key, klen) != 0)
				continue;
			while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
				i++;
			if (i >= len || s[i] != ':')
				continue;
			i++;
			while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
				i++;
			if (i >= len || s[i] != '"')
				continue;
			size_t vs = ++i;
			while (i < len && s[i] != '"' && s[i] != '\\')
				i++;
			if (i >= len || s[i] != '"' || i - vs == 0 || i - vs >= outsz)
				return;
			memcpy(out, s + vs, i - vs);
			out[i - vs] = '\0';
			return;
		} else {
			i++;
		}
	}
}

static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int print_error(const char *version, int code, const char *msg, const char *details)
{
	fputs("{\"cniVersion\":", stdout);
	put_json_string(version);
	printf(",\"code\":%d,\"msg\":", code);
	put_json_string(msg);
	fputs(",\"details\":", stdout);
	put_json_string(details);
	fputs("}\n", stdout);
	fflush(stdout);
	return 1;
}

static int agent_unreachable(const char *version, const char *command, const char *socket_path,
			     const char *what, int err)
{
	/* VERSION is static knowledge, and runtimes use it to validate a network config (podman
	 * drops a network whose plugin cannot answer it): answer it without the agent. The list is
	 * the agent's SUPPORTED_VERSIONS (src/cni/versions.ts); a test compares the two answers. */
	if (!command || !*command) {
		/* Run by hand: like libcni's skel, say what this is on stderr and exit 0. */
		fprintf(stderr, "Tabby CNI plugin (shim)\nCNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n"
				"The Tabby agent at %s is not reachable (%s: %s).\n", socket_path, what, strerror(err));
		return 0;
	}
	if (strcmp(command, "VERSION") == 0) {
		fputs("{\"cniVersion\":", stdout);
		put_json_string(version);
		fputs(",\"supportedVersions\":" SUPPORTED_VERSIONS "}\n", stdout);
		fflush(stdout);
		return 0;
	}
	char details[1024];
	snprintf(details, sizeof details,
		 "the Tabby agent at %s could not be reached (%s: %s); is `tabby node` running on this host?",
		 socket_path, what, strerror(err));
	if (command && strcmp(command, "STATUS") == 0)
		return print_error(version, 50, "plugin not available", details);
	return print_error(version, 11, "try again later", details);
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *plugin = strrchr(argv[0], '/');
	plugin = plugin ? plugin + 1 : argv[0];
	const char *command = getenv("CNI_COMMAND");
	const char *env_socket = getenv("TABBY_CNI_SOCKET");
	const char *socket_path = env_socket && *env_socket ? env_socket : DEFAULT_SOCKET;
	long timeout = DEFAULT_TIMEOUT_SECONDS;
	const char *timeout_env = getenv("TABBY_CNI_TIMEOUT");
	if (timeout_env && *timeout_env) {
		char *end;
		long t = strtol(timeout_env, &end, 10);
		if (*end == '\0' && t > 0)
			timeout = t;
	}
	signal(SIGPIPE, SIG_IGN);

	char version[64] = "1.1.0";
	struct buf in = { 0 }, env = { 0 }, frame = { 0 };
	if (buf_append(&in, "", 0) < 0 || buf_append(&env, "", 0) < 0)
		return print_error(version, 5, "I/O failure", "out of memory");
	/* Without CNI_COMMAND nothing is read: a person running the plugin by hand gets the agent's
	 * "about" text instead of a program waiting on the terminal. */
	if (command && *command && read_stdin(&in) < 0) {
		char details[256];
		snprintf(details, sizeof details, "reading the network configuration from stdin: %s", strerror(errno));
		return print_error(version, 5, "I/O failure", details);
	}
	scan_top_level_string(in.data, in.len, "cniVersion", version, sizeof version);
	/* The socket: TABBY_CNI_SOCKET, else the network config's "tabby_socket" (which `tabby node`
	 * writes when it serves a non-default path: runtimes do not pass their environment on to
	 * every plugin call, the config always reaches it), else the default. */
	char conf_socket[108] = "";
	if (!env_socket || !*env_socket) {
		scan_top_level_string(in.data, in.len, "tabby_socket", conf_socket, sizeof conf_socket);
		if (*conf_socket)
			socket_path = conf_socket;
	}

	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "CNI_", 4) == 0 && (buf_append(&env, *e, strlen(*e)) < 0 || buf_append(&env, "\0", 1) < 0))
			return print_error(version, 5, "I/O failure", "out of memory");
	}

	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof addr.sun_path)
		return agent_unreachable(version, command, socket_path, "socket path too long", ENAMETOOLONG);
	strcpy(addr.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return agent_unreachable(version, command, socket_path, "socket", errno);
	struct timeval tv = { .tv_sec = timeout };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return agent_unreachable(version, command, socket_path, "connect", errno);

	char header[300];
	int hlen = snprintf(header, sizeof header, "%s %s", PROTOCOL, plugin);
	if (hlen < 0 || (size_t)hlen >= sizeof header)
		hlen = (int)strlen(PROTOCOL);
	if (send_frame(fd, header, (size_t)hlen) < 0 || send_frame(fd, env.data, env.len) < 0 ||
	    send_frame(fd, in.data, in.len) < 0)
		return agent_unreachable(version, command, socket_path, "sending the request", errno);

	if (recv_frame(fd, &frame) < 0)
		return agent_unreachable(version, command, socket_path, "reading the reply", errno);
	size_t plen = strlen(PROTOCOL);
	char *end = NULL;
	long code = -1;
	if (frame.len > plen + 1 && memcmp(frame.data, PROTOCOL " ", plen + 1) == 0)
		code = strtol(frame.data + plen + 1, &end, 10);
	if (code < 0 || code > 255 || !end || *end != '\0')
		return agent_unreachable(version, command, socket_path, "the reply header is not " PROTOCOL, EPROTO);

	struct buf out = { 0 }, err = { 0 };
	if (recv_frame(fd, &out) < 0 || recv_frame(fd, &err) < 0)
		return agent_unreachable(version, command, socket_path, "reading the reply", errno);
	close(fd);
	if (write_all(STDOUT_FILENO, out.data, out.len) < 0)
		return 1;
	if (err.len)
		(void)write_all(STDERR_FILENO, err.data, err.len);
	return (int)code;
}
