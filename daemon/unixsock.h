/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmid's listening unix sockets (pmemaccess, the QMP proxy): created 0600
 * from the start, never over anything but a stale socket, and removed only
 * if the path still names the socket we bound.
 */
#ifndef QVMID_UNIXSOCK_H
#define QVMID_UNIXSOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "qvmi.h"

typedef void (*qvmid_log_fn)(enum qvmi_log_level level, const char *msg,
			     void *arg);

struct qvmid_unix_listener {
	int fd; /* non-blocking, close-on-exec; -1 when closed */
	dev_t dev;
	ino_t ino;
	char path[108]; /* empty: not ours to unlink (adopted) */
};

/*
 * Listen on path.  An existing path is replaced only if it is a stale
 * socket (nobody accepts on it): -EEXIST for a non-socket, -EADDRINUSE for
 * a live one, -ENAMETOOLONG.  what names the socket in log lines.
 */
int qvmid_unix_listen(struct qvmid_unix_listener *l, const char *path,
		      int backlog, const char *what, qvmid_log_fn log,
		      void *log_arg);
/*
 * Serve on a listening socket someone else made (--listen-qmp fd:N, or
 * systemd's LISTEN_FDS): it must be a listening AF_UNIX stream socket.
 * It is made non-blocking and close-on-exec; its path is never unlinked.
 * Takes fd (closed by qvmid_unix_close, also on error).
 */
int qvmid_unix_adopt(struct qvmid_unix_listener *l, int fd, const char *what,
		     qvmid_log_fn log, void *log_arg);
/* Does the path still name our socket? */
bool qvmid_unix_still_ours(const struct qvmid_unix_listener *l);
/* Close, and unlink the path if it is still ours. */
void qvmid_unix_close(struct qvmid_unix_listener *l);

#endif
