// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's QMP proxy and main loop (see qmp-proxy.h and docs/QVMID.md).
 *
 * Requests: a client's input is read by a model of QEMU 7.2's own JSON
 * reader (proxy-json.c): what QEMU could not parse is answered here with
 * QEMU's error text and never reaches QEMU, so one client's bad bytes
 * cannot run into another's request there.  Each client has at most one
 * request at QEMU; its later input waits until the reply comes back.  That
 * keeps every client's replies in request order (QEMU answers in order
 * too), bounds the proxy's state by the number of clients, and is
 * backpressure for free.  The request goes to QEMU byte for byte except
 * for its "id", replaced by "qvmid-proxy-N"; the reply gets the client's
 * id back, written as QEMU writes it (never the client's raw text), and
 * every other byte as QEMU wrote it.
 *
 * Output: per-client queues, sent without blocking.  Replies are always
 * queued (a client with unread output sends nothing more, so at most one
 * reply is pending beyond max_queue); events past max_queue disconnect the
 * client.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy-int.h"
#include "attach/qvmid.h"
#include "proto/jsonobj.h"

enum {
	DEFAULT_MAX_CLIENTS = 64,
	DEFAULT_MAX_QUEUE = 4 << 20,
	DEFAULT_MAX_REQUEST = 1 << 20,
	READ_CHUNK = 64 * 1024,
	/* A client with this much unsent output is not read from. */
	OUT_PAUSE = 256 * 1024,
	/* Nor is anyone while this much waits to go to QEMU. */
	UP_PAUSE = 1 << 20,
	CLOSING_MS = 2000, /* to deliver a last error before closing */
	ACCEPT_BURST = 16,
	MSG_BUDGET = 16, /* requests per client per loop turn */
};

static const char id_prefix[] = "qvmid-proxy-";

void qvmid_proxy_log(struct qvmid_proxy *p, enum qvmi_log_level lvl,
		     const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int saved = errno;

	if (!p->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->o.log(lvl, buf, p->o.log_arg);
	errno = saved;
}

/* ---- client output ------------------------------------------------------ */

static bool pc_append(struct pclient *c, const char *s, size_t len)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (len > c->out_cap - c->out_len && c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (len > c->out_cap - c->out_len) {
		size_t cap = QVMI_MAX(QVMI_MAX(c->out_cap * 2, (size_t)4096),
				      c->out_len + len);
		char *nb = realloc(c->out, cap);

		if (!nb)
			return false;
		c->out = nb;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	return true;
}

void qvmid_pc_send(struct qvmid_proxy *p, struct pclient *c, const char *s,
		   size_t len)
{
	if (c->dead)
		return;
	/* QEMU ends every message with CRLF. */
	if (!pc_append(c, s, len) || !pc_append(c, "\r\n", 2)) {
		qvmid_proxy_log(p, QVMI_LOG_WARN,
				"qmp-proxy: out of memory: dropping a client");
		c->dead = true;
	}
}

void qvmid_pc_return(struct qvmid_proxy *p, struct pclient *c, const char *ret,
		     const char *id)
{
	char *s;
	int n = id ? asprintf(&s, "{\"return\": %s, \"id\": %s}", ret, id) :
		     asprintf(&s, "{\"return\": %s}", ret);

	if (n < 0) {
		c->dead = true;
		return;
	}
	qvmid_pc_send(p, c, s, (size_t)n);
	free(s);
}

void qvmid_pc_error(struct qvmid_proxy *p, struct pclient *c, const char *id,
		    const char *cls, const char *fmt, ...)
{
	char *desc = NULL, *q, *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&desc, fmt, ap);
	va_end(ap);
	/* Escaped as QEMU's json-writer.c does: a cut or invalid UTF-8
	 * sequence in desc becomes \uFFFD, never invalid JSON. */
	q = n < 0 ? NULL : pj_quote(desc, (size_t)n);
	if (n >= 0)
		free(desc);
	if (!q) {
		c->dead = true;
		return;
	}
	/* QEMU 7.2 puts the id first in error replies. */
	n = asprintf(&s, "%s%s%s{\"class\": \"%s\", \"desc\": %s}}",
		     id ? "{\"id\": " : "", id ? id : "",
		     id ? ", \"error\": " : "{\"error\": ", cls, q);
	free(q);
	if (n < 0) {
		c->dead = true;
		return;
	}
	qvmid_pc_send(p, c, s, (size_t)n);
	free(s);
}

/* 1: progress or nothing to do, 0: would block, -1: gone. */
static int pc_flush(struct pclient *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

static size_t pc_queued(const struct pclient *c)
{
	return c->out_len - c->out_off;
}

/* ---- from QEMU (the tap) -------------------------------------------- */

static void fan_out_event(struct qvmid_proxy *p, struct json_object *msg,
			  const char *raw, size_t len)
{
	struct json_object *name;

	p->st.events++;
	if (json_object_object_get_ex(msg, "event", &name))
		qvmid_proxy_log(p, QVMI_LOG_INFO, "event %s",
				json_object_get_string(name));
	for (unsigned int i = 0; i < p->ncl; i++) {
		struct pclient *c = p->cl[i];

		if (c->dead || !c->negotiated)
			continue;
		qvmid_pc_send(p, c, raw, len);
		if (pc_queued(c) > p->o.max_queue && !c->dead) {
			qvmid_proxy_log(p, QVMI_LOG_WARN,
					"qmp-proxy: a client left %zu bytes "
					"unread: disconnecting it",
					pc_queued(c));
			p->st.dropped_slow++;
			c->dead = true;
		}
	}
}

static struct pclient *waiter(struct qvmid_proxy *p, uint64_t id)
{
	for (unsigned int i = 0; i < p->ncl; i++)
		if (p->cl[i]->wait_id == id)
			return p->cl[i];
	return NULL;
}

/* Our request number from a reply's id, or 0. */
static uint64_t reply_id(struct json_object *msg)
{
	struct json_object *id;
	const char *s;
	char *end;
	uint64_t n;

	if (!json_object_object_get_ex(msg, "id", &id) ||
	    !json_object_is_type(id, json_type_string))
		return 0;
	s = json_object_get_string(id);
	if (strncmp(s, id_prefix, sizeof(id_prefix) - 1))
		return 0;
	s += sizeof(id_prefix) - 1;
	if (*s < '1' || *s > '9')
		return 0;
	errno = 0;
	n = strtoull(s, &end, 10);
	return errno || *end ? 0 : n;
}

/* Our request n is at QEMU. */
static int inflight_add(struct qvmid_proxy *p, uint64_t n)
{
	if (p->ninflight == p->inflight_cap) {
		size_t cap = p->inflight_cap ? p->inflight_cap * 2 : 16;
		uint64_t *ni = realloc(p->inflight, cap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		p->inflight = ni;
		p->inflight_cap = cap;
	}
	p->inflight[p->ninflight++] = n;
	return 0;
}

/* QEMU answered our request n (0: the oldest, for an error without an
 * id); which one it was, or 0 if none was at QEMU. */
static uint64_t inflight_done(struct qvmid_proxy *p, uint64_t n)
{
	size_t i = 0;

	if (!p->ninflight)
		return 0;
	if (n)
		while (i < p->ninflight && p->inflight[i] != n)
			i++;
	if (i == p->ninflight)
		return 0;
	n = p->inflight[i];
	memmove(p->inflight + i, p->inflight + i + 1,
		(p->ninflight - i - 1) * sizeof(*p->inflight));
	p->ninflight--;
	return n;
}

static void deliver_reply(struct qvmid_proxy *p, struct pclient *c,
			  struct json_object *msg, const char *raw, size_t len)
{
	char *out = NULL, *out2 = NULL;
	size_t olen, olen2;
	const char *id = c->wait_idtext;
	int err;

	/* An error without an id stays so: QEMU could not read the
	 * request, and says so to whoever sent it. */
	if (json_object_object_get_ex(msg, "id", NULL))
		err = qvmi__jsonobj_set(raw, len, "id", id, id ? strlen(id) : 0,
					&out, &olen);
	else {
		out = strndup(raw, len);
		olen = len;
		err = out ? 0 : -ENOMEM;
	}
	if (!err && c->wait_qc &&
	    !qvmid_proxy_add_commands(out, olen, &out2, &olen2)) {
		free(out);
		out = out2;
		olen = olen2;
	}
	if (err)
		qvmid_pc_error(p, c, id, "GenericError",
			       "qvmid: cannot relay QEMU's reply");
	else
		qvmid_pc_send(p, c, out, olen);
	free(out);
	free(c->wait_idtext);
	c->wait_idtext = NULL;
	c->wait_id = 0;
	c->wait_qc = false;
	c->runnable = true; /* its next request may be buffered already */
}

/* Called by the QMP client for every event and every reply that libqvmi
 * did not wait for, in arrival order, from qvmi__qmp_poll or while libqvmi
 * waits in qvmi__qmp_execute: only queue, never touch the connection. */
static void on_tap(struct json_object *msg, const char *raw, size_t len,
		   void *arg)
{
	struct qvmid_proxy *p = arg;
	struct json_object *ev;
	struct pclient *c;
	uint64_t id;

	if (json_object_object_get_ex(msg, "event", &ev)) {
		if (p->session) /* only queues: we may be inside a command */
			qvmid_session_server_qmp_event(p->session, msg);
		for (unsigned int i = 0; i < p->nsvc; i++)
			if (p->svc[i].ops->qmp_event)
				p->svc[i].ops->qmp_event(p->svc[i].svc, msg);
		fan_out_event(p, msg, raw, len);
		return;
	}
	id = reply_id(msg);
	/* QEMU 7.2 answers a request it cannot parse with an error that
	 * has no id (monitor/qmp.c); the proxy sends none such, but should
	 * one come, it is the oldest request's, not nobody's. */
	if (!id && !json_object_object_get_ex(msg, "id", NULL) &&
	    json_object_object_get_ex(msg, "error", NULL))
		id = inflight_done(p, 0);
	else if (id)
		inflight_done(p, id);
	c = id ? waiter(p, id) : NULL;
	if (!c || c->dead) {
		/* Its client left, or libqvmi's own late reply. */
		p->st.discarded++;
		qvmid_proxy_log(p, QVMI_LOG_DEBUG,
				"qmp-proxy: discarding a reply nobody waits "
				"for");
		return;
	}
	deliver_reply(p, c, msg, raw, len);
}

/* ---- from clients ------------------------------------------------------- */

static void forward(struct qvmid_proxy *p, struct pclient *c, const char *cmd,
		    const char *tmpl, size_t len, size_t slot, const char *id,
		    int *fds, unsigned int nfds);

void qvmid_proxy_forward(struct qvmid_proxy *p, struct pclient *c,
			 const char *cmd, const char *tmpl, size_t len,
			 size_t slot, const char *id)
{
	forward(p, c, cmd, tmpl, len, slot, id, NULL, 0);
}

void qvmid_proxy_forward_fds(struct qvmid_proxy *p, struct pclient *c,
			     const char *cmd, const struct pj_msg *m, int *fds,
			     unsigned int nfds)
{
	forward(p, c, cmd, m->tmpl, m->tmpl_len, m->slot, m->id, fds, nfds);
}

static void forward(struct qvmid_proxy *p, struct pclient *c, const char *cmd,
		    const char *tmpl, size_t len, size_t slot, const char *id,
		    int *fds, unsigned int nfds)
{
	char newid[sizeof(id_prefix) + 24], *line;
	uint64_t n = ++p->next_id;
	size_t idlen, llen;
	int err;

	idlen = (size_t)snprintf(newid, sizeof(newid), "\"%s%" PRIu64 "\"",
				 id_prefix, n);
	llen = len + idlen + 1;
	line = slot <= len ? malloc(llen) : NULL;
	err = line ? inflight_add(p, n) : -ENOMEM;
	if (!err) {
		memcpy(line, tmpl, slot);
		memcpy(line + slot, newid, idlen);
		memcpy(line + slot + idlen, tmpl + slot, len - slot);
		line[llen - 1] = '\n';
		err = qvmi__qmp_queue_fds(p->q, line, llen, fds, nfds);
		if (err)
			inflight_done(p, n);
		else
			nfds = 0; /* taken */
	}
	qvmid_proxy_close_fds(fds, nfds);
	free(line);
	if (err && c)
		qvmid_pc_error(p, c, id, "GenericError",
			       "qvmid: cannot forward the command to QEMU");
	if (err || !c) {
		p->st.forwarded += !err;
		qvmi__qmp_flush(p->q);
		return;
	}
	c->wait_id = n;
	c->wait_idtext = id ? strdup(id) : NULL;
	c->wait_qc = cmd && !strcmp(cmd, "query-commands");
	if (id && !c->wait_idtext)
		c->dead = true;
	p->st.forwarded++;
	qvmi__qmp_flush(p->q); /* errors show on the next poll */
}

/* One complete message from a client. */
/* A management stop or cont: the session must know whose the VM's run
 * state is (qvmid_session_server_mgmt_run). */
static void mgmt_run(struct qvmid_proxy *p, const char *cmd)
{
	if (strcmp(cmd, "stop") && strcmp(cmd, "cont"))
		return;
	if (p->session)
		qvmid_session_server_mgmt_run(p->session, cmd[0] == 'c');
	for (unsigned int i = 0; i < p->nsvc; i++)
		if (p->svc[i].ops->mgmt_run)
			p->svc[i].ops->mgmt_run(p->svc[i].svc, cmd[0] == 'c');
}

static void handle_msg(struct qvmid_proxy *p, struct pclient *c,
		       const struct pj_msg *m)
{
	struct json_object *ex, *req = m->obj;
	const char *cmd = NULL, *id = m->id;
	int fds[QVMI_QMP_MAX_FDS];
	unsigned int nfds = qvmid_proxy_claim_fds(c, m, fds);

	if (m->kind == PJ_ERROR ||
	    !json_object_is_type(req, json_type_object)) {
		/* QEMU's parse errors carry no id */
		qvmid_pc_error(p, c, NULL, "GenericError", "%s",
			       m->kind == PJ_ERROR ?
				       m->error :
				       "QMP input must be a JSON object");
		qvmid_proxy_close_fds(fds, nfds);
		return;
	}
	if (json_object_object_get_ex(req, "execute", &ex) &&
	    json_object_is_type(ex, json_type_string))
		cmd = json_object_get_string(ex);
	if (nfds && (!c->negotiated || !qvmid_proxy_takes_fds(cmd))) {
		qvmid_proxy_log(p, QVMI_LOG_INFO,
				"qmp-proxy: %u fds came with %s, which takes "
				"none: closed",
				nfds, cmd ?: "a request");
		qvmid_proxy_close_fds(fds, nfds);
		nfds = 0;
	}
	if (c->negotiated && cmd)
		mgmt_run(p, cmd);
	if (!c->negotiated) {
		if (qvmid_proxy_check_obj(p, c, req, id))
			qvmid_proxy_capabilities(p, c, req, id);
	} else if (cmd && !strcmp(cmd, "qmp_capabilities")) {
		qvmid_pc_error(p, c, id, "CommandNotFound",
			       "Capabilities negotiation is already complete, "
			       "command ignored");
	} else if (cmd && qvmid_proxy_hold(p, c, cmd, m)) {
		/* A lifecycle command waits for the session to unhook. */
	} else if (!cmd || !qvmid_proxy_local(p, c, cmd, req, id)) {
		/* Everything else, well-formed JSON: QEMU judges it. */
		qvmid_proxy_forward_fds(p, c, cmd, m, fds, nfds);
		nfds = 0;
	}
	qvmid_proxy_close_fds(fds, nfds);
}

static void client_eof_or_error(struct qvmid_proxy *p, struct pclient *c,
				int err)
{
	if (err == -EMSGSIZE)
		qvmid_pc_error(p, c, NULL, "GenericError",
			       "JSON parse error, message longer than "
			       "qvmid's limit of %zu bytes",
			       p->o.max_request);
	else
		qvmid_pc_error(p, c, NULL, "GenericError",
			       "qvmid: out of memory");
	/* The stream cannot resynchronise: say why, then hang up. */
	c->closing = true;
	c->closing_deadline = qvmi__mono_ms() + CLOSING_MS;
}

static bool can_process(const struct qvmid_proxy *p, const struct pclient *c)
{
	return !c->dead && !c->closing && !c->wait_id &&
	       !qvmid_proxy_held_blocks(p, c) && pc_queued(c) < OUT_PAUSE &&
	       qvmi__qmp_queued(p->q) < UP_PAUSE;
}

/* Act on buffered requests, one at a time. */
static void client_process(struct qvmid_proxy *p, struct pclient *c)
{
	c->runnable = false;
	for (int budget = MSG_BUDGET; budget > 0; budget--) {
		struct pj_msg m;
		int r;

		if (!can_process(p, c)) {
			c->runnable = !c->dead && !c->closing;
			return;
		}
		r = pj_next(&c->in, &m);
		if (r == 0)
			return;
		if (r < 0) {
			client_eof_or_error(p, c, r);
			return;
		}
		handle_msg(p, c, &m);
		pj_msg_free(&m);
	}
	c->runnable = true;
}

static void client_read(struct qvmid_proxy *p, struct pclient *c)
{
	char buf[READ_CHUNK];
	union {
		char b[CMSG_SPACE(sizeof(int) * QVMI_QMP_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	ssize_t n;
	int err;

	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0)
		qvmid_proxy_client_fds(p, c, &mh);
	if (n <= 0) {
		c->dead = true; /* a reply still due is discarded */
		return;
	}
	err = pj_feed(&c->in, buf, (size_t)n);
	if (err)
		client_eof_or_error(p, c, err);
	c->runnable = true;
}

static void client_free(struct pclient *c)
{
	close(c->fd);
	pj_deinit(&c->in);
	qvmid_proxy_close_fds(c->fds, c->nfds);
	free(c->out);
	free(c->wait_idtext);
	free(c);
}

static struct pclient *client_new(struct qvmid_proxy *p, int fd)
{
	struct pclient *c = calloc(1, sizeof(*c));
	const char *g;
	size_t glen;

	if (!c)
		return NULL;
	c->fd = fd;
	pj_init(&c->in, p->o.max_request);
	/* QEMU's own greeting, byte for byte: clients see QEMU. */
	g = qvmi__qmp_greeting(p->q, &glen);
	qvmid_pc_send(p, c, g, glen);
	if (c->dead) {
		c->fd = -1;
		pj_deinit(&c->in);
		free(c->out);
		free(c);
		return NULL;
	}
	return c;
}

/* accept() hit EMFILE: drop one pending connection so the listener does
 * not stay readable and spin the loop. */
static void shed_one(struct qvmid_proxy *p)
{
	int fd;

	if (p->spare_fd < 0)
		return;
	close(p->spare_fd);
	fd = accept(p->l.fd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	p->st.refused++;
}

static void accept_some(struct qvmid_proxy *p)
{
	for (int n = 0; n < ACCEPT_BURST; n++) {
		int fd = accept4(p->l.fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct pclient *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				shed_one(p);
			return;
		}
		c = p->ncl < p->o.max_clients ? client_new(p, fd) : NULL;
		if (!c) {
			if (!p->st.refused++)
				qvmid_proxy_log(p, QVMI_LOG_WARN,
						"qmp-proxy: %u clients: "
						"refusing more",
						p->ncl);
			close(fd);
			continue;
		}
		p->cl[p->ncl++] = c;
		p->st.accepted++;
		qvmid_proxy_log(p, QVMI_LOG_INFO,
				"qmp-proxy: client connected (%u now)", p->ncl);
	}
}

static void sweep_clients(struct qvmid_proxy *p, int64_t now)
{
	for (unsigned int i = p->ncl; i-- > 0;) {
		struct pclient *c = p->cl[i];

		if (!c->dead && pc_queued(c) && pc_flush(c) < 0)
			c->dead = true;
		if (c->closing && (!pc_queued(c) || now >= c->closing_deadline))
			c->dead = true;
		if (!c->dead)
			continue;
		if (c->wait_id)
			qvmid_proxy_log(p, QVMI_LOG_DEBUG,
					"qmp-proxy: client left with a command "
					"at QEMU; its reply will be dropped");
		qvmid_proxy_held_orphan(p, c);
		client_free(c);
		p->cl[i] = p->cl[--p->ncl];
		p->cl[p->ncl] = NULL;
		qvmid_proxy_log(p, QVMI_LOG_INFO,
				"qmp-proxy: client gone (%u left)", p->ncl);
	}
}

/* ---- services of the loop (KVMi, ...) ------------------------------------ */

int qvmid_proxy_add_service(struct qvmid_proxy *p,
			    const struct qvmid_service_ops *ops, void *svc)
{
	if (p->nsvc >= QVMID_PROXY_SERVICES)
		return -ENOSPC;
	p->svc[p->nsvc++] = (struct proxy_svc){ ops, svc };
	return 0;
}

/* Between turns only: a turn's pollfd blocks follow the table. */
void qvmid_proxy_remove_service(struct qvmid_proxy *p, void *svc)
{
	unsigned int i = 0, n;

	while (i < p->nsvc && p->svc[i].svc != svc)
		i++;
	if (i == p->nsvc)
		return;
	p->svc[i].ops->destroy(svc);
	n = p->nsvc - i - 1;
	memmove(p->svc + i, p->svc + i + 1, n * sizeof(p->svc[0]));
	/* held commands keep their unhook tickets by service index */
	for (unsigned int h = 0; h < p->nheld; h++)
		memmove(p->held[h].svc_ticket + i,
			p->held[h].svc_ticket + i + 1,
			n * sizeof(p->held[h].svc_ticket[0]));
	p->nsvc--;
}

/* ---- the loop ------------------------------------------------------------ */

static int pfd_reserve(struct qvmid_proxy *p, size_t n)
{
	struct pollfd *np;

	if (n <= p->pfd_cap)
		return 0;
	np = realloc(p->pfd, n * sizeof(*np));
	if (!np)
		return -ENOMEM;
	p->pfd = np;
	p->pfd_cap = n;
	return 0;
}

/* Layout: wake, QMP, listener, clients, the session, then each service's
 * block (pmemaccess servers, KVMi). */
struct turn {
	nfds_t n, cl_base;
	unsigned int ncl;
	nfds_t ses_base; /* 0: no session server */
	nfds_t svc_base[QVMID_PROXY_SERVICES];
	unsigned int nsvc;
	int64_t next;
	bool busy;
};

static int build_pollfds(struct qvmid_proxy *p, struct turn *t)
{
	size_t need = 3 + p->ncl;
	short qev = POLLIN;

	if (p->session)
		need += qvmid_session_server_nfds(p->session);
	for (unsigned int i = 0; i < p->nsvc; i++)
		need += p->svc[i].ops->nfds(p->svc[i].svc);
	if (pfd_reserve(p, need))
		return -ENOMEM;
	if (qvmi__qmp_queued(p->q))
		qev |= POLLOUT;
	t->next = INT64_MAX;
	t->busy = false;
	p->pfd[0] = (struct pollfd){ p->wake[0], POLLIN, 0 };
	p->pfd[1] = (struct pollfd){ qvmi__qmp_fd(p->q), qev, 0 };
	/* fd -1: poll ignores the entry */
	p->pfd[2] = (struct pollfd){ p->l.fd, POLLIN, 0 };
	t->cl_base = 3;
	t->ncl = p->ncl;
	for (unsigned int i = 0; i < p->ncl; i++) {
		struct pclient *c = p->cl[i];
		short ev = pc_queued(c) ? POLLOUT : 0;

		if (can_process(p, c)) {
			ev |= POLLIN;
			t->busy |= c->runnable;
		}
		if (c->closing)
			t->next = QVMI_MIN(t->next, c->closing_deadline);
		p->pfd[3 + i] = (struct pollfd){ c->fd, ev, 0 };
	}
	t->n = 3 + p->ncl;
	t->ses_base = p->session ? t->n : 0;
	if (p->session)
		t->n += qvmid_session_server_prepare(p->session, p->pfd + t->n,
						     &t->next);
	t->nsvc = p->nsvc;
	for (unsigned int i = 0; i < p->nsvc; i++) {
		t->svc_base[i] = t->n;
		t->n += p->svc[i].ops->prepare(p->svc[i].svc, p->pfd + t->n,
					       &t->next);
	}
	return 0;
}

static int poll_wait_ms(const struct turn *t)
{
	int64_t w;

	if (t->busy)
		return 0;
	if (t->next == INT64_MAX)
		return 60000;
	w = t->next - qvmi__mono_ms();
	return (int)QVMI_MAX(QVMI_MIN(w, (int64_t)60000), (int64_t)0);
}

/* QEMU's side: send what is queued, read replies and events (the tap
 * hands them out).  < 0: QEMU is gone. */
static int serve_qmp(struct qvmid_proxy *p, short re)
{
	struct json_object *ev;
	int err = 0;

	if ((re & POLLOUT) && qvmi__qmp_flush(p->q) < 0)
		err = -EPIPE;
	if (!err && (re & (POLLIN | POLLHUP | POLLERR)))
		err = qvmi__qmp_poll(p->q, 0);
	/* The tap has seen them; libqvmi's queue is only for its users. */
	while (qvmi__qmp_event_pop(p->q, &ev) == 0)
		json_object_put(ev);
	if (err < 0) {
		qvmid_proxy_log(p, QVMI_LOG_WARN,
				"QEMU closed the QMP socket: exiting");
		return -EPIPE;
	}
	return 0;
}

static void serve_clients(struct qvmid_proxy *p, const struct turn *t)
{
	for (unsigned int i = 0; i < t->ncl; i++) {
		struct pclient *c = p->cl[i];
		short re = p->pfd[t->cl_base + i].revents;

		if (c->dead)
			continue;
		if ((re & POLLOUT) && pc_flush(c) < 0)
			c->dead = true;
		if (re & POLLIN)
			client_read(p, c);
		else if (re & (POLLHUP | POLLERR | POLLNVAL))
			c->dead = true;
		if (!c->dead && c->runnable)
			client_process(p, c);
	}
}

int qvmid_proxy_run(struct qvmid_proxy *p)
{
	for (;;) {
		struct turn t;
		int err = build_pollfds(p, &t);

		if (err)
			return err;
		if (poll(p->pfd, t.n, poll_wait_ms(&t)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p->pfd[0].revents) {
			char buf[64];

			while (read(p->wake[0], buf, sizeof(buf)) > 0)
				;
			return 0;
		}
		err = serve_qmp(p, p->pfd[1].revents);
		if (err)
			return err;
		serve_clients(p, &t);
		if (t.ses_base)
			qvmid_session_server_dispatch(p->session,
						      p->pfd + t.ses_base);
		for (unsigned int i = 0; i < t.nsvc; i++)
			p->svc[i].ops->dispatch(p->svc[i].svc,
						p->pfd + t.svc_base[i]);
		if (p->pfd[2].revents & POLLIN)
			accept_some(p);
		qvmid_proxy_retire_pmem(p);
		/* Unhooked (ack, EOF, timeout) or a reply freed a client
		 * whose released command waits: forward it now. */
		qvmid_proxy_release(p);
		/* Replies that arrived while libqvmi waited (pmem reads over
		 * xp) or during this turn go out now, not a turn later. */
		if (qvmi__qmp_queued(p->q) && qvmi__qmp_flush(p->q) < 0)
			return serve_qmp(p, POLLIN);
		sweep_clients(p, qvmi__mono_ms());
	}
}

/* ---- lifetime ------------------------------------------------------------ */

static bool greeting_offers_oob(struct qvmi_qmp *q)
{
	size_t len;
	const char *g = qvmi__qmp_greeting(q, &len);
	struct json_object *o = g ? json_tokener_parse(g) : NULL, *qmp, *caps;
	bool oob = false;

	if (o && json_object_object_get_ex(o, "QMP", &qmp) &&
	    json_object_object_get_ex(qmp, "capabilities", &caps) &&
	    json_object_is_type(caps, json_type_array))
		for (size_t i = 0; i < json_object_array_length(caps); i++)
			oob |= !strcmp(
				json_object_get_string(
					json_object_array_get_idx(caps, i)),
				"oob");
	json_object_put(o);
	return oob;
}

int qvmid_proxy_create(struct qvmi_ctx *ctx, const struct qvmid_proxy_opts *o,
		       struct qvmid_proxy **ret)
{
	struct qvmid_proxy *p;
	size_t glen;
	int err;

	*ret = NULL;
	if (!ctx)
		return -EINVAL;
	/* An attach from the layout cache connects now: a QMP socket held
	 * by another client gives -EBUSY and says so on ctx (issue 18). */
	err = qvmi__qmp_need(ctx);
	if (err)
		return err;
	if (!qvmi__qmp_greeting(qvmi__ctx_qmp(ctx), &glen))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (o)
		p->o = *o;
	p->ctx = ctx;
	p->q = qvmi__ctx_qmp(ctx);
	p->l.fd = p->wake[0] = p->wake[1] = -1;
	p->o.max_clients = p->o.max_clients ?: DEFAULT_MAX_CLIENTS;
	p->o.max_queue = p->o.max_queue ?: DEFAULT_MAX_QUEUE;
	p->o.max_request = p->o.max_request ?: DEFAULT_MAX_REQUEST;
	p->greeting_oob = greeting_offers_oob(p->q);
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	p->cl = calloc(p->o.max_clients, sizeof(*p->cl));
	err = p->cl ? 0 : -ENOMEM;
	if (!err && pipe2(p->wake, O_NONBLOCK | O_CLOEXEC))
		err = -errno;
	if (!err && p->o.listen_path)
		err = qvmid_proxy_listen(p);
	if (err) {
		qvmid_proxy_destroy(p);
		return err;
	}
	qvmi__qmp_set_tap(p->q, on_tap, p);
	if (p->o.listen_path)
		qvmid_proxy_log(p, QVMI_LOG_INFO, "qmp-proxy: serving %s",
				p->o.listen_path);
	*ret = p;
	return 0;
}

void qvmid_proxy_stop(struct qvmid_proxy *p)
{
	char c = 0;
	ssize_t n = write(p->wake[1], &c, 1);

	(void)n; /* a full pipe already means "stop" */
}

void qvmid_proxy_shutdown(struct qvmid_proxy *p)
{
	if (p && p->session)
		qvmid_session_server_shutdown(p->session);
	if (p)
		qvmid_proxy_svc_shutdown(p);
}

void qvmid_proxy_destroy(struct qvmid_proxy *p)
{
	if (!p)
		return;
	if (p->q)
		qvmi__qmp_set_tap(p->q, NULL, NULL);
	qvmid_proxy_held_free(p);
	while (p->ncl) /* EOF to every client */
		client_free(p->cl[--p->ncl]);
	qvmid_session_server_destroy(p->session);
	while (p->nsvc) {
		struct proxy_svc *v = &p->svc[--p->nsvc];

		v->ops->destroy(v->svc);
	}
	qvmid_unix_close(&p->l);
	for (int i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	if (p->spare_fd >= 0)
		close(p->spare_fd);
	free(p->cl);
	free(p->pfd);
	free(p->inflight);
	free(p);
}

void qvmid_proxy_stats(const struct qvmid_proxy *p,
		       struct qvmid_proxy_stats *ret)
{
	*ret = p->st;
	ret->clients = p->ncl;
	ret->pmem_servers = p->npmem;
	ret->holding = p->nheld;
}
