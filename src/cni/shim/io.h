/* Byte buffers and full writes shared by the CNI shim (shim.c) and the agent's command runner
 * (spawn.c). Header-only on purpose: each program stays one self-contained static binary.
 */
#ifndef TABBY_IO_H
#define TABBY_IO_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf {
	char *data;
	size_t len, cap;
};

/* Appends n bytes; the buffer stays NUL-terminated so it is usable as a C string. */
static int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Writes all n bytes, retrying short writes and EINTR. */
static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

#endif
