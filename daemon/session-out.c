// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Connect-out (qvmid --session-connect ADDR; docs/PROTOCOL.md
 * "Transport"): KVMi's original direction, where the VM side dials one
 * listening tool that supervises many VMs.  Only connect() changes sides:
 * once the socket is up it is an ordinary session (the tool sends HELLO,
 * proves the key first, qvmid answers with the VM info).  Everything here
 * runs in qvmid's poll loop and never blocks it: the connect is
 * non-blocking, waited for with POLLOUT and bounded by the auth timeout.
 *
 * When the dialled session ends (the tool closed it, failed to
 * authenticate, timed out, or the connect failed) the next attempt comes
 * reconnect_interval later, never sooner, so a wrong key or an absent tool
 * costs one attempt per interval.  A guest reset closes an authenticated
 * dialled session after EV_RESET went out, and dials again after a short
 * settle time that swallows QEMU's burst of RESET events.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "session-int.h"
#include "proto/session-addr.h"

enum {
	OUT_INTERVAL_MS = 1000,
	/* QEMU 7.2's system_reset sends 3 RESET events: host-qmp-system-
	 * reset at once, then two guest-reset (the firmware's) 77 ms later,
	 * measured on the demo guest under TCG.  Dialling after the burst
	 * gives the tool one new session, not three. */
	OUT_RESET_SETTLE_MS = 300,
	/* A tool whose host vanished without a FIN leaves an idle session
	 * open for ever (Linux's default keepalive starts after 2 hours):
	 * probe after 30 s idle, every 10 s, give up after 3, so qvmid
	 * dials again within about a minute. */
	OUT_KEEPIDLE_S = 30,
	OUT_KEEPINTVL_S = 10,
	OUT_KEEPCNT = 3,
};

struct qvmid_ses_out {
	struct qvmi_ses_addr addr;
	char spec[128]; /* for log lines */
	int fd; /* a connect under way, or -1 */
	int64_t next_at; /* earliest next attempt */
	int64_t deadline; /* of the connect under way */
	bool reset_pending;
	bool closed_by_reset;
	bool failing; /* the last attempt failed (log once) */
};

int qvmid_ses_out_create(struct qvmid_session_server *s, const char *addr)
{
	struct qvmid_ses_out *o = calloc(1, sizeof(*o));
	const char *why = "?";
	int err;

	if (!o)
		return -ENOMEM;
	err = qvmi__ses_addr_parse(addr, QVMI_SES_ADDR_NUMERIC, &o->addr, &why);
	if (err) {
		qvmid_ses_log(s, QVMI_LOG_ERROR,
			      "session: --session-connect \"%s\": %s", addr,
			      why);
		free(o);
		return err;
	}
	snprintf(o->spec, sizeof(o->spec), "%s", addr);
	o->fd = -1;
	if (s->o.reconnect_interval_ms <= 0)
		s->o.reconnect_interval_ms = OUT_INTERVAL_MS;
	s->out = o;
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "session: will connect to the tool at %s (every %d ms)",
		      o->spec, s->o.reconnect_interval_ms);
	return 0;
}

static void out_abort(struct qvmid_ses_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

void qvmid_ses_out_destroy(struct qvmid_session_server *s)
{
	if (!s->out)
		return;
	out_abort(s->out);
	free(s->out);
	s->out = NULL;
}

static void out_failed(struct qvmid_session_server *s, int err)
{
	struct qvmid_ses_out *o = s->out;

	out_abort(o);
	s->st.out_failed++;
	o->next_at = qvmid_ses_now_ms() + s->o.reconnect_interval_ms;
	/* An absent tool fails every interval: say it once. */
	qvmid_ses_log(s, o->failing ? QVMI_LOG_DEBUG : QVMI_LOG_WARN,
		      "session: connect to %s: %s (retrying every %d ms)",
		      o->spec, strerror(-err), s->o.reconnect_interval_ms);
	o->failing = true;
}

static void out_connected(struct qvmid_session_server *s, int fd)
{
	struct qvmid_ses_out *o = s->out;
	int one = 1, idle = OUT_KEEPIDLE_S, intvl = OUT_KEEPINTVL_S,
	    cnt = OUT_KEEPCNT;
	char id[QVMI_SES_TLS_ID_MAX + 1];
	struct qvmi_ses_info *info;

	if (o->addr.kind == QVMI_SES_TCP &&
	    (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	     setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	     setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
			sizeof(intvl)) ||
	     setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt))))
		qvmid_ses_log(s, QVMI_LOG_DEBUG, "session: keepalive: %s",
			      strerror(errno));

	s->st.out_connected++;
	o->failing = false;
	o->reset_pending = false;
	if (o->addr.kind == QVMI_SES_UNIX) {
		qvmid_ses_conn_start(s, fd, o->spec, true, QVMI_SES_TLS_NONE,
				     NULL);
		return;
	}
	/* We dialled: TLS client, naming this VM so that a supervising
	 * tool knows which VM the key was proved for. */
	info = malloc(sizeof(*info));
	if (info)
		qvmid_ses_vm_info(s, info);
	if (!info || qvmi__ses_tls_id_vm(id, info->uuid, info->name)) {
		qvmid_ses_log(s, QVMI_LOG_ERROR,
			      "session: the VM name cannot be a TLS identity");
		close(fd);
	} else {
		qvmid_ses_conn_start(s, fd, o->spec, true, QVMI_SES_TLS_CLIENT,
				     id);
	}
	free(info);
}

static void out_start(struct qvmid_session_server *s, int64_t now)
{
	struct qvmid_ses_out *o = s->out;
	int fd = -1;
	int err = qvmi__ses_connect_start((struct sockaddr *)&o->addr.ss,
					  o->addr.len, &fd);

	s->st.out_attempts++;
	o->next_at = now + s->o.reconnect_interval_ms;
	if (!err) {
		out_connected(s, fd);
	} else if (err == -EINPROGRESS) {
		o->fd = fd;
		o->deadline = now + s->o.auth_timeout_ms;
	} else {
		out_failed(s, err);
	}
}

void qvmid_ses_out_prepare(struct qvmid_session_server *s, struct pollfd *pfd,
			   int64_t *next_ms)
{
	struct qvmid_ses_out *o = s->out;
	int64_t now = qvmid_ses_now_ms();

	/* One session per VM: no dialling while one is open. */
	if (o->fd < 0 && !s->c && now >= o->next_at)
		out_start(s, now);
	if (o->fd >= 0) {
		*pfd = (struct pollfd){ o->fd, POLLOUT, 0 };
		*next_ms = QVMI_MIN(*next_ms, o->deadline);
	} else if (!s->c) {
		*next_ms = QVMI_MIN(*next_ms, o->next_at);
	}
}

void qvmid_ses_out_dispatch(struct qvmid_session_server *s,
			    const struct pollfd *pfd)
{
	struct qvmid_ses_out *o = s->out;
	int err, fd = o->fd;

	if (fd < 0)
		return;
	if (pfd->fd == fd && pfd->revents) {
		err = qvmi__ses_connect_result(fd);
		if (err) {
			out_failed(s, err);
			return;
		}
		o->fd = -1;
		if (s->c) { /* a listener's client came first: try later */
			close(fd);
			o->next_at =
				qvmid_ses_now_ms() + s->o.reconnect_interval_ms;
			return;
		}
		out_connected(s, fd);
		return;
	}
	if (qvmid_ses_now_ms() >= o->deadline)
		out_failed(s, -ETIMEDOUT);
}

void qvmid_ses_out_closed(struct qvmid_session_server *s)
{
	struct qvmid_ses_out *o = s->out;
	int64_t now = qvmid_ses_now_ms();

	/* Called for every session end; only ours schedules a redial
	 * (a listener's session leaves next_at as it was). */
	if (o->closed_by_reset) {
		o->closed_by_reset = false;
		o->next_at = now + OUT_RESET_SETTLE_MS;
		return;
	}
	if (o->next_at < now + s->o.reconnect_interval_ms)
		o->next_at = now + s->o.reconnect_interval_ms;
}

void qvmid_ses_out_reset(struct qvmid_session_server *s)
{
	if (s->out && s->c && s->c->outbound && s->c->stage == 2)
		s->out->reset_pending = true;
}

bool qvmid_ses_out_check_reset(struct qvmid_session_server *s)
{
	struct qvmid_ses_out *o = s->out;
	struct sconn *c = s->c;

	if (!o->reset_pending)
		return false;
	o->reset_pending = false;
	if (!c || !c->outbound || c->stage != 2)
		return false;
	s->st.out_resets++;
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "session: guest reset: re-establishing the session "
		      "with %s",
		      o->spec);
	/* EV_RESET (queued before us) goes out first, best effort: the
	 * socket buffer takes a small frame whole. */
	while (c->out_off < c->out_len && (!c->tls || c->tls_up)) {
		ssize_t n = qvmid_ses_conn_send(c, c->out + c->out_off,
						c->out_len - c->out_off);

		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	o->closed_by_reset = true;
	return true;
}
