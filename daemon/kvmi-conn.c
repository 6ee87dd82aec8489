// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The KVMi connection (kvmi-server.h): dial the tool, handshake, frames.
 *
 * Everything runs in qvmid's poll loop and never blocks it on the tool:
 * the connect is non-blocking and, with the handshake, bounded by the
 * handshake timeout; output is queued and a tool that stops reading for
 * io_timeout is dropped.  A bad frame (size, id, an EVENT_REPLY that does
 * not match the pending event) closes this connection with a log line and
 * nothing else; qvmid dials again reconnect_ms later, as the RFC's QEMU
 * (chardev reconnect=N) does.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kvmi-int.h"
#include "vmident.h"
#include "qmp-proxy.h"

enum {
	DIAL_INTERVAL_MS = 1000,
	HS_TIMEOUT_MS = 10000,
	IO_TIMEOUT_MS = 10000,
	UNHOOK_TIMEOUT_MS = 60000,
};

void qvmid_kvmi_log(struct qvmid_kvmi *k, enum qvmi_log_level lvl,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!k->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->o.log(lvl, msg, k->o.log_arg);
}

int64_t qvmid_kvmi_now(void)
{
	return qvmi__mono_ms();
}

/* ---- output ------------------------------------------------------------ */

uint8_t *qvmid_kvmi_reserve(struct qvmid_kvmi *k, size_t n)
{
	if (k->fd < 0)
		return NULL;
	if (k->out_off == k->out_len)
		k->out_off = k->out_len = 0;
	if (k->out_len - k->out_off + n > KV_MAX_OUT) {
		qvmid_kvmi_close(k, "the tool does not read its messages");
		return NULL;
	}
	if (k->out_len + n > k->out_cap) {
		size_t cap = QVMI_MAX(k->out_cap * 2, k->out_len + n + 16384);
		uint8_t *o = realloc(k->out, cap);

		if (!o) {
			qvmid_kvmi_close(k, "out of memory");
			return NULL;
		}
		k->out = o;
		k->out_cap = cap;
	}
	return k->out + k->out_len;
}

void qvmid_kvmi_commit(struct qvmid_kvmi *k, size_t n)
{
	if (k->out_off == k->out_len && k->stage == KV_READY)
		k->deadline = qvmid_kvmi_now() + k->o.io_timeout_ms;
	k->out_len += n;
}

void qvmid_kvmi_reply(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
		      int err, const void *data, size_t data_len)
{
	size_t n = QVMI_KVMI_HDR + QVMI_KVMI_ERR + (err ? 0 : data_len);
	uint8_t *b;

	if (err) /* what a tool was refused, for qvmid -vv */
		qvmid_kvmi_log(k, QVMI_LOG_DEBUG,
			       "kvmi: command %u (seq %u) answered %d", h->id,
			       h->seq, err);
	/* CONTROL_CMD_RESPONSE(enable=0) silences every reply, errors too
	 * (kvmi-v7 kvmi_msg_vm_maybe_reply). */
	if (k->replies_off)
		return;
	b = qvmid_kvmi_reserve(k, n);
	if (!b)
		return;
	qvmi__kvmi_reply_encode(b, h->id, h->seq, err, data_len);
	if (!err && data_len && data)
		memcpy(b + QVMI_KVMI_HDR + QVMI_KVMI_ERR, data, data_len);
	qvmid_kvmi_commit(k, n);
}

static int flush_out(struct qvmid_kvmi *k)
{
	while (k->out_off < k->out_len) {
		ssize_t w = send(k->fd, k->out + k->out_off,
				 k->out_len - k->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (w <= 0)
			return -EPIPE;
		k->out_off += (size_t)w;
		/* progress moves the output deadline, never the
		 * handshake's */
		if (k->stage == KV_READY)
			k->deadline = qvmid_kvmi_now() + k->o.io_timeout_ms;
	}
	return 0;
}

/* ---- connection lifetime ------------------------------------------------ */

void qvmid_kvmi_close(struct qvmid_kvmi *k, const char *why)
{
	if (k->fd < 0)
		return;
	qvmid_kvmi_log(k, k->stage == KV_READY ? QVMI_LOG_WARN : QVMI_LOG_INFO,
		       "kvmi: %s: closing the connection to %s", why, k->spec);
	qvmid_kvmi_release(k);
	k->gen_done = k->gen_req; /* an unhook round ends with the socket */
	close(k->fd);
	k->fd = -1;
	k->stage = KV_IDLE;
	k->in_len = k->out_off = k->out_len = 0;
	k->replies_off = false;
	k->next_dial = qvmid_kvmi_now() + k->o.reconnect_ms;
}

static void build_handshake(struct qvmid_kvmi *k, struct qvmi_kvmi_vm_hs *hs)
{
	struct qvmi_vm_info vi;

	memset(hs, 0, sizeof(*hs));
	if (!qvmi_vm_info(k->ctx, &vi)) {
		qvmid_uuid_bytes(vi.uuid, hs->uuid);
		snprintf(hs->name, sizeof(hs->name), "%s", vi.name);
		hs->start_time =
			(int64_t)(qvmid_process_start_ns(vi.pid) / 1000000000u);
	}
	for (size_t i = 0; i < qvmi_ram_count(k->ctx); i++) {
		struct qvmi_ram_range r;

		if (!qvmi_ram_get(k->ctx, i, &r) && r.size &&
		    r.gpa + r.size - 1 > hs->max_gpa)
			hs->max_gpa = r.gpa + r.size - 1;
	}
}

static void connected(struct qvmid_kvmi *k)
{
	struct qvmi_kvmi_vm_hs hs;
	uint8_t *b;
	size_t n;

	k->st.connected++;
	k->dial_failing = false;
	k->stage = KV_HS_SIZE;
	k->in_len = 0;
	k->deadline = qvmid_kvmi_now() + k->o.handshake_timeout_ms;
	build_handshake(k, &hs);
	b = qvmid_kvmi_reserve(k, QVMI_KVMI_HS_V12);
	if (!b)
		return;
	n = qvmi__kvmi_hs_encode(&hs, k->o.v12, b);
	k->out_len += n; /* keep the handshake deadline */
	qvmid_kvmi_log(k, QVMI_LOG_INFO,
		       "kvmi: connected to %s, sent the %zu-byte handshake "
		       "(name \"%s\")",
		       k->spec, n, hs.name);
	if (flush_out(k))
		qvmid_kvmi_close(k, "handshake send failed");
}

static void dial(struct qvmid_kvmi *k)
{
	int fd = -1;
	int err;

	k->st.attempts++;
	err = qvmi__ses_connect_start((const struct sockaddr *)&k->addr.ss,
				      k->addr.len, &fd);
	if (err == -EINPROGRESS) {
		k->fd = fd;
		k->stage = KV_CONNECTING;
		k->deadline = qvmid_kvmi_now() + k->o.handshake_timeout_ms;
		return;
	}
	if (err) {
		if (!k->dial_failing)
			qvmid_kvmi_log(k, QVMI_LOG_INFO,
				       "kvmi: cannot reach the tool at %s: %s "
				       "(retrying every %d ms)",
				       k->spec, strerror(-err),
				       k->o.reconnect_ms);
		k->dial_failing = true;
		k->next_dial = qvmid_kvmi_now() + k->o.reconnect_ms;
		return;
	}
	k->fd = fd;
	connected(k);
}

/* ---- input --------------------------------------------------------------- */

/* The tool's answer: u32 size, then cookie[20], then anything up to size
 * (skipped).  Returns false if the connection closed. */
static bool take_handshake(struct qvmid_kvmi *k)
{
	const char *why = "?";

	if (k->stage == KV_HS_SIZE) {
		if (k->in_len < 4)
			return true;
		if (qvmi__kvmi_hs_reply_size(k->in, &k->hs_left, &why)) {
			k->st.bad_frames++;
			qvmid_kvmi_close(k, why);
			return false;
		}
		k->hs_left -= 4;
		k->hs_body = k->hs_left;
		memmove(k->in, k->in + 4, k->in_len - 4);
		k->in_len -= 4;
		k->stage = KV_HS_BODY;
	}
	while (k->in_len && k->hs_left) {
		size_t n = QVMI_MIN(k->in_len, (size_t)k->hs_left);
		uint32_t at = k->hs_body - k->hs_left; /* body offset */

		/* the first 20 body bytes are the cookie; the rest (a newer
		 * tool's larger struct) is skipped */
		for (size_t i = 0; i < n && at + i < QVMI_KVMI_COOKIE; i++)
			k->cookie[at + i] = k->in[i];
		k->hs_left -= (uint32_t)n;
		memmove(k->in, k->in + n, k->in_len - n);
		k->in_len -= n;
	}
	if (k->hs_left)
		return true;
	if (k->have_key && !qvmid_kvmi_cookie_eq(k->cookie, k->key_hash)) {
		k->st.bad_cookie++;
		qvmid_kvmi_close(k,
				 "the tool's cookie is not SHA-1 of the key");
		return false;
	}
	k->stage = KV_READY;
	k->st.handshakes++;
	qvmid_kvmi_log(k, QVMI_LOG_INFO, "kvmi: handshake with %s done",
		       k->spec);
	return true;
}

/* Serve the complete frames in the input; false if the connection
 * closed. */
static bool take_frames(struct qvmid_kvmi *k)
{
	size_t off = 0;

	while (k->fd >= 0 && k->in_len - off >= QVMI_KVMI_HDR) {
		struct qvmi_kvmi_hdr h;
		const char *why = "?";
		const uint8_t *p = k->in + off + QVMI_KVMI_HDR;
		int err;

		if (qvmi__kvmi_hdr_decode(k->in + off, &h, &why)) {
			k->st.bad_frames++;
			qvmid_kvmi_close(k, why);
			return false;
		}
		if (k->in_len - off - QVMI_KVMI_HDR < h.size)
			break;
		off += QVMI_KVMI_HDR + h.size;
		err = qvmi__kvmi_req_check(&h, p, &why);
		if (err == -EBADMSG) {
			k->st.bad_frames++;
			qvmid_kvmi_log(k, QVMI_LOG_WARN,
				       "kvmi: message id %u size %u seq %u: %s",
				       h.id, h.size, h.seq, why);
			qvmid_kvmi_close(k, "bad message");
			return false;
		}
		k->st.requests++;
		if (err)
			qvmid_kvmi_reply(k, &h, -EINVAL, NULL, 0);
		else
			qvmid_kvmi_command(k, &h, p);
	}
	if (k->fd < 0)
		return false;
	memmove(k->in, k->in + off, k->in_len - off);
	k->in_len -= off;
	return true;
}

static void read_input(struct qvmid_kvmi *k)
{
	/* Bounded: the buffer holds one largest frame; a turn reads at
	 * most a few buffers' worth before giving the loop back. */
	for (int turns = 0; turns < 16 && k->fd >= 0; turns++) {
		ssize_t r = recv(k->fd, k->in + k->in_len,
				 sizeof(k->in) - k->in_len, MSG_DONTWAIT);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			qvmid_kvmi_close(k, r ? "read error" :
						"the tool closed the socket");
			return;
		}
		k->in_len += (size_t)r;
		if (k->stage != KV_READY && !take_handshake(k))
			return;
		if (k->stage == KV_READY && !take_frames(k))
			return;
	}
}

/* ---- loop ---------------------------------------------------------------- */

unsigned int qvmid_kvmi_nfds(const struct qvmid_kvmi *k)
{
	(void)k;
	return 2; /* the tool's socket, the gdbstub's */
}

nfds_t qvmid_kvmi_prepare(struct qvmid_kvmi *k, struct pollfd *pfd,
			  int64_t *next_ms)
{
	int64_t now = qvmid_kvmi_now();

	if (k->reset_pending) {
		k->reset_pending = false;
		k->st.resets++;
		qvmid_kvmi_close(k, "guest reset");
		/* QEMU 7.2 sends 3 RESET events per system_reset within
		 * ~80 ms (session-out.c): one new connection after them. */
		k->next_dial = now + 300;
	}
	/* Checked in dispatch: a QMP call here could take a proxied
	 * client's reply after the proxy built its poll set (no POLLOUT
	 * for that client then: its reply would wait for another wake). */
	if (k->resume_seen)
		*next_ms = now;
	if (k->fd >= 0 && k->gen_done < k->gen_req &&
	    now >= k->unhook_deadline) {
		k->st.unhook_timeouts++;
		qvmid_kvmi_close(k, "no close within the unhook timeout");
	}
	if (k->gen_done < k->gen_req)
		*next_ms = QVMI_MIN(*next_ms, k->unhook_deadline);
	if (k->fd < 0 && now >= k->next_dial)
		dial(k);
	/* A stop reply the gdbstub client already read into its buffer
	 * (with another reply) wakes no poll: take it in now. */
	qvmid_kvmi_bp_poll(k, next_ms);
	pfd[1] = (struct pollfd){ qvmid_kvmi_bp_fd(k), POLLIN, 0 };
	if (k->stepping)
		*next_ms = QVMI_MIN(*next_ms, k->step_deadline);
	pfd->fd = k->fd;
	pfd->events = 0;
	pfd->revents = 0;
	if (k->fd < 0) {
		*next_ms = QVMI_MIN(*next_ms, k->next_dial);
		return 2;
	}
	if (k->stage == KV_CONNECTING || k->out_off < k->out_len)
		pfd->events |= POLLOUT;
	if (k->stage != KV_CONNECTING)
		pfd->events |= POLLIN;
	if (k->stage != KV_READY || k->out_off < k->out_len)
		*next_ms = QVMI_MIN(*next_ms, k->deadline);
	return 2;
}

void qvmid_kvmi_dispatch(struct qvmid_kvmi *k, const struct pollfd *pfd)
{
	short re = pfd->fd == k->fd && k->fd >= 0 ? pfd->revents : 0;

	if (k->resume_seen) {
		k->resume_seen = false;
		qvmid_kvmi_bp_resumed(k);
	}
	/* stops first: an event may go out with this turn's output */
	qvmid_kvmi_bp_poll(k, NULL);
	if (k->stage == KV_CONNECTING && re) {
		int err = qvmi__ses_connect_result(k->fd);

		if (err) {
			qvmid_kvmi_close(k, strerror(-err));
			return;
		}
		connected(k);
		return;
	}
	if ((re & POLLOUT) && flush_out(k)) {
		qvmid_kvmi_close(k, "write error");
		return;
	}
	if (re & (POLLIN | POLLHUP | POLLERR))
		read_input(k);
	if (k->fd >= 0 && flush_out(k))
		qvmid_kvmi_close(k, "write error");
	if (k->fd >= 0 && (k->stage != KV_READY || k->out_off < k->out_len) &&
	    qvmid_kvmi_now() >= k->deadline) {
		k->st.timeouts++;
		qvmid_kvmi_close(k, k->stage == KV_READY ?
					    "output stalled past the timeout" :
					    "handshake timeout");
	}
}

void qvmid_kvmi_qmp_event(struct qvmid_kvmi *k, struct json_object *msg)
{
	struct json_object *ev;

	if (!json_object_object_get_ex(msg, "event", &ev))
		return;
	if (!strcmp(json_object_get_string(ev), "RESUME")) {
		k->resume_seen = true; /* checked from the loop: prepare() */
		return;
	}
	if (strcmp(json_object_get_string(ev), "RESET"))
		return;
	/* Only mark it: we may be inside a command (a pause waits for
	 * QEMU).  The next prepare() closes and dials again. */
	if (k->fd >= 0 && k->stage == KV_READY)
		k->reset_pending = true;
}

bool qvmid_kvmi_hooked(const struct qvmid_kvmi *k)
{
	return k->fd >= 0 && k->stage == KV_READY &&
	       (k->vm_events & (1u << QVMI_KVMI_EV_UNHOOK));
}

/* The RFC: QEMU asks the kernel for KVMI_EVENT_UNHOOK and waits up to
 * unhook_timeout for the tool to close the socket. */
uint64_t qvmid_kvmi_unhook(struct qvmid_kvmi *k, uint32_t reason)
{
	if (k->gen_done < k->gen_req)
		return k->gen_req; /* join the round under way */
	k->gen_req++;
	k->st.unhooks++;
	k->unhook_deadline = qvmid_kvmi_now() + k->o.unhook_timeout_ms;
	qvmid_kvmi_log(k, QVMI_LOG_INFO,
		       "kvmi: UNHOOK event (reason %u): waiting up to %d ms "
		       "for the tool to close",
		       reason, k->o.unhook_timeout_ms);
	/* a VM event: no reply is waited for; vCPU 0's state as arch */
	if (!qvmid_kvmi_send_vm_event(k, QVMI_KVMI_EV_UNHOOK))
		qvmid_kvmi_close(k, "cannot send the UNHOOK event");
	return k->gen_req;
}

bool qvmid_kvmi_unhook_done(const struct qvmid_kvmi *k, uint64_t ticket)
{
	return k->gen_done >= ticket;
}

int qvmid_kvmi_run(struct qvmid_kvmi *k)
{
	for (;;) {
		struct pollfd pfd[3];
		int64_t next = INT64_MAX, now;
		int wait;

		qvmid_kvmi_prepare(k, &pfd[1], &next);
		pfd[0] = (struct pollfd){ k->wake[0], POLLIN, 0 };
		now = qvmid_kvmi_now();
		wait = next == INT64_MAX ?
			       1000 :
			       (int)QVMI_MAX(QVMI_MIN(next - now, 1000), 0);
		if (poll(pfd, 3, wait) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			return 0;
		qvmid_kvmi_dispatch(k, &pfd[1]);
	}
}

void qvmid_kvmi_stop(struct qvmid_kvmi *k)
{
	char c = 0;
	ssize_t n = write(k->wake[1], &c, 1);

	(void)n;
}

void qvmid_kvmi_stats(const struct qvmid_kvmi *k, struct qvmid_kvmi_stats *ret)
{
	*ret = k->st;
	ret->ready = k->fd >= 0 && k->stage == KV_READY;
	ret->paused = k->we_paused;
}

int qvmid_kvmi_create(struct qvmi_ctx *ctx, const struct qvmid_kvmi_opts *o,
		      struct qvmid_kvmi **ret)
{
	struct qvmid_kvmi *k = calloc(1, sizeof(*k));
	const char *why = "?";
	int err;

	*ret = NULL;
	if (!k)
		return -ENOMEM;
	k->ctx = ctx;
	k->o = *o;
	k->fd = k->wake[0] = k->wake[1] = -1;
	k->o.reconnect_ms = k->o.reconnect_ms > 0 ? k->o.reconnect_ms :
						    DIAL_INTERVAL_MS;
	k->o.handshake_timeout_ms = k->o.handshake_timeout_ms > 0 ?
					    k->o.handshake_timeout_ms :
					    HS_TIMEOUT_MS;
	k->o.io_timeout_ms = k->o.io_timeout_ms > 0 ? k->o.io_timeout_ms :
						      IO_TIMEOUT_MS;
	k->o.unhook_timeout_ms = k->o.unhook_timeout_ms > 0 ?
					 k->o.unhook_timeout_ms :
					 UNHOOK_TIMEOUT_MS;
	snprintf(k->spec, sizeof(k->spec), "%s", o->connect_addr ?: "");
	err = o->connect_addr ? qvmi__ses_addr_parse(o->connect_addr,
						     QVMI_SES_ADDR_NUMERIC,
						     &k->addr, &why) :
				-EINVAL;
	if (!err && k->addr.kind == QVMI_SES_TCP) {
		/* KVMi has no authentication: never across a network. */
		why = "KVMi connects to a unix path or vsock:CID:PORT only";
		err = -EINVAL;
	}
	if (err)
		qvmid_kvmi_log(k, QVMI_LOG_ERROR, "kvmi: --kvmi-connect %s: %s",
			       k->spec, why);
	if (!err && o->key_path) {
		err = qvmid_kvmi_key_hash(o->key_path, k->key_hash, o->log,
					  o->log_arg);
		k->have_key = !err;
	}
	if (!err && pipe2(k->wake, O_NONBLOCK | O_CLOEXEC))
		err = -errno;
	if (!err)
		err = qvmid_kvmi_bp_init(k);
	if (err) {
		qvmid_kvmi_destroy(k);
		return err;
	}
	qvmid_kvmi_log(k, QVMI_LOG_INFO,
		       "kvmi: will connect to the tool at %s (%s handshake, "
		       "%s)",
		       k->spec, k->o.v12 ? "104-byte v12" : "96-byte",
		       k->have_key ? "key checked" : "no key");
	*ret = k;
	return 0;
}

void qvmid_kvmi_destroy(struct qvmid_kvmi *k)
{
	if (!k)
		return;
	qvmid_kvmi_close(k, "qvmid is stopping");
	for (int i = 0; i < 2; i++)
		if (k->wake[i] >= 0)
			close(k->wake[i]);
	free(k->cpu);
	free(k->xr);
	free(k->out);
	free(k);
}

static unsigned int svc_nfds(const void *svc)
{
	return qvmid_kvmi_nfds(svc);
}

static nfds_t svc_prepare(void *svc, struct pollfd *pfd, int64_t *next_ms)
{
	return qvmid_kvmi_prepare(svc, pfd, next_ms);
}

static void svc_dispatch(void *svc, const struct pollfd *pfd)
{
	qvmid_kvmi_dispatch(svc, pfd);
}

static void svc_event(void *svc, struct json_object *msg)
{
	qvmid_kvmi_qmp_event(svc, msg);
}

static void svc_destroy(void *svc)
{
	qvmid_kvmi_destroy(svc);
}

static bool svc_hooked(const void *svc)
{
	return qvmid_kvmi_hooked(svc);
}

static uint64_t svc_unhook(void *svc, uint32_t reason)
{
	return qvmid_kvmi_unhook(svc, reason);
}

static bool svc_unhook_done(const void *svc, uint64_t ticket)
{
	return qvmid_kvmi_unhook_done(svc, ticket);
}

/* Management stopped the VM while this connection had it paused: the VM
 * is now management's to continue, so the tool's last reply no longer
 * resumes it (as the session does, session-events.c). */
static void svc_mgmt_run(void *svc, bool running)
{
	struct qvmid_kvmi *k = svc;

	if (running) { /* their cont: the VM runs, whatever we held */
		if (k->mgmt_paused || k->we_paused)
			qvmid_kvmi_state_flush(k);
		k->mgmt_paused = k->we_paused = false;
		return;
	}
	if (!k->we_paused)
		return;
	k->we_paused = false;
	k->mgmt_paused = true;
	qvmid_kvmi_log(k, QVMI_LOG_INFO,
		       "kvmi: management stopped the VM during the tool's "
		       "pause: it stays stopped after the tool's replies");
}

const struct qvmid_service_ops qvmid_kvmi_service = {
	.name = "kvmi",
	.nfds = svc_nfds,
	.prepare = svc_prepare,
	.dispatch = svc_dispatch,
	.qmp_event = svc_event,
	.destroy = svc_destroy,
	.hooked = svc_hooked,
	.unhook = svc_unhook,
	.unhook_done = svc_unhook_done,
	.mgmt_run = svc_mgmt_run,
};
