// SPDX-License-Identifier: LGPL-2.1-or-later
/* Raw socket client for tests: see sockcli.h. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "sockcli.h"

enum { TCLI_FDS = 64, TCLI_LINE = 1 << 16 };

static struct {
	char b[TCLI_LINE];
	size_t len;
} rbuf[TCLI_FDS];

int tcli_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	if (fd < TCLI_FDS)
		rbuf[fd].len = 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_MSG(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)),
		  "connect %s: %s", path, strerror(errno));
	return fd;
}

bool tcli_send_raw(int fd, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

ssize_t tcli_recv_raw(int fd, void *buf, size_t len, int ms)
{
	uint8_t *b = buf;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, ms) != 1)
			return -1;
		n = recv(fd, b + got, len - got, 0);
		if (n == 0)
			break;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

void tcli_send_str(int fd, const char *s)
{
	CHECK_INT(send(fd, s, strlen(s), MSG_NOSIGNAL), ==, (long)strlen(s));
}

char *tcli_line(int fd, int ms)
{
	static char line[TCLI_LINE];

	CHECK(fd >= 0 && fd < TCLI_FDS);
	for (;;) {
		char *b = rbuf[fd].b, *nl = memchr(b, '\n', rbuf[fd].len);
		struct pollfd p = { fd, POLLIN, 0 };
		size_t n;
		ssize_t r;

		if (nl) {
			n = (size_t)(nl - b);
			CHECK(n > 0 && b[n - 1] == '\r');
			memcpy(line, b, n - 1);
			line[n - 1] = '\0';
			memmove(b, nl + 1, rbuf[fd].len - n - 1);
			rbuf[fd].len -= n + 1;
			return line;
		}
		CHECK_MSG(rbuf[fd].len < sizeof(rbuf[fd].b), "line too long");
		CHECK_MSG(poll(&p, 1, ms) == 1, "no reply in %d ms (got %.*s)",
			  ms, (int)rbuf[fd].len, b);
		r = recv(fd, b + rbuf[fd].len,
			 sizeof(rbuf[fd].b) - rbuf[fd].len, 0);
		if (r <= 0)
			return NULL;
		rbuf[fd].len += (size_t)r;
	}
}

size_t tcli_buffered(int fd)
{
	return fd >= 0 && fd < TCLI_FDS ? rbuf[fd].len : 0;
}

void tcli_close(int fd)
{
	if (fd >= 0 && fd < TCLI_FDS)
		rbuf[fd].len = 0;
	close(fd);
}
