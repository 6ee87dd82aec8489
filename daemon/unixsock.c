// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmid's listening unix sockets (see unixsock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unixsock.h"

static void ulog(qvmid_log_fn log, void *arg, enum qvmi_log_level lvl,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void ulog(qvmid_log_fn log, void *arg, enum qvmi_log_level lvl,
		 const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int saved = errno;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log(lvl, buf, arg);
	errno = saved;
}

/* Is there a listener on this socket path?  A stale socket (its server
 * died without unlinking) refuses connections. */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool alive;

	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	alive = !connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ||
		errno != ECONNREFUSED;
	close(fd);
	return alive;
}

static int clear_path(const struct sockaddr_un *sa, const char *what,
		      qvmid_log_fn log, void *arg)
{
	const char *path = sa->sun_path;
	struct stat st;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		ulog(log, arg, QVMI_LOG_ERROR, "%s: %s: %s", what, path,
		     strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ulog(log, arg, QVMI_LOG_ERROR,
		     "%s: %s exists and is not a socket", what, path);
		return -EEXIST;
	}
	if (socket_alive(sa)) {
		ulog(log, arg, QVMI_LOG_ERROR,
		     "%s: %s is in use by a live server", what, path);
		return -EADDRINUSE;
	}
	ulog(log, arg, QVMI_LOG_INFO, "%s: removing stale socket %s", what,
	     path);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int qvmid_unix_listen(struct qvmid_unix_listener *l, const char *path,
		      int backlog, const char *what, qvmid_log_fn log,
		      void *log_arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int err;

	l->fd = -1;
	l->path[0] = '\0';
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path) ||
	    strlen(path) >= sizeof(l->path)) {
		ulog(log, log_arg, QVMI_LOG_ERROR,
		     "%s: socket path empty or longer than %zu bytes", what,
		     sizeof(l->path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	err = clear_path(&sa, what, log, log_arg);
	if (err)
		return err;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return -errno;
	/* bind() creates the file with the umask's mode: make it 0600 from
	 * the start rather than chmod'ing a window later. */
	old = umask(0177);
	err = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (err) {
		ulog(log, log_arg, QVMI_LOG_ERROR, "%s: bind %s: %s", what,
		     path, strerror(-err));
		goto fail;
	}
	if (chmod(path, 0600) || stat(path, &st) || listen(l->fd, backlog)) {
		err = -errno;
		unlink(path);
		goto fail;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	memcpy(l->path, path, strlen(path) + 1);
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return err;
}

int qvmid_unix_adopt(struct qvmid_unix_listener *l, int fd, const char *what,
		     qvmid_log_fn log, void *log_arg)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(int), slen = sizeof(sa);
	int type = 0, acc = 0, dom = 0, fl;
	const char *why = NULL;

	l->fd = -1;
	l->path[0] = '\0';
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		why = errno == ENOTSOCK ? "not a socket" : strerror(errno);
	else if ((len = sizeof(int),
		  getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len)) ||
		 dom != AF_UNIX || type != SOCK_STREAM)
		why = "not a unix stream socket";
	else if ((len = sizeof(int),
		  getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len)) ||
		 !acc)
		why = "not listening";
	fl = why ? -1 : fcntl(fd, F_GETFL);
	if (!why && (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ||
		     fcntl(fd, F_SETFD, FD_CLOEXEC)))
		why = strerror(errno);
	if (why) {
		ulog(log, log_arg, QVMI_LOG_ERROR, "%s: inherited fd %d: %s",
		     what, fd, why);
		close(fd);
		return -ENOTSOCK;
	}
	l->fd = fd;
	if (!getsockname(fd, (struct sockaddr *)&sa, &slen) &&
	    slen > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0])
		ulog(log, log_arg, QVMI_LOG_INFO,
		     "%s: serving inherited fd %d (%.*s; not removed on exit)",
		     what, fd, (int)sizeof(sa.sun_path), sa.sun_path);
	return 0;
}

bool qvmid_unix_still_ours(const struct qvmid_unix_listener *l)
{
	struct stat st;

	return l->path[0] && !lstat(l->path, &st) && S_ISSOCK(st.st_mode) &&
	       st.st_dev == l->dev && st.st_ino == l->ino;
}

void qvmid_unix_close(struct qvmid_unix_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (qvmid_unix_still_ours(l))
		unlink(l->path);
	l->fd = -1;
	l->path[0] = '\0';
}
