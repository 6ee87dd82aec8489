// SPDX-License-Identifier: LGPL-2.1-or-later
/* Session transport addresses (see session-addr.h). */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/session-addr.h"

/* A decimal number of at most maxdig digits, <= max. */
static bool parse_num(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!n || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

static int parse_unix(const char *path, struct qvmi_ses_addr *a,
		      const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	size_t n = strlen(path);

	if (!n || n >= sizeof(sun->sun_path)) {
		*why = "unix socket path empty or too long";
		return n ? -ENAMETOOLONG : -EINVAL;
	}
	a->kind = QVMI_SES_UNIX;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	a->len = sizeof(*sun);
	a->resolved = true;
	return 0;
}

/* "CID:PORT", CID a number or (listening) "any". */
static int parse_vsock(const char *s, unsigned int flags,
		       struct qvmi_ses_addr *a, const char **why)
{
	struct sockaddr_vm *svm = (struct sockaddr_vm *)&a->ss;
	const char *colon = strchr(s, ':');
	uint64_t cid, port;

	*why = "bad vsock address (want vsock:CID:PORT)";
	if (!colon ||
	    !parse_num(colon + 1, strlen(colon + 1), UINT32_MAX - 1, &port))
		return -EINVAL;
	if ((size_t)(colon - s) == 3 && !memcmp(s, "any", 3)) {
		if (!(flags & QVMI_SES_ADDR_LISTEN)) {
			*why = "vsock CID \"any\" is for listening only";
			return -EINVAL;
		}
		cid = VMADDR_CID_ANY;
	} else if (!parse_num(s, (size_t)(colon - s), UINT32_MAX - 1, &cid)) {
		return -EINVAL;
	}
	a->kind = QVMI_SES_VSOCK;
	svm->svm_family = AF_VSOCK;
	svm->svm_cid = (unsigned int)cid;
	svm->svm_port = (unsigned int)port;
	a->len = sizeof(*svm);
	a->resolved = true;
	return 0;
}

/* "HOST:PORT" or "[v6]:PORT"; a numeric HOST is resolved here. */
static int parse_tcp(const char *s, unsigned int flags, struct qvmi_ses_addr *a,
		     const char **why)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
			*res = NULL;
	const char *h = s, *colon;
	size_t hlen;
	uint64_t port;

	*why = "bad TCP address (want tcp:HOST:PORT or tcp:[IPv6]:PORT)";
	if (*h == '[') {
		const char *end = strchr(h, ']');

		colon = end && end[1] == ':' ? end + 1 : NULL;
		h++;
		hlen = colon ? (size_t)(end - h) : 0;
	} else {
		colon = strrchr(h, ':');
		hlen = colon ? (size_t)(colon - h) : 0;
		if (colon && memchr(h, ':', hlen))
			return -EINVAL; /* IPv6 needs brackets */
	}
	if (!colon || !hlen || hlen >= sizeof(a->host) ||
	    !parse_num(colon + 1, strlen(colon + 1), 65535, &port) ||
	    strlen(colon + 1) > 5)
		return -EINVAL;
	a->kind = QVMI_SES_TCP;
	memcpy(a->host, h, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof(a->port), "%u", (unsigned int)port);
	if (getaddrinfo(a->host, a->port, &hints, &res)) {
		if (flags & (QVMI_SES_ADDR_LISTEN | QVMI_SES_ADDR_NUMERIC)) {
			*why = "TCP host must be a numeric address here";
			return -EINVAL;
		}
		return 0; /* a name: the caller resolves it */
	}
	if (res->ai_addrlen <= sizeof(a->ss)) {
		memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
		a->len = res->ai_addrlen;
		a->resolved = true;
	}
	freeaddrinfo(res);
	return a->resolved ? 0 : -EINVAL;
}

int qvmi__ses_addr_parse(const char *spec, unsigned int flags,
			 struct qvmi_ses_addr *ret, const char **why)
{
	static const char *dummy;

	if (!why)
		why = &dummy;
	memset(ret, 0, sizeof(*ret));
	*why = "no address";
	if (!spec || !*spec)
		return -EINVAL;
	if (!strncmp(spec, "tcp:", 4))
		return parse_tcp(spec + 4, flags, ret, why);
	if (!strncmp(spec, "vsock:", 6))
		return parse_vsock(spec + 6, flags, ret, why);
	if (!strncmp(spec, "unix:", 5))
		spec += 5;
	return parse_unix(spec, ret, why);
}

int qvmi__ses_connect_start(const struct sockaddr *sa, socklen_t len, int *fd)
{
	int one = 1, err = 0;

	*fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		     0);
	if (*fd < 0)
		return -errno;
	/* One small frame per request: Nagle would hold each for an ack. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!connect(*fd, sa, len))
		return 0;
	err = -errno;
	if (err == -EINPROGRESS)
		return err;
	close(*fd);
	*fd = -1;
	return err;
}

int qvmi__ses_connect_result(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return -soerr;
}

int qvmi__ses_connect_wait(const struct sockaddr *sa, socklen_t len,
			   int64_t deadline_ms, int *fd)
{
	int err;

	/* Bounded: each turn sleeps or polls towards the deadline. */
	for (;;) {
		err = qvmi__ses_connect_start(sa, len, fd);
		if (err != -EAGAIN && err != -EINTR)
			break;
		/* A full unix backlog: retry briefly. */
		if (qvmi__mono_ms() >= deadline_ms)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	if (err != -EINPROGRESS)
		return err;
	for (;;) {
		struct pollfd pfd = { *fd, POLLOUT, 0 };
		int64_t left = deadline_ms - qvmi__mono_ms();
		int n;

		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		n = poll(&pfd, 1, (int)QVMI_MIN(left, (int64_t)60000));
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (n > 0) {
			err = qvmi__ses_connect_result(*fd);
			break;
		}
	}
	if (err) {
		close(*fd);
		*fd = -1;
	}
	return err;
}

int qvmi__ses_listen_inet(const struct sockaddr *sa, socklen_t len, int backlog)
{
	bool tcp = sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
	int one = 1, err;
	int fd = socket(sa->sa_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if ((tcp &&
	     (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))) ||
	    bind(fd, sa, len) || listen(fd, backlog)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

uint32_t qvmi__ses_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (ss.ss_family == AF_VSOCK)
		return ((struct sockaddr_vm *)&ss)->svm_port;
	return 0;
}

void qvmi__ses_addr_text(const struct sockaddr *sa, socklen_t len, char *buf,
			 size_t size)
{
	char h[64], p[8];

	if (sa->sa_family == AF_VSOCK && len >= sizeof(struct sockaddr_vm)) {
		const struct sockaddr_vm *v = (const struct sockaddr_vm *)sa;

		snprintf(buf, size, "vsock:%u:%u", v->svm_cid, v->svm_port);
	} else if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
		   !getnameinfo(sa, len, h, sizeof(h), p, sizeof(p),
				NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, size,
			 sa->sa_family == AF_INET6 ? "tcp:[%s]:%s" :
						     "tcp:%s:%s",
			 h, p);
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(buf, size, "unix socket");
	} else {
		snprintf(buf, size, "?");
	}
}
