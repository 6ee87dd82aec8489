// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Accepting VMs (connect-out mode, docs/PROTOCOL.md "Transport"): qvmid
 * --session-connect dials the tool, which listens here.  Only the
 * direction of connect() changes; each accepted socket then goes through
 * the same handshake and attach as qvmi_session_open() (session.c), the
 * tool still being the protocol's client.  Whoever connects is a stranger
 * until it has proved the key, and a slow one can hold an accept for at
 * most the handshake timeout.
 *
 * Per-VM keys (key_dir, TCP and vsock only): the VM names its uuid in its
 * TLS PSK identity, and the key of that uuid is read from the directory
 * at each accept (docs/PROTOCOL.md "Which VM").
 */
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/internal.h"
#include "proto/session-addr.h"
#include "proto/session.h"

enum { LISTEN_BACKLOG = 16 };

struct qvmi_session_listener {
	int fd;
	enum qvmi_ses_kind kind;
	struct qvmi_ses_key key;
	int keydir; /* key_dir's fd, or -1 (key_path: key) */
	int timeout_ms;
	uint32_t port;
	/* unix: the path and the socket file we bound, removed only if the
	 * path still names it. */
	char path[108];
	dev_t dev;
	ino_t ino;
};

/* A socket file nobody accepts on (its server died) may be replaced. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, alive;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	alive = !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		errno != ECONNREFUSED;
	close(fd);
	if (alive)
		return -EADDRINUSE;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

static int listen_unix(struct qvmi_session_listener *l,
		       const struct qvmi_ses_addr *a)
{
	const char *path = ((const struct sockaddr_un *)&a->ss)->sun_path;
	struct stat st;
	int err = clear_stale(path);

	if (err)
		return err;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return -errno;
	/* Linux creates the socket file with the socket inode's mode (less
	 * the umask): 0600 from the start, without touching the process's
	 * umask from a library. */
	if (fchmod(l->fd, 0600) ||
	    bind(l->fd, (const struct sockaddr *)&a->ss, a->len))
		return -errno;
	if (chmod(path, 0600) || stat(path, &st) ||
	    listen(l->fd, LISTEN_BACKLOG)) {
		err = -errno;
		unlink(path);
		return err;
	}
	memcpy(l->path, path, strlen(path) + 1);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

/* A failed create has no listener to keep its message: opts->err_ctx. */
static int listen_err(struct qvmi_ctx *ectx, const char *addr, int err,
		      const char *why)
{
	if (!ectx)
		return err;
	return qvmi__err(ectx, err, "listen on %s: %s", addr ? addr : "(null)",
			 why ? why : strerror(-err));
}

/* The key file, or the key directory (never both). */
static int listen_keys(struct qvmi_session_listener *l, const char *kpath,
		       const char *kdir, char *why, size_t wsize)
{
	const char *w = "?";
	int err;

	if (kdir) {
		err = qvmi__ses_keydir_open(kdir, &l->keydir, &w);
		if (err)
			snprintf(why, wsize, "key directory %s: %s", kdir, w);
	} else {
		err = qvmi__ses_key_load(kpath, &l->key, &w);
		if (err)
			snprintf(why, wsize, "key %s: %s", kpath, w);
	}
	return err;
}

/* What is wrong with the options before anything is opened, or NULL. */
static const char *listen_opts_bad(const char *kpath, const char *kdir,
				   enum qvmi_ses_kind kind)
{
	if (kpath && kdir)
		return "key_path and key_dir exclude each other";
	if (!kpath && !kdir)
		return "a key file is required (key_path, or key_dir "
		       "for per-VM keys)";
	/* Over a unix socket the tool proves its key (client_mac) before
	 * the VM says who it is (the VM info comes in the AUTH reply), and
	 * there is no TLS identity: it cannot know which VM's key to use. */
	if (kdir && kind == QVMI_SES_UNIX)
		return "key_dir needs a tcp: or vsock: address (a unix "
		       "socket's peer names no VM before the tool proves its "
		       "key)";
	return NULL;
}

QVMI_API int
qvmi_session_listener_create(const char *addr,
			     const struct qvmi_session_listen_opts *opts,
			     struct qvmi_session_listener **ret)
{
	const char *kpath = QVMI_OPTS_GET(opts, key_path, NULL), *why = NULL;
	const char *kdir = QVMI_OPTS_GET(opts, key_dir, NULL);
	struct qvmi_ctx *ectx = QVMI_OPTS_GET(opts, err_ctx, NULL);
	struct qvmi_session_listener *l;
	struct qvmi_ses_addr a;
	char kwhy[QVMI_ERRMSG_MAX];
	int err;

	if (!QVMI_OPTS_VALID(opts, struct qvmi_session_listen_opts))
		return listen_err(ectx, addr, -EINVAL, "unknown options");
	if (!ret || !kpath == !kdir)
		return listen_err(ectx, addr, -EINVAL,
				  ret ? listen_opts_bad(kpath, kdir, 0) :
					"NULL");
	err = qvmi__ses_addr_parse(addr, QVMI_SES_ADDR_LISTEN, &a, &why);
	if (!err && (why = listen_opts_bad(kpath, kdir, a.kind)))
		err = -EINVAL;
	if (err)
		return listen_err(ectx, addr, err, why);
	l = calloc(1, sizeof(*l));
	if (!l)
		return listen_err(ectx, addr, -ENOMEM, "out of memory");
	l->fd = -1;
	l->keydir = -1;
	l->kind = a.kind;
	l->timeout_ms = QVMI_OPTS_GET(opts, timeout_ms, 0);
	err = listen_keys(l, kpath, kdir, kwhy, sizeof(kwhy));
	if (err)
		why = kwhy;
	if (!err && a.kind == QVMI_SES_UNIX) {
		err = listen_unix(l, &a);
	} else if (!err) {
		l->fd = qvmi__ses_listen_inet((const struct sockaddr *)&a.ss,
					      a.len, LISTEN_BACKLOG);
		err = l->fd < 0 ? l->fd : 0;
		l->port = err ? 0 : qvmi__ses_bound_port(l->fd);
	}
	if (err) {
		qvmi_session_listener_destroy(l);
		return listen_err(ectx, addr, err, why);
	}
	*ret = l;
	return 0;
}

QVMI_API void qvmi_session_listener_destroy(struct qvmi_session_listener *l)
{
	struct stat st;

	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->keydir >= 0)
		close(l->keydir);
	if (l->path[0] && !lstat(l->path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	qvmi__ses_key_clear(&l->key);
	free(l);
}

QVMI_API int qvmi_session_listener_fd(const struct qvmi_session_listener *l)
{
	return l ? l->fd : -EINVAL;
}

QVMI_API uint32_t
qvmi_session_listener_port(const struct qvmi_session_listener *l)
{
	return l ? l->port : 0;
}

/* One connection from the backlog, waiting up to timeout_ms. */
static int wait_accept(struct qvmi_session_listener *l, int timeout_ms,
		       char *peer, size_t psize)
{
	int64_t deadline = qvmi__mono_ms() + timeout_ms;
	struct sockaddr_storage ss;

	/* Bounded by the deadline (or, with no limit, by the caller). */
	for (;;) {
		socklen_t len = sizeof(ss);
		struct pollfd pfd = { l->fd, POLLIN, 0 };
		int64_t left = deadline - qvmi__mono_ms();
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			qvmi__ses_addr_text((struct sockaddr *)&ss, len, peer,
					    psize);
			return fd;
		}
		/* A connection reset before we took it: take the next. */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			return -errno;
		if (timeout_ms >= 0 && left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1,
			 timeout_ms < 0 ?
				 60000 :
				 (int)QVMI_MIN(left, (int64_t)60000)) < 0 &&
		    errno != EINTR)
			return -errno;
	}
}

QVMI_API int qvmi_session_accept(struct qvmi_session_listener *l,
				 struct qvmi_ctx *ctx, int timeout_ms)
{
	char peer[96];
	int fd, one = 1;

	if (!ctx)
		return -EINVAL;
	if (!l)
		return qvmi__err(ctx, -EINVAL, "session: no listener");
	if (ctx->sources || ctx->ctl)
		return qvmi__err(ctx, -EBUSY, "session: already attached");
	fd = wait_accept(l, timeout_ms, peer, sizeof(peer));
	if (fd == -ETIMEDOUT)
		return qvmi__err(ctx, fd, "session: no VM connected in %d ms",
				 timeout_ms);
	if (fd < 0)
		return qvmi__err(ctx, fd, "session: accept: %s", strerror(-fd));
	if (l->kind == QVMI_SES_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	qvmi__log(ctx, QVMI_LOG_DEBUG, "session: VM connecting from %s", peer);
	/* The VM dialled: we are TLS's server on TCP and vsock. */
	if (l->keydir >= 0)
		return qvmi__ses_client_attach_keydir(ctx, fd, l->keydir,
						      l->timeout_ms, peer);
	return qvmi__ses_client_attach(ctx, fd, &l->key,
				       l->kind == QVMI_SES_UNIX ?
					       QVMI_SES_TLS_NONE :
					       QVMI_SES_TLS_SERVER,
				       l->timeout_ms, peer);
}

int qvmi__ses_connect_vsock(struct qvmi_ctx *ctx, const char *spec,
			    int64_t deadline_ms, int *fd)
{
	struct qvmi_ses_addr a;
	const char *why = "?";
	int err = qvmi__ses_addr_parse(spec, 0, &a, &why);

	if (err)
		return qvmi__err(ctx, err, "session: \"%s\": %s", spec, why);
	err = qvmi__ses_connect_wait((const struct sockaddr *)&a.ss, a.len,
				     deadline_ms, fd);
	if (err)
		return qvmi__err(ctx, err, "session: connect %s: %s", spec,
				 strerror(-err));
	return 0;
}
