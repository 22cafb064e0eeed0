/*
 * tabby-spawn: runs short commands (ip, nsenter) for the Tabby agent, so that the agent — a
 * Node.js process of 60+ MB — never forks itself. Forking a large process costs milliseconds of
 * page-table copying on the agent's only JavaScript thread; posix_spawn from this small program
 * (glibc uses CLONE_VFORK) costs microseconds. One tabby-spawn serves many commands at once.
 * src/cni/spawner.ts is the agent's side; without this binary the agent spawns directly.
 *
 * Protocol on stdin/stdout, frames as in the CNI shim (4-byte big-endian length, then bytes):
 *   request  (agent -> tabby-spawn): 3 frames: id (decimal text), argv (NUL-terminated strings,
 *            argv[0] looked up in PATH), stdin bytes for the command
 *   response (tabby-spawn -> agent): 4 frames: id, exit status (decimal; 128+N if killed by
 *            signal N; 127 if the program could not be started), stdout bytes, stderr bytes
 * Responses come in completion order. tabby-spawn exits when its stdin closes and every
 * command it started has been answered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"

#define MAX_FRAME (16u << 20)
#define MAX_JOBS 256

extern char **environ;


struct job {
	int used;
	char id[32];
	pid_t pid;
	int out, err; /* -1 once at EOF */
	struct buf obuf, ebuf;
	int status; /* exit status when the program could not be started, else -1 */
};

static struct job jobs[MAX_JOBS];


static int write_frame(const void *p, size_t n)
{
	unsigned char len[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
				 (unsigned char)n };
	if (write_all(STDOUT_FILENO, len, 4) < 0)
		return -1;
	return n ? write_all(STDOUT_FILENO, p, n) : 0;
}

static void answer(struct job *j)
{
	char status[16];
	int code = j->status;
	if (code < 0) {
		int ws = 0;
		while (waitpid(j->pid, &ws, 0) < 0 && errno == EINTR)
			;
		code = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
	}
	snprintf(status, sizeof status, "%d", code);
	if (write_frame(j->id, strlen(j->id)) < 0 || write_frame(status, strlen(status)) < 0 ||
	    write_frame(j->obuf.data, j->obuf.len) < 0 || write_frame(j->ebuf.data, j->ebuf.len) < 0)
		exit(1); /* the agent is gone */
	free(j->obuf.data);
	free(j->ebuf.data);
	memset(j, 0, sizeof *j);
}

/* Starts one command; on failure the job is answered with status 127 and the reason. */
static void start(const char *id, size_t idlen, char *argvblock, size_t argvlen, const char *in, size_t inlen)
{
	struct job *j = NULL;
	for (int i = 0; i < MAX_JOBS && !j; i++)
		if (!jobs[i].used)
			j = &jobs[i];
	if (!j) {
		fprintf(stderr, "tabby-spawn: more than %d commands at once\n", MAX_JOBS);
		exit(1);
	}
	memset(j, 0, sizeof *j);
	j->used = 1;
	j->status = -1;
	j->out = j->err = -1;
	snprintf(j->id, sizeof j->id, "%.*s", (int)(idlen < 31 ? idlen : 31), id);
	buf_append(&j->obuf, "", 0);
	buf_append(&j->ebuf, "", 0);

	char *argv[64];
	int argc = 0;
	for (size_t i = 0; i < argvlen && argc < 63;) {
		argv[argc++] = argvblock + i;
		i += strlen(argvblock + i) + 1;
	}
	argv[argc] = NULL;
	int pin[2], pout[2], perr[2];
	if (argc == 0 || pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
		j->status = 127;
		buf_append(&j->ebuf, "tabby-spawn: no command or no pipes\n", 36);
		answer(j);
		return;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	int rc = posix_spawnp(&j->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (rc != 0) {
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		j->status = 127;
		char msg[256];
		int n = snprintf(msg, sizeof msg, "tabby-spawn: cannot run %s: %s\n", argv[0], strerror(rc));
		buf_append(&j->ebuf, msg, (size_t)n);
		answer(j);
		return;
	}
	/* Inputs are small (a few ip commands); a pipe holds 64 KiB, so this does not block for long. */
	(void)write_all(pin[1], in, inlen);
	close(pin[1]);
	j->out = pout[0];
	j->err = perr[0];
}

/* Request parsing: frames accumulate in `in`; three make a request. */
static struct buf req;

static void handle_requests(void)
{
	for (;;) {
		size_t off = 0, starts[3], lens[3];
		int k;
		for (k = 0; k < 3; k++) {
			if (req.len - off < 4)
				break;
			unsigned char *l = (unsigned char *)req.data + off;
			size_t n = (size_t)l[0] << 24 | (size_t)l[1] << 16 | (size_t)l[2] << 8 | l[3];
			if (n > MAX_FRAME) {
				fprintf(stderr, "tabby-spawn: frame of %zu bytes is too large\n", n);
				exit(1);
			}
			if (req.len - off - 4 < n)
				break;
			starts[k] = off + 4;
			lens[k] = n;
			off += 4 + n;
		}
		if (k < 3)
			return;
		start(req.data + starts[0], lens[0], req.data + starts[1], lens[1], req.data + starts[2], lens[2]);
		memmove(req.data, req.data + off, req.len - off);
		req.len -= off;
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	buf_append(&req, "", 0);
	int input_open = 1;
	for (;;) {
		struct pollfd fds[1 + 2 * MAX_JOBS];
		struct job *owner[1 + 2 * MAX_JOBS];
		int nfds = 0, running = 0;
		if (input_open) {
			fds[nfds] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
			owner[nfds++] = NULL;
		}
		for (int i = 0; i < MAX_JOBS; i++) {
			if (!jobs[i].used)
				continue;
			running++;
			if (jobs[i].out >= 0) {
				fds[nfds] = (struct pollfd){ .fd = jobs[i].out, .events = POLLIN };
				owner[nfds++] = &jobs[i];
			}
			if (jobs[i].err >= 0) {
				fds[nfds] = (struct pollfd){ .fd = jobs[i].err, .events = POLLIN };
				owner[nfds++] = &jobs[i];
			}
		}
		if (!input_open && running == 0)
			return 0;
		if (poll(fds, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		char chunk[65536];
		for (int i = 0; i < nfds; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			struct job *j = owner[i];
			if (!j) {
				if (n <= 0)
					input_open = 0;
				else if (buf_append(&req, chunk, (size_t)n) < 0)
					return 1;
				continue;
			}
			int is_out = fds[i].fd == j->out;
			if (n <= 0) {
				close(fds[i].fd);
				if (is_out)
					j->out = -1;
				else
					j->err = -1;
				if (j->out < 0 && j->err < 0)
					answer(j);
			} else {
				buf_append(is_out ? &j->obuf : &j->ebuf, chunk, (size_t)n);
			}
		}
		handle_requests();
	}
}
