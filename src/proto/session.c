// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session client (docs/PROTOCOL.md): connect to qvmid, prove the key and
 * check qvmid's proof, then serve a memory source and a control backend
 * over one connection with one request in flight.  qvmid is a peer we
 * authenticated, but its frames are still checked like any input.  This
 * file: frames, the memory source, the control backend and events;
 * session-open.c: connecting, the handshake, TLS and the attach.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "proto/session-addr.h"
#include "proto/session-auth.h"
#include "proto/session-tls.h"
#include "proto/session-wire.h"
#include "proto/session.h"
#include "proto/session-priv.h"

void qvmi__ses_client_break(struct ses_client *c)
{
	qvmi__ses_tls_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void qvmi__ses_client_unref(struct ses_client *c)
{
	if (--c->refs > 0)
		return;
	qvmi__ses_client_break(c);
	free(c->buf);
	free(c);
}

/* A TLS record failed its check: altered, replayed, reordered or from
 * another connection.  Nothing more from this stream can be trusted. */
static int ses_tls_bad(struct qvmi_ctx *ctx, struct ses_client *c)
{
	int err = qvmi__err(ctx, -EPROTO, "session: %s",
			    qvmi__ses_tls_why(c->tls));

	qvmi__ses_client_break(c);
	return err;
}

/* Bytes to read without waiting for the socket (decrypted, buffered). */
static bool ses_buffered(struct ses_client *c)
{
	return c->tls && qvmi__ses_tls_pending(c->tls);
}

/* Move exactly len bytes before the deadline.  Breaks the session on
 * failure: the stream would be out of step. */
static int ses_xfer(struct qvmi_ctx *ctx, struct ses_client *c, void *buf,
		    size_t len, bool out, int64_t deadline)
{
	uint8_t *b = buf;

	while (len) {
		struct pollfd pfd = { c->fd, out ? POLLOUT : POLLIN, 0 };
		ssize_t n;
		int64_t left;

		if (c->tls) {
			n = out ? qvmi__ses_tls_write(c->tls, b, len,
						      &pfd.events) :
				  qvmi__ses_tls_read(c->tls, b, len,
						     &pfd.events);
			if (n == -EPROTO)
				return ses_tls_bad(ctx, c);
			errno = n == -EAGAIN ? EAGAIN : EPIPE;
		} else {
			n = out ? send(c->fd, b, len,
				       MSG_NOSIGNAL | MSG_DONTWAIT) :
				  recv(c->fd, b, len, MSG_DONTWAIT);
		}
		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR)) {
			/* A failed send keeps the socket: qvmid may have
			 * said why it closed (ERROR frame) before it did. */
			if (!out)
				qvmi__ses_client_break(c);
			return qvmi__err(ctx, -EPIPE,
					 "session: connection closed by qvmid");
		}
		left = deadline - qvmi__mono_ms();
		if (left <= 0 ||
		    (poll(&pfd, 1, (int)QVMI_MIN(left, 60000)) < 0 &&
		     errno != EINTR)) {
			qvmi__ses_client_break(c);
			return qvmi__err(
				ctx, -ETIMEDOUT,
				"session: qvmid did not answer in time");
		}
	}
	return 0;
}

int qvmi__ses_client_bad(struct qvmi_ctx *ctx, struct ses_client *c,
			 const char *why)
{
	qvmi__ses_client_break(c);
	return qvmi__err(ctx, -EPROTO, "session: bad frame from qvmid: %s",
			 why);
}

/* An ERROR frame: qvmid closes after it. */
static int ses_error_frame(struct qvmi_ctx *ctx, struct ses_client *c,
			   const struct qvmi_ses_hdr *h)
{
	char text[QVMI_SES_ERRTEXT_MAX + 1];

	if (!h->error || qvmi__ses_errtext_decode(c->buf + QVMI_SES_HDR,
						  h->size, text, sizeof(text)))
		return qvmi__ses_client_bad(ctx, c, "malformed error frame");
	qvmi__ses_client_break(c);
	return qvmi__err(ctx, -(int)QVMI_MIN(h->error, 4095u),
			 "session: qvmid: %s", text);
}

/* An event frame in c->buf: check it, apply what the ctx must know now
 * (state, caches), queue it for qvmi_events_poll(). */
static int ses_take_event(struct qvmi_ctx *ctx, struct ses_client *c,
			  const struct qvmi_ses_hdr *h)
{
	const uint8_t *p = c->buf + QVMI_SES_HDR;
	struct qvmi_event ev = { 0 };
	const char *why = "?";

	if (qvmi__ses_check_event(h, p, c->ev_seq + 1, &why))
		return qvmi__ses_client_bad(ctx, c, why);
	c->ev_seq = h->seq;
	ev.type = (enum qvmi_event_type)(h->msg - QVMI_SES_EV_BREAKPOINT + 1);
	ev.seq = h->seq;
	if (h->msg == QVMI_SES_EV_UNHOOK) {
		ev.reason = qvmi__ses_get32(p);
		ev.timeout_ms = qvmi__ses_get32(p + 4);
		c->last_unhook = h->seq;
	} else if (h->msg == QVMI_SES_EV_BP_REMOVED) {
		ev.addr = qvmi__ses_get64(p);
		ev.kind = qvmi__ses_get32(p + 8);
		ev.len = qvmi__ses_get32(p + 12);
	} else if (h->size == QVMI_SES_EV_LIFE_SIZE) {
		ev.timestamp_ns = qvmi__ses_get64(p);
		ev.reason = qvmi__ses_get32(p + 8);
		ev.flags = qvmi__ses_get32(p + 12);
	} else {
		ev.vcpu = qvmi__ses_get32(p);
		ev.reason = qvmi__ses_get32(p + 4);
		ev.addr = qvmi__ses_get64(p + 8);
		/* The VM is stopped until we answer. */
		qvmi__ses_regs_decode(p + 16, &c->stop_regs);
		c->stop_regs_stale = false;
		c->stop_seq = h->seq;
		c->stop_vcpu = ev.vcpu;
		qvmi__vm_state_changed(ctx, QVMI_VM_PAUSED);
	}
	/* Memory changed under the cache: act before the next read. */
	if (ev.type == QVMI_EVENT_PAUSED || ev.type == QVMI_EVENT_RESUMED)
		qvmi__vm_state_changed(ctx, ev.type == QVMI_EVENT_PAUSED ?
						    QVMI_VM_PAUSED :
						    QVMI_VM_RUNNING);
	else if (ev.type == QVMI_EVENT_SHUTDOWN)
		qvmi__vm_state_changed(ctx, QVMI_VM_SHUTDOWN);
	else if (ev.type == QVMI_EVENT_RESET)
		qvmi_cache_flush(ctx);
	if (c->ev_len == SES_EVQ) { /* the oldest goes */
		c->ev_head = (c->ev_head + 1) % SES_EVQ;
		c->ev_len--;
		c->ev_dropped++;
	}
	c->evq[(c->ev_head + c->ev_len++) % SES_EVQ] = ev;
	return 0;
}

/* Read one whole frame into c->buf.  Events are taken (*h->flags tells);
 * an ERROR frame ends the session. */
static int ses_read_frame(struct qvmi_ctx *ctx, struct ses_client *c,
			  struct qvmi_ses_hdr *h, int64_t deadline)
{
	const char *why = "?";
	int err = ses_xfer(ctx, c, c->buf, QVMI_SES_HDR, false, deadline);

	if (err)
		return err;
	if (qvmi__ses_hdr_decode(c->buf, h, &why))
		return qvmi__ses_client_bad(ctx, c, why);
	err = ses_xfer(ctx, c, c->buf + QVMI_SES_HDR, h->size, false, deadline);
	if (err)
		return err;
	if (h->flags == QVMI_SES_F_EVENT)
		return ses_take_event(ctx, c, h);
	if (h->flags != QVMI_SES_F_REPLY)
		return qvmi__ses_client_bad(ctx, c, "not a reply");
	if (h->msg == QVMI_SES_ERROR)
		return ses_error_frame(ctx, c, h);
	return 0;
}

/*
 * Send c->buf[HDR, HDR + len) as request msg, then read its reply into
 * c->buf (events that come first are queued).  Returns the reply's
 * payload size, or a negative errno (the reply's error code, or a
 * transport/protocol failure).
 */
int qvmi__ses_client_call(struct qvmi_ctx *ctx, struct ses_client *c,
			  uint16_t msg, size_t len)
{
	int64_t deadline = qvmi__mono_ms() + c->timeout_ms;
	struct qvmi_ses_hdr h;
	size_t n;
	int err, serr;

	if (c->fd < 0)
		return qvmi__err(ctx, -EPIPE, "session: connection lost");
	n = qvmi__ses_frame(c->buf, 0, msg, ++c->seq, 0, c->buf + QVMI_SES_HDR,
			    len);
	serr = ses_xfer(ctx, c, c->buf, n, true, deadline);
	/* Bounded: each event needs its own bytes before the deadline. */
	do {
		err = ses_read_frame(ctx, c, &h, deadline);
		if (err == -EPIPE && serr)
			return qvmi__err(ctx, serr,
					 "session: connection closed by qvmid");
		if (err)
			return err;
	} while (h.flags == QVMI_SES_F_EVENT);
	if (serr) { /* a reply to a request that was not sent whole? */
		qvmi__ses_client_break(c);
		return qvmi__err(ctx, serr, "session: connection lost");
	}
	if (h.msg != msg || h.seq != c->seq)
		return qvmi__ses_client_bad(ctx, c, "reply to another request");
	if (h.error && h.size)
		return qvmi__ses_client_bad(ctx, c,
					    "error reply with a payload");
	if (h.error)
		return qvmi__err(ctx, -(int)QVMI_MIN(h.error, 4095u),
				 "session: %s: %s", qvmi__ses_msg_name(msg),
				 strerror((int)QVMI_MIN(h.error, 4095u)));
	return (int)h.size;
}

/* A call whose reply must be exactly want bytes. */
int qvmi__ses_client_call_exact(struct qvmi_ctx *ctx, struct ses_client *c,
				uint16_t msg, size_t len, size_t want)
{
	int n = qvmi__ses_client_call(ctx, c, msg, len);

	if (n >= 0 && (size_t)n != qvmi__ses_pad8(want))
		return qvmi__ses_client_bad(ctx, c, "reply of the wrong size");
	return n < 0 ? n : 0;
}

/* ---- memory source --------------------------------------------------------- */

static int ses_read(struct qvmi_source *s, uint64_t addr, void *buf, size_t len)
{
	struct ses_client *c = qvmi_source_priv(s);
	struct qvmi_ctx *ctx = qvmi_source_ctx(s);
	uint8_t *b = buf;

	while (len) {
		uint32_t n = (uint32_t)QVMI_MIN(len, (size_t)c->max_transfer);
		uint8_t *p = c->buf + QVMI_SES_HDR;
		int err;

		qvmi__ses_put64(p, addr);
		qvmi__ses_put32(p + 8, n);
		qvmi__ses_put32(p + 12, 0);
		err = qvmi__ses_client_call_exact(ctx, c, QVMI_SES_READ_PA, 16,
						  n);
		if (err == -EFAULT)
			return qvmi__fault(ctx, addr, "session read");
		if (err)
			return err;
		if (!qvmi__ses_zero(p, n, qvmi__ses_pad8(n)))
			return qvmi__ses_client_bad(ctx, c,
						    "read padding not zero");
		memcpy(b, p, n);
		b += n, addr += n, len -= n;
	}
	return 0;
}

static int ses_write(struct qvmi_source *s, uint64_t addr, const void *buf,
		     size_t len)
{
	struct ses_client *c = qvmi_source_priv(s);
	struct qvmi_ctx *ctx = qvmi_source_ctx(s);
	const uint8_t *b = buf;

	while (len) {
		uint32_t n = (uint32_t)QVMI_MIN(len, (size_t)c->max_transfer);
		uint8_t *p = c->buf + QVMI_SES_HDR;
		int err;

		qvmi__ses_put64(p, addr);
		qvmi__ses_put32(p + 8, n);
		qvmi__ses_put32(p + 12, 0);
		memcpy(p + 16, b, n);
		err = qvmi__ses_client_call_exact(ctx, c, QVMI_SES_WRITE_PA,
						  16 + n, 0);
		if (err == -EFAULT)
			return qvmi__fault(ctx, addr, "session write");
		if (err)
			return err;
		b += n, addr += n, len -= n;
	}
	return 0;
}

static void ses_src_destroy(struct qvmi_source *s)
{
	qvmi__ses_client_unref(qvmi_source_priv(s));
}

const struct qvmi_source_ops qvmi__ses_client_src_ops = {
	.name = "session",
	.read = ses_read,
	.write = ses_write,
	.destroy = ses_src_destroy,
};

/* ---- control backend --------------------------------------------------------- */

static int ses_vcpu_count(struct qvmi_ctl *ctl)
{
	struct ses_client *c = ctl->priv;

	return c->vcpus ? (int)c->vcpus :
			  qvmi__err(ctl->ctx, -EOPNOTSUPP,
				    "session: vCPU count unknown");
}

static int ses_get_regs(struct qvmi_ctl *ctl, unsigned int vcpu,
			struct qvmi_regs_x86 *ret)
{
	struct ses_client *c = ctl->priv;
	uint8_t *p = c->buf + QVMI_SES_HDR;
	int err;

	if (c->stop_seq && vcpu == c->stop_vcpu && !c->stop_regs_stale) {
		/* Sent with the event, and the vCPU has not moved since. */
		*ret = c->stop_regs;
		return 0;
	}
	qvmi__ses_put32(p, vcpu);
	qvmi__ses_put32(p + 4, 0);
	err = qvmi__ses_client_call_exact(ctl->ctx, c, QVMI_SES_GET_REGS, 8,
					  QVMI_SES_NREGS * 8);
	if (!err)
		qvmi__ses_regs_decode(p, ret);
	return err;
}

/* SET_REGS: u32 vcpu, u32 pad, u64 regs[44] (valid last). */
static int ses_set_regs(struct qvmi_ctl *ctl, unsigned int vcpu,
			const struct qvmi_regs_x86 *regs)
{
	struct ses_client *c = ctl->priv;
	uint8_t *p = c->buf + QVMI_SES_HDR;
	int err;

	qvmi__ses_put32(p, vcpu);
	qvmi__ses_put32(p + 4, 0);
	qvmi__ses_regs_encode(regs, p + 8);
	err = qvmi__ses_client_call_exact(ctl->ctx, c, QVMI_SES_SET_REGS,
					  8 + QVMI_SES_NREGS * 8, 0);
	/* The registers sent with the stop event are stale now. */
	if (!err && c->stop_seq && vcpu == c->stop_vcpu)
		c->stop_regs_stale = true;
	qvmi_cache_flush(ctl->ctx);
	return err;
}

/* PAUSE/RESUME reply: u32 count, u32 state. */
static int ses_pause_call(struct qvmi_ctl *ctl, uint16_t msg)
{
	struct ses_client *c = ctl->priv;
	uint32_t st;
	int err = qvmi__ses_client_call_exact(ctl->ctx, c, msg, 0, 8);

	if (err)
		return err;
	st = qvmi__ses_get32(c->buf + QVMI_SES_HDR + 4);
	qvmi__vm_state_changed(ctl->ctx, st <= QVMI_VM_FROZEN ?
						 (enum qvmi_vm_state)st :
						 QVMI_VM_UNKNOWN);
	return 0;
}

static int ses_pause(struct qvmi_ctl *ctl)
{
	return ses_pause_call(ctl, QVMI_SES_PAUSE);
}

/* EVENT_REPLY to the stop event the VM waits on. */
static int ses_event_reply(struct qvmi_ctl *ctl, uint32_t action)
{
	struct ses_client *c = ctl->priv;
	uint8_t *p = c->buf + QVMI_SES_HDR;
	int err;

	qvmi__ses_put32(p, c->stop_seq);
	qvmi__ses_put32(p + 4, action);
	c->stop_seq = 0;
	err = qvmi__ses_client_call_exact(ctl->ctx, c, QVMI_SES_EVENT_REPLY, 8,
					  0);
	if (!err && !action)
		qvmi__vm_state_changed(ctl->ctx, QVMI_VM_RUNNING);
	return err;
}

/* After a stop event, "resume" is the reply that continues the VM. */
static int ses_resume(struct qvmi_ctl *ctl)
{
	struct ses_client *c = ctl->priv;

	if (c->stop_seq)
		return ses_event_reply(ctl, 0);
	return ses_pause_call(ctl, QVMI_SES_RESUME);
}

static int ses_bp(struct qvmi_ctl *ctl, bool insert, enum qvmi_bp_kind kind,
		  uint64_t gva, unsigned int len)
{
	struct ses_client *c = ctl->priv;
	uint8_t *p = c->buf + QVMI_SES_HDR;

	qvmi__ses_put64(p, gva);
	qvmi__ses_put32(p + 8, (uint32_t)kind);
	qvmi__ses_put32(p + 12, len);
	return qvmi__ses_client_call_exact(
		ctl->ctx, c, insert ? QVMI_SES_BP_SET : QVMI_SES_BP_CLEAR, 16,
		0);
}

static bool is_stop_event(enum qvmi_event_type t)
{
	return t == QVMI_EVENT_BREAKPOINT || t == QVMI_EVENT_STEP ||
	       t == QVMI_EVENT_WATCHPOINT;
}

/* Take the oldest stop event out of the queue (others stay). */
static bool take_stop(struct ses_client *c, struct qvmi_event *ret)
{
	for (unsigned int i = 0; i < c->ev_len; i++) {
		unsigned int at = (c->ev_head + i) % SES_EVQ;

		if (!is_stop_event(c->evq[at].type))
			continue;
		*ret = c->evq[at];
		for (unsigned int j = i; j + 1 < c->ev_len; j++)
			c->evq[(c->ev_head + j) % SES_EVQ] =
				c->evq[(c->ev_head + j + 1) % SES_EVQ];
		c->ev_len--;
		return true;
	}
	return false;
}

/* Read one frame (only events may come) if one arrives before deadline. */
static int ses_wait_frame(struct qvmi_ctx *ctx, struct ses_client *c,
			  int64_t deadline)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	int64_t left = deadline - qvmi__mono_ms();
	struct qvmi_ses_hdr h;
	int r, err;

	if (c->fd < 0)
		return qvmi__err(ctx, -EPIPE, "session: connection lost");
	r = ses_buffered(c) ?
		    1 :
		    poll(&pfd, 1,
			 (int)QVMI_MAX(QVMI_MIN(left, (int64_t)60000), 0));
	if (r < 0 && errno == EINTR)
		return 0;
	if (r <= 0)
		return r < 0 ? -errno : -ETIMEDOUT;
	err = ses_read_frame(ctx, c, &h, qvmi__mono_ms() + c->timeout_ms);
	if (!err && h.flags != QVMI_SES_F_EVENT)
		err = qvmi__ses_client_bad(ctx, c, "reply without a request");
	return err;
}

static int ses_wait_stop(struct qvmi_ctl *ctl, int timeout_ms,
			 struct qvmi_stop *ret)
{
	struct ses_client *c = ctl->priv;
	int64_t deadline = qvmi__mono_ms() +
			   (timeout_ms < 0 ? SES_TIMEOUT_MS : timeout_ms);
	struct qvmi_event ev;
	int err = 0;

	/* Bounded: every turn reads a frame or runs out of time. */
	while (!take_stop(c, &ev)) {
		err = ses_wait_frame(ctl->ctx, c, deadline);
		if (err == -ETIMEDOUT)
			return qvmi__err(ctl->ctx, err,
					 "wait_stop: no stop in %d ms",
					 timeout_ms);
		if (err)
			return err;
	}
	memset(ret, 0, sizeof(*ret));
	ret->vcpu = ev.vcpu;
	ret->reason = ev.reason <= QVMI_STOP_EXITED ?
			      (enum qvmi_stop_reason)ev.reason :
			      QVMI_STOP_TRAP;
	ret->signal = 5;
	ret->addr = ev.addr;
	/* Only the latest stop's registers are kept: qvmid sends one stop
	 * at a time and waits for its reply. */
	ret->rip = ev.seq == c->stop_seq ? c->stop_regs.rip : ev.addr;
	return 0;
}

/* Step through the pending stop's reply, or STEP; return once EV_STEP is
 * here (it is not left for wait_stop: the step is done). */
static int ses_step(struct qvmi_ctl *ctl, unsigned int vcpu)
{
	struct ses_client *c = ctl->priv;
	uint8_t *p = c->buf + QVMI_SES_HDR;
	struct qvmi_stop st;
	int err;

	if (c->stop_seq && vcpu == c->stop_vcpu) {
		err = ses_event_reply(ctl, 1);
	} else {
		qvmi__ses_put32(p, vcpu);
		qvmi__ses_put32(p + 4, 0);
		err = qvmi__ses_client_call_exact(ctl->ctx, c, QVMI_SES_STEP, 8,
						  0);
	}
	if (!err)
		err = ses_wait_stop(ctl, c->timeout_ms, &st);
	/* qvmid stopped a step that did not end in its step timeout (a
	 * halted vCPU): the VM is stopped at that event like after a step. */
	if (!err && st.reason == QVMI_STOP_INTERRUPT)
		return qvmi__err(ctl->ctx, -ETIMEDOUT,
				 "single_step: vCPU %u did not complete the "
				 "step (halted?); it is stopped",
				 vcpu);
	if (!err && st.reason != QVMI_STOP_STEP)
		qvmi__log(ctl->ctx, QVMI_LOG_INFO,
			  "session: step ended by a stop of reason %d",
			  st.reason);
	return err;
}

static int ses_state(struct qvmi_ctl *ctl, enum qvmi_vm_state *ret)
{
	struct ses_client *c = ctl->priv;
	struct qvmi_ses_info *info = malloc(sizeof(*info));
	const char *why = "?";
	int n;

	if (!info)
		return qvmi__err(ctl->ctx, -ENOMEM, "out of memory");
	n = qvmi__ses_client_call(ctl->ctx, c, QVMI_SES_VM_INFO, 0);
	if (n >= 0 &&
	    qvmi__ses_info_decode(c->buf + QVMI_SES_HDR, (size_t)n, info, &why))
		n = qvmi__ses_client_bad(ctl->ctx, c, why);
	if (n >= 0) {
		*ret = info->state <= QVMI_VM_FROZEN ?
			       (enum qvmi_vm_state)info->state :
			       QVMI_VM_UNKNOWN;
		ctl->ctx->vm_state = *ret;
	}
	free(info);
	return n < 0 ? n : 0;
}

static void ses_ctl_destroy(struct qvmi_ctl *ctl)
{
	qvmi__ses_client_unref(ctl->priv);
}

/* ---- events and hooks ------------------------------------------------------ */

static int ses_set_event_cb(struct qvmi_ctl *ctl, qvmi_event_fn fn, void *arg)
{
	struct ses_client *c = ctl->priv;

	c->cb = fn;
	c->cb_arg = arg;
	return 0;
}

/* Hand the queued events to the callback, oldest first. */
static int ses_dispatch(struct qvmi_ctx *ctx, struct ses_client *c)
{
	int n = 0;

	if (c->ev_dropped) {
		qvmi__log(ctx, QVMI_LOG_WARN,
			  "session: %" PRIu64 " events dropped (not polled)",
			  c->ev_dropped);
		c->ev_dropped = 0;
	}
	/* The callback may call the session and queue more: bounded. */
	for (int i = 0; i < SES_EVQ && c->ev_len; i++) {
		struct qvmi_event ev = c->evq[c->ev_head];

		c->ev_head = (c->ev_head + 1) % SES_EVQ;
		c->ev_len--;
		if (c->cb)
			c->cb(ctx, &ev, c->cb_arg);
		n++;
	}
	return n;
}

static int ses_events_poll(struct qvmi_ctl *ctl, int timeout_ms)
{
	struct ses_client *c = ctl->priv;
	struct qvmi_ctx *ctx = ctl->ctx;
	int64_t deadline;
	int err = 0;

	if (timeout_ms < 0)
		timeout_ms = SES_TIMEOUT_MS;
	deadline = qvmi__mono_ms() + timeout_ms;
	/* Past the batch while TLS holds decrypted frames: a caller that
	 * polls qvmi_session_fd() would not see them (they left the socket).
	 * Bounded: the TLS buffer holds one record of at most 16 KiB, and the
	 * hard cap stops a peer that keeps it full. */
	for (int i = 0; c->fd >= 0 && (i < SES_POLL_BATCH ||
				       (ses_buffered(c) && i < SES_POLL_MAX));
	     i++) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int64_t left = c->ev_len ? 0 : deadline - qvmi__mono_ms();
		struct qvmi_ses_hdr h;
		int r = ses_buffered(c) ?
				1 :
				poll(&pfd, 1, (int)QVMI_MAX(left, (int64_t)0));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* Nothing is outstanding: only events may come. */
		err = ses_read_frame(ctx, c, &h,
				     qvmi__mono_ms() + c->timeout_ms);
		if (!err && h.flags != QVMI_SES_F_EVENT)
			err = qvmi__ses_client_bad(ctx, c,
						   "reply without a request");
		if (err)
			break;
	}
	if (c->ev_len)
		return ses_dispatch(ctx, c);
	if (err)
		return err;
	return c->fd < 0 ? qvmi__err(ctx, -EPIPE, "session: connection lost") :
			   0;
}

static int ses_hook(struct qvmi_ctl *ctl)
{
	return qvmi__ses_client_call_exact(ctl->ctx, ctl->priv, QVMI_SES_HOOK,
					   0, 0);
}

static int ses_unhook_ack(struct qvmi_ctl *ctl)
{
	struct ses_client *c = ctl->priv;
	struct qvmi_ctx *ctx = ctl->ctx;
	uint8_t *p;
	int err;

	p = c->buf + QVMI_SES_HDR;
	qvmi__ses_put32(p, c->last_unhook);
	qvmi__ses_put32(p + 4, 0);
	err = qvmi__ses_client_call_exact(ctx, c, QVMI_SES_UNHOOK_ACK, 8, 0);
	if (!err)
		c->last_unhook = 0;
	return err;
}

static int ses_event_fd(struct qvmi_ctl *ctl)
{
	struct ses_client *c = ctl->priv;

	return c->fd >= 0 ?
		       c->fd :
		       qvmi__err(ctl->ctx, -EPIPE, "session: connection lost");
}

const struct qvmi_ctl_ops qvmi__ses_client_ctl_ops = {
	.name = "session",
	.vcpu_count = ses_vcpu_count,
	.get_regs = ses_get_regs,
	.pause = ses_pause,
	.resume = ses_resume,
	.state = ses_state,
	.destroy = ses_ctl_destroy,
	.bp = ses_bp,
	.step = ses_step,
	.wait_stop = ses_wait_stop,
	.set_regs = ses_set_regs,
	.set_event_cb = ses_set_event_cb,
	.events_poll = ses_events_poll,
	.hook = ses_hook,
	.unhook_ack = ses_unhook_ack,
	.event_fd = ses_event_fd,
};
