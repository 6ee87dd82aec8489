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
	struct qvmi_ses_addr a;
	char spec[300], msg[256];
	const char *why = "?";
	uint32_t p32 = 0;
	int r;

	*fd = -1;
	/* the one parser of session addresses (session-addr.c), numeric */
	if (!addr ||
	    snprintf(spec, sizeof(spec), "tcp:%s", addr) >= (int)sizeof(spec) ||
	    qvmi__ses_addr_parse(spec, QVMI_SES_ADDR_LISTEN, &a, &why) ||
	    a.kind != QVMI_SES_TCP || !a.resolved) {
		snprintf(msg, sizeof(msg),
			 "%s: bad TCP address \"%s\": %s (want A.B.C.D:PORT "
			 "or [IPv6]:PORT)",
			 what, addr ? addr : "", why);
		if (log)
			log(QVMI_LOG_ERROR, msg, log_arg);
		return -EINVAL;
	}
	r = bind_one((const struct sockaddr *)&a.ss, a.len, backlog, &p32);
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
