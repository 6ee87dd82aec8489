// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QMP client over a unix stream socket, with json-c's incremental tokener.
 *
 * The socket is non-blocking; every wait is a poll(2) bounded by the
 * exchange's deadline.  Commands carry a unique "id" ("qvmi-N") and a reply
 * is matched by it, so a reply that arrives after its command timed out is
 * recognised and dropped instead of being taken for the next one's.
 * Events read on the way are handed to the callback and queued.  The
 * JSON stream splitter that cuts the socket's bytes into messages is
 * json-stream.c; the byte queue qvmid's QMP proxy shares the connection
 * through, qmp-share.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp-priv.h"

enum {
	READ_CHUNK = 64 * 1024,
	/* Reads per qvmi__qmp_poll: a peer flooding events cannot keep us. */
	POLL_MAX_READS = 64,
	/* QEMU greets a client as it accepts it; QEMU 7.2 serves one QMP
	 * client at a time, and a second one connects (listen backlog) but
	 * hears nothing until the first leaves.  So a missing greeting is
	 * told within this, not the whole timeout (issue 18).  It took
	 * < 50 ms on a loaded 2-core host with a TCG guest. */
	QMP_GREETING_MS = 1000,
};

/* ---- connection ------------------------------------------------------- */

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - qvmi__mono_ms();

	return left < 0 ? 0 : (int)QVMI_MIN(left, (int64_t)INT32_MAX);
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&p, 1, remaining_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int qmp_break(struct qvmi_qmp *q, int err, const char *what)
{
	q->broken = err;
	return qvmi__err(q->ctx, err, "QMP: %s", what);
}

int qvmi__qmp_break(struct qvmi_qmp *q, int err, const char *what)
{
	return qmp_break(q, err, what);
}

static int qmp_broken(struct qvmi_qmp *q)
{
	const char *why = q->broken == -EPIPE	 ? "connection closed" :
			  q->broken == -EMSGSIZE ? "oversized message" :
						   "protocol error";

	return qvmi__err(q->ctx, q->broken, "QMP: connection unusable (%s)",
			 why);
}

int qvmi__qmp_broken(struct qvmi_qmp *q)
{
	return qmp_broken(q);
}

static int send_all(struct qvmi_qmp *q, const char *s, size_t len,
		    int64_t deadline)
{
	size_t done = 0;
	ssize_t n;
	int err;

	while (done < len) {
		n = send(q->fd, s + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			err = wait_fd(q->fd, POLLOUT, deadline);
			if (err == -ETIMEDOUT)
				return qvmi__err(q->ctx, err,
						 "QMP: send timed out");
			if (err < 0)
				return qmp_break(q, err, "poll failed");
			continue;
		}
		if (n < 0 && errno != EPIPE && errno != ECONNRESET)
			return qmp_break(q, -errno, "send failed");
		return qmp_break(q, -EPIPE, "socket closed by peer on send");
	}
	return 0;
}

/* Send queued bytes until none are left or deadline (0: don't wait).
 * Returns 0 when all are sent, -ETIMEDOUT, or a fatal errno. */
/* Send from obuf[ooff]: up to the next line with fds, or that line's
 * bytes with its fds (SCM_RIGHTS on its first byte, as QEMU's chardev
 * reads them: tcp_chr_recv). */
static ssize_t send_some(struct qvmi_qmp *q)
{
	uint64_t at = q->obase + q->ooff;
	size_t len = q->olen - q->ooff;
	union {
		char buf[CMSG_SPACE(sizeof(int) * QVMI_QMP_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { q->obuf + q->ooff, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct fd_mark *m = q->nmarks ? &q->marks[0] : NULL;
	ssize_t n;

	if (m && m->pos > at)
		iov.iov_len = QVMI_MIN(len, (size_t)(m->pos - at));
	if (m && m->pos == at) {
		struct cmsghdr *c;

		if (q->nmarks > 1)
			iov.iov_len =
				QVMI_MIN(len, (size_t)(q->marks[1].pos - at));
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * m->n);
		memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->n);
	}
	n = sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0 && mh.msg_control) { /* they went: ours are copies */
		for (unsigned int i = 0; i < m->n; i++)
			close(m->fds[i]);
		memmove(q->marks, q->marks + 1,
			--q->nmarks * sizeof(q->marks[0]));
	}
	return n;
}

static int send_queued(struct qvmi_qmp *q, int64_t deadline)
{
	if (q->xops)
		return qvmi__qmp_xport_run(q);
	while (q->ooff < q->olen) {
		ssize_t n = send_some(q);
		int err;

		if (n > 0) {
			q->ooff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!deadline)
				return -ETIMEDOUT;
			err = wait_fd(q->fd, POLLOUT, deadline);
			if (err == -ETIMEDOUT)
				return err;
			if (err < 0)
				return qmp_break(q, err, "poll failed");
			continue;
		}
		return qmp_break(q, -EPIPE, "socket closed by peer on send");
	}
	q->obase += q->olen;
	q->ooff = q->olen = 0;
	return 0;
}

int qvmi__qmp_send_queued(struct qvmi_qmp *q, int64_t deadline)
{
	return send_queued(q, deadline);
}

/* One read into the stream.  0: got bytes; -EAGAIN: nothing there. */
static int read_some(struct qvmi_qmp *q)
{
	char buf[READ_CHUNK];
	ssize_t n;
	int err;

	if (q->xops) /* its replies are in the stream already */
		return -EAGAIN;
	do
		n = recv(q->fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (n < 0 && errno != ECONNRESET)
		return qmp_break(q, -errno, "recv failed");
	if (n <= 0)
		return qmp_break(q, -EPIPE,
				 qvmi__json_stream_partial(&q->js) ?
					 "socket closed by peer mid-message" :
					 "socket closed by peer");
	err = qvmi__json_stream_feed(&q->js, buf, (size_t)n);
	if (err == -EMSGSIZE)
		return qmp_break(q, err, "message larger than the limit");
	return err;
}

/* Hand a message libqvmi does not consume to the tap (if any). */
static void tap(struct qvmi_qmp *q, struct json_object *msg)
{
	size_t len;
	const char *raw = qvmi__json_stream_raw(&q->js, &len);

	if (q->tap_fn && raw)
		q->tap_fn(msg, raw, len, q->tap_arg);
}

static void queue_event(struct qvmi_qmp *q, struct json_object *ev)
{
	struct json_object *name;

	if (q->ev_fn && json_object_object_get_ex(ev, "event", &name))
		q->ev_fn(json_object_get_string(name), ev, q->ev_arg);
	tap(q, ev);
	if (q->ev_count == QVMI_QMP_MAX_EVENTS) {
		/* Keep the newest: they tell the current state. */
		json_object_put(q->events[q->ev_head]);
		q->ev_head = (q->ev_head + 1) % QVMI_QMP_MAX_EVENTS;
		q->ev_count--;
		q->ev_dropped++;
	}
	q->events[(q->ev_head + q->ev_count) % QVMI_QMP_MAX_EVENTS] = ev;
	q->ev_count++;
}

/*
 * Next message that is not an event (events are queued on the way).
 * Returns 1 with *ret, or a negative errno.
 */
static int next_message(struct qvmi_qmp *q, int64_t deadline,
			struct json_object **ret)
{
	struct json_object *msg, *tmp;
	int err;

	for (;;) {
		err = qvmi__json_stream_next(&q->js, &msg);
		if (err == -EMSGSIZE)
			return qmp_break(q, err,
					 "message larger than the limit");
		if (err < 0)
			return qmp_break(q, -EPROTO,
					 "malformed JSON from peer");
		if (err == 1) {
			if (!json_object_is_type(msg, json_type_object)) {
				json_object_put(msg);
				return qmp_break(
					q, -EPROTO,
					"message is not a JSON object");
			}
			if (json_object_object_get_ex(msg, "event", &tmp) &&
			    json_object_is_type(tmp, json_type_string)) {
				queue_event(q, msg);
				continue;
			}
			*ret = msg;
			return 1;
		}
		err = read_some(q);
		if (err < 0 && err != -EAGAIN)
			return err;
		/* Checked after each read too: a peer flooding events (or
		 * stale replies) must not keep us past the deadline. */
		if (err == 0 && qvmi__mono_ms() < deadline)
			continue;
		if (q->xops)
			return qmp_break(q, -EPROTO, "no reply from transport");
		err = err ? wait_fd(q->fd, POLLIN, deadline) : -ETIMEDOUT;
		if (err == -ETIMEDOUT)
			return qvmi__err(q->ctx, err, "QMP: no reply in time");
		if (err < 0)
			return qmp_break(q, err, "poll failed");
	}
}

static int send_command(struct qvmi_qmp *q, const char *cmd,
			struct json_object *args, const char *id,
			int64_t deadline, bool defer);
static int wait_reply(struct qvmi_qmp *q, const char *cmd, const char *id,
		      int64_t deadline, struct json_object **ret);

int qvmi__qmp_parse_greeting(struct qvmi_qmp *q, struct json_object *msg)
{
	struct json_object *qmp, *ver, *qemu, *v;
	int parts[3], i;
	static const char *const keys[3] = { "major", "minor", "micro" };

	if (!json_object_object_get_ex(msg, "QMP", &qmp) ||
	    !json_object_is_type(qmp, json_type_object))
		return qmp_break(q, -EPROTO, "no greeting from peer");
	if (!json_object_object_get_ex(qmp, "version", &ver) ||
	    !json_object_object_get_ex(ver, "qemu", &qemu) ||
	    !json_object_is_type(qemu, json_type_object))
		return qmp_break(q, -EPROTO, "greeting without a version");
	for (i = 0; i < 3; i++) {
		if (!json_object_object_get_ex(qemu, keys[i], &v) ||
		    !json_object_is_type(v, json_type_int))
			return qmp_break(q, -EPROTO, "bad version in greeting");
		parts[i] = json_object_get_int(v);
		if (parts[i] < 0 || parts[i] > 9999)
			return qmp_break(q, -EPROTO, "bad version in greeting");
	}
	snprintf(q->version, sizeof(q->version), "%d.%d.%d", parts[0], parts[1],
		 parts[2]);
	return 0;
}

/* The greeting's raw text, for a proxy to repeat to its clients. */
static int keep_greeting(struct qvmi_qmp *q)
{
	size_t len;
	const char *raw = qvmi__json_stream_raw(&q->js, &len);

	q->greeting = raw ? malloc(len + 1) : NULL;
	if (!q->greeting)
		return qvmi__err(q->ctx, -ENOMEM, "out of memory");
	memcpy(q->greeting, raw, len);
	q->greeting[len] = '\0';
	q->greeting_len = len;
	return 0;
}

int qvmi__qmp_open_fd(struct qvmi_ctx *ctx, int fd, int timeout_ms,
		      struct qvmi_qmp **ret)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct json_object *msg = NULL;
	struct qvmi_qmp *q;
	int err, serr, fl, gms;
	char id[32];

	*ret = NULL;
	if (fd < 0)
		return qvmi__err(ctx, -EBADF, "QMP: no connection");
	q = calloc(1, sizeof(*q));
	if (!q) {
		close(fd);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	q->ctx = ctx;
	q->fd = fd;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	err = qvmi__json_stream_init(&q->js, QVMI_QMP_MAX_MSG);
	if (err < 0) {
		err = qvmi__err(ctx, err, "out of memory");
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = qvmi__err(ctx, -errno, "QMP: fcntl: %s", strerror(errno));
		goto fail;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) &&
	    clen == sizeof(cred))
		q->peer_pid = cred.pid;

	/* qmp_capabilities goes out before the greeting is read: QEMU sends
	 * the greeting as the connection opens, before it reads a byte, so
	 * the round trip overlaps the wait for the greeting.  A failed send
	 * is reported after the greeting's own verdict. */
	snprintf(id, sizeof(id), "qvmi-%" PRIu64, ++q->next_id);
	serr = send_command(q, "qmp_capabilities", NULL, id,
			    qvmi__mono_ms() + q->timeout_ms, false);
	gms = QVMI_MIN(q->timeout_ms, QMP_GREETING_MS);
	err = next_message(q, qvmi__mono_ms() + gms, &msg);
	if (err == -ETIMEDOUT)
		err = qvmi__err(ctx, -EBUSY,
				"QMP: connected, but no greeting in %d ms: "
				"another client holds QEMU's QMP socket "
				"(QEMU serves one at a time); run qvmid "
				"--listen-qmp PATH as a proxy and point every "
				"client at PATH",
				gms);
	if (err < 0)
		goto fail;
	err = qvmi__qmp_parse_greeting(q, msg);
	json_object_put(msg);
	if (!err)
		err = keep_greeting(q);
	if (err < 0)
		goto fail;
	err = serr < 0 ? serr :
			 wait_reply(q, "qmp_capabilities", id,
				    qvmi__mono_ms() + q->timeout_ms, NULL);
	if (err < 0)
		goto fail;
	*ret = q;
	return 0;
fail:
	qvmi__qmp_close(q);
	return err;
}

int qvmi__qmp_open(struct qvmi_ctx *ctx, const char *path, int timeout_ms,
		   struct qvmi_qmp **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline, busy;
	int fd;

	*ret = NULL;
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return qvmi__err(ctx, -ENAMETOOLONG, "QMP: bad socket path");
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return qvmi__err(ctx, -errno, "QMP: socket: %s",
				 strerror(errno));
	deadline = qvmi__mono_ms() + timeout_ms;
	busy = qvmi__mono_ms() + QVMI_MIN(timeout_ms, QMP_GREETING_MS);
	/* A full listen backlog gives EAGAIN on unix sockets: retry.  QEMU
	 * 7.2 accepts no second client while one is served, so the backlog
	 * fills with the clients that gave up waiting for a greeting: that
	 * is the same "busy", told as quickly. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		if (e == EAGAIN && qvmi__mono_ms() >= busy) {
			close(fd);
			return qvmi__err(ctx, -EBUSY,
					 "QMP: %s: no connection accepted in "
					 "%d ms: another client holds QEMU's "
					 "QMP socket (QEMU serves one at a "
					 "time); run qvmid --listen-qmp PATH "
					 "as a proxy and point every client at "
					 "PATH",
					 path,
					 QVMI_MIN(timeout_ms, QMP_GREETING_MS));
		}
		if (e != EAGAIN || remaining_ms(deadline) == 0) {
			close(fd);
			return qvmi__err(ctx, e == EAGAIN ? -ETIMEDOUT : -e,
					 "QMP: connect %s: %s", path,
					 strerror(e));
		}
		poll(NULL, 0, 10);
	}
	return qvmi__qmp_open_fd(ctx, fd, remaining_ms(deadline) ?: 1, ret);
}

void qvmi__qmp_close(struct qvmi_qmp *q)
{
	struct json_object *ev;

	if (!q)
		return;
	while (qvmi__qmp_event_pop(q, &ev) == 0)
		json_object_put(ev);
	qvmi__json_stream_deinit(&q->js);
	if (q->fd >= 0)
		close(q->fd);
	for (unsigned int i = 0; i < q->nmarks; i++)
		for (unsigned int j = 0; j < q->marks[i].n; j++)
			close(q->marks[i].fds[j]);
	if (q->xops && q->xops->destroy)
		q->xops->destroy(q->xpriv);
	free(q->obuf);
	free(q->greeting);
	free(q);
}

void qvmi__qmp_set_timeout(struct qvmi_qmp *q, int timeout_ms)
{
	if (timeout_ms > 0)
		q->timeout_ms = timeout_ms;
}

/* ---- commands ----------------------------------------------------------- */

static int reply_error(struct qvmi_qmp *q, const char *cmd,
		       struct json_object *err)
{
	struct json_object *cls = NULL, *desc = NULL;

	json_object_object_get_ex(err, "class", &cls);
	json_object_object_get_ex(err, "desc", &desc);
	return qvmi__err(q->ctx, -EREMOTEIO, "QMP %s: %s: %s", cmd,
			 cls ? json_object_get_string(cls) : "error",
			 desc ? json_object_get_string(desc) : "(no desc)");
}

/* 1: the reply to id; 0: someone else's (a late reply), -errno: bad. */
static int match_reply(struct qvmi_qmp *q, struct json_object *msg,
		       const char *id)
{
	struct json_object *mid;

	if (!json_object_object_get_ex(msg, "id", &mid)) {
		/* QEMU answers a request it could not parse without an id;
		 * we only ever have one request outstanding. */
		if (json_object_object_get_ex(msg, "error", NULL))
			return 1;
		qvmi__log(q->ctx, QVMI_LOG_DEBUG, "QMP: message without id");
		return 0;
	}
	if (!json_object_is_type(mid, json_type_string) ||
	    strcmp(json_object_get_string(mid), id)) {
		qvmi__log(q->ctx, QVMI_LOG_DEBUG, "QMP: dropping late reply %s",
			  json_object_to_json_string(mid));
		return 0;
	}
	return 1;
}

/*
 * Our line behind lines already queued, in the same write: each write
 * wakes QEMU's monitor, which then competes with us for a core (a 1 ms gap
 * between two writes on a loaded 2-core host).  With defer it only queues.
 * A send that times out before our line went out takes it back (the
 * command was not sent); one cut inside our line leaves the stream
 * desynchronised: the connection is broken.
 */
static int send_after_queued(struct qvmi_qmp *q, const char *line, size_t len,
			     bool defer, int64_t deadline)
{
	size_t start;
	int err;

	if (q->olen - q->ooff > QVMI_QMP_MAX_MSG)
		return 1; /* a proxy's backlog: send ours on its own */
	start = q->olen;
	err = qvmi__qmp_queue(q, line, len);
	if (err || defer)
		return err;
	err = send_queued(q, deadline);
	if (err != -ETIMEDOUT)
		return err;
	if (q->ooff <= start) {
		q->olen = start;
		return qvmi__err(q->ctx, err, "QMP: send timed out");
	}
	return qmp_break(q, -EPROTO, "send timed out inside a command");
}

/* Send a command line, or with defer only queue it (qvmi__qmp_send: the
 * lines of one batch then go out in one write). */
static int send_command(struct qvmi_qmp *q, const char *cmd,
			struct json_object *args, const char *id,
			int64_t deadline, bool defer)
{
	struct json_object *req = json_object_new_object();
	const char *s;
	size_t len;
	char *line;
	int err;

	if (!req)
		return qvmi__err(q->ctx, -ENOMEM, "out of memory");
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_string(id));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = s ? strlen(s) : 0;
	line = s ? malloc(len + 2) : NULL;
	if (!line) {
		json_object_put(req);
		return qvmi__err(q->ctx, -ENOMEM, "out of memory");
	}
	memcpy(line, s, len);
	memcpy(line + len, "\n", 2);
	json_object_put(req);
	if (q->xops) {
		err = qvmi__qmp_queue(q, line, len + 1);
		free(line);
		return err || defer ? err : qvmi__qmp_xport_run(q);
	}
	if (defer || q->olen > q->ooff)
		err = send_after_queued(q, line, len + 1, defer, deadline);
	else
		err = 1;
	if (err <= 0) {
		free(line);
		return err;
	}
	/* Lines queued by a proxy go first, whole: a timeout here leaves
	 * the rest queued and our line unsent. */
	err = send_queued(q, deadline);
	if (err == -ETIMEDOUT)
		err = qvmi__err(q->ctx, err, "QMP: send timed out");
	if (!err)
		err = send_all(q, line, len + 1, deadline);
	free(line);
	return err;
}

/* Deliver a reply to a command from qvmi__qmp_send: 1 if msg was one. */
static int take_pending(struct qvmi_qmp *q, struct json_object *msg)
{
	struct json_object *mid, *val;
	struct pending p;
	size_t i = 0;
	int err;

	if (!q->npend)
		return 0;
	if (json_object_object_get_ex(msg, "id", &mid)) {
		if (!json_object_is_type(mid, json_type_string))
			return 0;
		while (i < q->npend &&
		       strcmp(q->pend[i].id, json_object_get_string(mid)))
			i++;
		if (i == q->npend)
			return 0;
	} else if (!json_object_object_get_ex(msg, "error", NULL)) {
		return 0;
	} /* else: a request QEMU could not parse; replies come in order,
	     so it is the oldest one in flight (i = 0) */
	p = q->pend[i];
	memmove(&q->pend[i], &q->pend[i + 1],
		(q->npend - i - 1) * sizeof(q->pend[0]));
	q->npend--;
	if (json_object_object_get_ex(msg, "return", &val))
		err = 0;
	else if (json_object_object_get_ex(msg, "error", &val))
		err = reply_error(q, p.cmd, val);
	else
		err = qvmi__err(q->ctx, -EPROTO,
				"QMP %s: reply without return or error", p.cmd);
	if (p.fn)
		p.fn(err, err ? NULL : val, p.arg);
	else if (err)
		qvmi__log(q->ctx, QVMI_LOG_DEBUG, "%s", qvmi_errmsg(q->ctx));
	return 1;
}

/* Wait for the reply to id; replies to earlier qvmi__qmp_send commands
 * are delivered on the way. */
static int wait_reply(struct qvmi_qmp *q, const char *cmd, const char *id,
		      int64_t deadline, struct json_object **ret)
{
	struct json_object *msg, *val;
	int err;

	for (;;) {
		err = next_message(q, deadline, &msg);
		if (err < 0)
			return err == -ETIMEDOUT ?
				       qvmi__err(q->ctx, err,
						 "QMP %s: no reply in %d ms",
						 cmd, q->timeout_ms) :
				       err;
		if (take_pending(q, msg)) {
			json_object_put(msg);
			continue;
		}
		err = match_reply(q, msg, id);
		if (err == 1)
			break;
		tap(q, msg);
		json_object_put(msg);
	}
	if (json_object_object_get_ex(msg, "return", &val)) {
		if (ret)
			*ret = json_object_get(val);
		err = 0;
	} else if (json_object_object_get_ex(msg, "error", &val)) {
		err = reply_error(q, cmd, val);
	} else {
		err = qmp_break(q, -EPROTO, "reply without return or error");
	}
	json_object_put(msg);
	return err;
}

static void abandon_pending(struct qvmi_qmp *q);

int qvmi__qmp_execute(struct qvmi_qmp *q, const char *cmd,
		      struct json_object *args, struct json_object **ret)
{
	int64_t deadline = qvmi__mono_ms() + q->timeout_ms;
	char id[32];
	int err;

	if (ret)
		*ret = NULL;
	if (q->broken)
		return qmp_broken(q);
	snprintf(id, sizeof(id), "qvmi-%" PRIu64, ++q->next_id);
	err = send_command(q, cmd, args, id, deadline, false);
	if (!err)
		err = wait_reply(q, cmd, id, deadline, ret);
	if (err < 0 && err != -EREMOTEIO)
		abandon_pending(q);
	return err;
}

int qvmi__qmp_send(struct qvmi_qmp *q, const char *cmd,
		   struct json_object *args, qvmi_qmp_reply_fn fn, void *arg)
{
	struct pending *p;
	int err;

	if (q->broken)
		return qmp_broken(q);
	if (q->npend == MAX_PENDING) {
		err = qvmi__qmp_sync(q);
		if (err < 0)
			return err;
	}
	p = &q->pend[q->npend];
	snprintf(p->id, sizeof(p->id), "qvmi-%" PRIu64, ++q->next_id);
	snprintf(p->cmd, sizeof(p->cmd), "%s", cmd);
	err = send_command(q, cmd, args, p->id, 0, true);
	if (err < 0)
		return err;
	p->fn = fn;
	p->arg = arg;
	q->npend++;
	return 0;
}

/* After a failed wait the callers' callback arguments may be gone: the
 * replies still to come are only recognised and dropped. */
static void abandon_pending(struct qvmi_qmp *q)
{
	for (size_t i = 0; i < q->npend; i++)
		q->pend[i].fn = NULL;
}

int qvmi__qmp_sync(struct qvmi_qmp *q)
{
	int64_t deadline = qvmi__mono_ms() + q->timeout_ms;
	struct json_object *msg;
	int err = send_queued(q, deadline);

	if (err == -ETIMEDOUT)
		err = qvmi__err(q->ctx, err, "QMP: send timed out");
	while (!err && q->npend) {
		if (q->broken) {
			err = qmp_broken(q);
			break;
		}
		err = next_message(q, deadline, &msg);
		if (err < 0) {
			if (err == -ETIMEDOUT)
				err = qvmi__err(q->ctx, err,
						"QMP %s: no reply in %d ms",
						q->pend[0].cmd, q->timeout_ms);
			break;
		}
		err = 0;
		if (!take_pending(q, msg))
			tap(q, msg);
		json_object_put(msg);
	}
	if (err < 0)
		abandon_pending(q);
	return err;
}

int qvmi__qmp_hmp(struct qvmi_qmp *q, const char *cmdline, char **ret)
{
	struct json_object *args, *out = NULL;
	int err;

	*ret = NULL;
	args = json_object_new_object();
	if (!args)
		return qvmi__err(q->ctx, -ENOMEM, "out of memory");
	json_object_object_add(args, "command-line",
			       json_object_new_string(cmdline));
	err = qvmi__qmp_execute(q, "human-monitor-command", args, &out);
	json_object_put(args);
	if (err < 0)
		return err;
	if (!json_object_is_type(out, json_type_string)) {
		json_object_put(out);
		return qvmi__err(q->ctx, -EPROTO,
				 "QMP human-monitor-command: not a string");
	}
	*ret = strdup(json_object_get_string(out));
	json_object_put(out);
	if (!*ret)
		return qvmi__err(q->ctx, -ENOMEM, "out of memory");
	return 0;
}

/* ---- events --------------------------------------------------------- */

int qvmi__qmp_poll(struct qvmi_qmp *q, int timeout_ms)
{
	int64_t deadline = qvmi__mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct json_object *msg;
	int err, reads = 0;

	if (q->broken)
		return qmp_broken(q);
	for (;;) {
		/* Complete messages already buffered come first. */
		while ((err = qvmi__json_stream_next(&q->js, &msg)) == 1) {
			struct json_object *tmp;

			if (json_object_is_type(msg, json_type_object) &&
			    json_object_object_get_ex(msg, "event", &tmp) &&
			    json_object_is_type(tmp, json_type_string))
				queue_event(q, msg);
			else { /* someone else's reply, or a stray value */
				if (!json_object_is_type(msg,
							 json_type_object) ||
				    !take_pending(q, msg))
					tap(q, msg);
				json_object_put(msg);
			}
		}
		if (err == -EMSGSIZE)
			return qmp_break(q, err,
					 "message larger than the limit");
		if (err < 0)
			return qmp_break(q, -EPROTO,
					 "malformed JSON from peer");
		if (reads++ >= POLL_MAX_READS)
			break;
		err = read_some(q);
		if (err == 0) {
			/* Got something: drain the rest without waiting. */
			deadline = 0;
			continue;
		}
		if (err != -EAGAIN)
			return err;
		err = wait_fd(q->fd, POLLIN, deadline);
		if (err == -ETIMEDOUT)
			break;
		if (err < 0)
			return qmp_break(q, err, "poll failed");
	}
	return (int)q->ev_count;
}

int qvmi__qmp_event_pop(struct qvmi_qmp *q, struct json_object **ret)
{
	*ret = NULL;
	if (!q->ev_count)
		return -ENOENT;
	*ret = q->events[q->ev_head];
	q->events[q->ev_head] = NULL;
	q->ev_head = (q->ev_head + 1) % QVMI_QMP_MAX_EVENTS;
	q->ev_count--;
	return 0;
}

void qvmi__qmp_set_event_cb(struct qvmi_qmp *q, qvmi_qmp_event_fn fn, void *arg)
{
	q->ev_fn = fn;
	q->ev_arg = arg;
}

void qvmi__qmp_get_event_cb(const struct qvmi_qmp *q, qvmi_qmp_event_fn *fn,
			    void **arg)
{
	*fn = q->ev_fn;
	*arg = q->ev_arg;
}

int qvmi__qmp_fd(const struct qvmi_qmp *q)
{
	return q->fd;
}

pid_t qvmi__qmp_peer_pid(const struct qvmi_qmp *q)
{
	return q->peer_pid;
}

const char *qvmi__qmp_version(const struct qvmi_qmp *q)
{
	return q->version;
}

struct qvmi_ctx *qvmi__qmp_ctx(const struct qvmi_qmp *q)
{
	return q->ctx;
}
