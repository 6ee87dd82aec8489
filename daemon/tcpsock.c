// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmid's TCP listener for sessions (see tcpsock.h). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/vm_sockets.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcpsock.h"
#include "proto/session-addr.h"

/* Split "host:port" / "[host]:port" into host and port buffers. */
static int split_addr(const char *addr, char *host, size_t hsize, char *port,
		      size_t psize)
{
	const char *colon, *h = addr;
	size_t hlen;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -EINVAL; /* IPv6 needs brackets */
		hlen = (size_t)(colon - addr);
	}
	if (!hlen || hlen >= hsize || !colon[1] || strlen(colon + 1) >= psize)
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (atol(colon + 1) > 65535 || strlen(colon + 1) > 5)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* The same path for TCP and vsock: the family is the only difference. */
static int bind_one(const struct sockaddr *sa, socklen_t len, int backlog,
		    uint32_t *port)
{
	int fd = qvmi__ses_listen_inet(sa, len, backlog);

	if (fd >= 0)
		*port = qvmi__ses_bound_port(fd);
	return fd;
}

int qvmid_tcp_listen(const char *addr, int backlog, const char *what,
		     qvmid_log_fn log, void *log_arg, int *fd, uint16_t *port)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	char host[64], serv[8], msg[256];
	uint32_t p32 = 0;
	int r;

	*fd = -1;
	if (!addr || split_addr(addr, host, sizeof(host), serv, sizeof(serv)) ||
	    getaddrinfo(host, serv, &hints, &ai)) {
		snprintf(msg, sizeof(msg),
			 "%s: bad TCP address \"%s\" (want A.B.C.D:PORT or "
			 "[IPv6]:PORT)",
			 what, addr ? addr : "");
		if (log)
			log(QVMI_LOG_ERROR, msg, log_arg);
		return -EINVAL;
	}
	r = bind_one(ai->ai_addr, ai->ai_addrlen, backlog, &p32);
	freeaddrinfo(ai);
	*port = (uint16_t)p32;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: listen on %s: %s", what, addr,
			 strerror(-r));
		if (log)
			log(QVMI_LOG_ERROR, msg, log_arg);
		return r;
	}
	*fd = r;
	snprintf(msg, sizeof(msg), "%s: listening on TCP %s (port %u)", what,
		 addr, (unsigned int)*port);
	if (log)
		log(QVMI_LOG_INFO, msg, log_arg);
	return 0;
}

void qvmid_tcp_accepted(int fd, char *peer, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char h[64], p[8];
	int one = 1;

	/* Linux copies it from the listener, but say it: one small frame
	 * per request must not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) ||
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(peer, size, "?");
	else
		snprintf(peer, size, "%s port %s", h, p);
}

int qvmid_vsock_listen(uint32_t port, int backlog, const char *what,
		       qvmid_log_fn log, void *log_arg, int *fd,
		       uint32_t *bound)
{
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK,
				   .svm_cid = VMADDR_CID_ANY,
				   .svm_port = port };
	char msg[256];
	int r = bind_one((struct sockaddr *)&svm, sizeof(svm), backlog, bound);

	*fd = -1;
	if (r < 0) {
		/* EAFNOSUPPORT without the vsock module; EADDRINUSE. */
		snprintf(msg, sizeof(msg), "%s: listen on vsock port %u: %s",
			 what, port, strerror(-r));
		if (log)
			log(QVMI_LOG_ERROR, msg, log_arg);
		return r;
	}
	*fd = r;
	snprintf(msg, sizeof(msg), "%s: listening on vsock port %u (any CID)",
		 what, *bound);
	if (log)
		log(QVMI_LOG_INFO, msg, log_arg);
	return 0;
}
