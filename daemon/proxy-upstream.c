// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * How qvmid reaches QEMU's QMP socket (--qmp, --qmp-wait).  libvirt
 * starts QEMU and connects to its monitor once, with no retry; a shim in
 * QEMU's place starts qvmid before it execs QEMU, so qvmid must wait for
 * QEMU to listen ("PATH" with a wait), or take a socket already connected
 * to QEMU's monitor ("fd:M": one end of a socketpair whose other end QEMU
 * gets as -chardev socket,fd=N).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp-proxy.h"
#include "proto/qmp.h"

enum { RETRY_MS = 50 };

/* An inherited fd must be a connected unix stream socket. */
static int check_connected(int fd, char *why, size_t n)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(int), slen = sizeof(sa);
	int type = 0, dom = 0, acc = 1;

	if (fcntl(fd, F_GETFD) < 0) {
		snprintf(why, n, "fd %d is not open", fd);
		return -EBADF;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    (len = sizeof(int),
	     getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len)) ||
	    dom != AF_UNIX || type != SOCK_STREAM) {
		snprintf(why, n, "fd %d is not a unix stream socket", fd);
		return -ENOTSOCK;
	}
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) || acc ||
	    getpeername(fd, (struct sockaddr *)&sa, &slen)) {
		snprintf(why, n, "fd %d is not a connected socket", fd);
		return -ENOTCONN;
	}
	return 0;
}

/* Connect to path, retrying while it is missing or refuses (QEMU not
 * listening yet) until wait_ms has passed. */
static int connect_wait(const char *path, int wait_ms, int *ret, char *why,
			size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = qvmi__mono_ms() + wait_ms;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, n, "socket path too long");
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			*ret = fd;
			return 0;
		}
		e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN &&
		     e != EINTR) ||
		    qvmi__mono_ms() >= deadline) {
			snprintf(why, n, "connect %s: %s%s", path, strerror(e),
				 wait_ms ? " (gave up waiting)" : "");
			return -e;
		}
		poll(NULL, 0, RETRY_MS);
	}
}

int qvmid_qmp_connect(const char *spec, int wait_ms, int *ret, char *why,
		      size_t whylen)
{
	char *end;
	long v;

	*ret = -1;
	if (strncmp(spec, "fd:", 3))
		return connect_wait(spec, wait_ms > 0 ? wait_ms : 0, ret, why,
				    whylen);
	errno = 0;
	v = strtol(spec + 3, &end, 10);
	if (spec[3] < '0' || spec[3] > '9' || errno || *end || v > INT_MAX) {
		snprintf(why, whylen, "fd:M needs a file descriptor number");
		return -EINVAL;
	}
	if (check_connected((int)v, why, whylen))
		return -ENOTCONN;
	fcntl((int)v, F_SETFD, FD_CLOEXEC);
	*ret = (int)v;
	return 0;
}
