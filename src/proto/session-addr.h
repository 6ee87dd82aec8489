/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session transport addresses (docs/PROTOCOL.md "Transport"), shared by
 * libqvmi (qvmi_session_open, the listener) and qvmid (--session-connect,
 * --session-vsock): "PATH" or "unix:PATH", "tcp:HOST:PORT" ("tcp:[v6]:P"),
 * "vsock:CID:PORT".  TCP and vsock take the same code path; the address
 * family is the only difference.
 */
#ifndef QVMI_PROTO_SESSION_ADDR_H
#define QVMI_PROTO_SESSION_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/base.h"

enum qvmi_ses_kind {
	QVMI_SES_UNIX = 1,
	QVMI_SES_TCP,
	QVMI_SES_VSOCK,
};

enum {
	/* A listening address: vsock CID may be "any" (VMADDR_CID_ANY);
	 * TCP HOST must be numeric. */
	QVMI_SES_ADDR_LISTEN = 1u << 0,
	/* TCP HOST must be numeric (qvmid: a resolver call would block its
	 * loop). */
	QVMI_SES_ADDR_NUMERIC = 1u << 1,
};

struct qvmi_ses_addr {
	enum qvmi_ses_kind kind;
	/* Filled for unix, vsock, and TCP with a numeric HOST. */
	struct sockaddr_storage ss;
	socklen_t len;
	bool resolved;
	char host[256], port[8]; /* TCP, as written (brackets removed) */
};

/*
 * Parse spec.  -EINVAL (*why says what is wrong) for a malformed address,
 * -ENAMETOOLONG for a unix path longer than sun_path.
 */
QVMI_HIDDEN int qvmi__ses_addr_parse(const char *spec, unsigned int flags,
				     struct qvmi_ses_addr *ret,
				     const char **why);
/*
 * Start a non-blocking, close-on-exec connect to a resolved address (TCP
 * gets TCP_NODELAY).  0: connected; -EINPROGRESS: *fd pending, wait for
 * POLLOUT then qvmi__ses_connect_result(); other negative errno: no fd.
 * A full unix backlog (EAGAIN) is reported as -EAGAIN.
 */
QVMI_HIDDEN int qvmi__ses_connect_start(const struct sockaddr *sa,
					socklen_t len, int *fd);
/* The outcome of a pending connect once POLLOUT/POLLERR came. */
QVMI_HIDDEN int qvmi__ses_connect_result(int fd);
/* Connect within deadline_ms (CLOCK_MONOTONIC ms): 0 and *fd, or errno. */
QVMI_HIDDEN int qvmi__ses_connect_wait(const struct sockaddr *sa, socklen_t len,
				       int64_t deadline_ms, int *fd);
/*
 * Listen on a resolved TCP or vsock address: non-blocking, close-on-exec,
 * SO_REUSEADDR (and TCP_NODELAY, inherited by accepted sockets) on TCP.
 * Returns the fd or a negative errno.
 */
QVMI_HIDDEN int qvmi__ses_listen_inet(const struct sockaddr *sa, socklen_t len,
				      int backlog);
/* The port a listener got (port 0/VMADDR_PORT_ANY picks one); 0 if unknown. */
QVMI_HIDDEN uint32_t qvmi__ses_bound_port(int fd);
/* "tcp:1.2.3.4:5", "vsock:3:5", "unix" for a peer or local address. */
QVMI_HIDDEN void qvmi__ses_addr_text(const struct sockaddr *sa, socklen_t len,
				     char *buf, size_t size);

#endif
