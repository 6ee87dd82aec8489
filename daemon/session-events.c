// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session events and lifecycle hooks (docs/PROTOCOL.md "Events", "Hooks"):
 * QMP events seen by the proxy's tap become EV_PAUSED/RESUMED/RESET/
 * SHUTDOWN/MIGRATION frames (never a denied one), and unhook rounds: a
 * management client's lifecycle command waits while the tool removes its
 * hooks, acknowledges, closes, or lets unhook_timeout pass.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "session-int.h"

enum {
	/* Our own STOP/RESUME arrives within the command's round trip; a
	 * count older than this is stale (the event never came). */
	OWN_WINDOW_MS = 2000,
};

/* ---- the event queue ------------------------------------------------------- */

bool qvmid_ses_ev_push(struct qvmid_session_server *s, uint16_t msg,
		       const uint8_t *p, size_t len)
{
	struct sconn *c = s->c;

	if (!c || c->stage != 2 || c->closing || len > QVMI_SES_EV_CPU_SIZE)
		return false;
	if (s->o.policy.deny[msg]) {
		s->st.events_denied++;
		return false;
	}
	if (s->nev == SES_EVQ) {
		/* A tap burst inside one command: rare; say so. */
		s->st.events_dropped++;
		qvmid_ses_log(s, QVMI_LOG_WARN,
			      "session: event queue full: "
			      "dropping %s",
			      qvmi__ses_msg_name(msg));
		return false;
	}
	s->evq[s->nev].msg = msg;
	s->evq[s->nev].len = (uint16_t)len;
	memcpy(s->evq[s->nev].p, p, len);
	s->nev++;
	return true;
}

void qvmid_ses_flush_events(struct qvmid_session_server *s)
{
	for (unsigned int i = 0; i < s->nev && s->c && !s->c->closing; i++) {
		struct ses_ev *e = &s->evq[i];

		if (!qvmid_ses_send(s, QVMI_SES_F_EVENT, e->msg, ++s->c->ev_seq,
				    0, e->p, e->len))
			break;
		s->st.events_sent++;
		if (e->msg == QVMI_SES_EV_UNHOOK)
			s->c->unhook_seq = s->c->ev_seq;
	}
	s->nev = 0;
}

/* ---- QMP events -------------------------------------------------------------- */

/* QEMU 7.2 qapi/run-state.json ShutdownCause, in order. */
static const char *const causes[] = {
	"none",		  "host-error",
	"host-qmp-quit",  "host-qmp-system-reset",
	"host-signal",	  "host-ui",
	"guest-shutdown", "guest-reset",
	"guest-panic",	  "subsystem-reset",
	"snapshot-load",
};

/* QEMU 7.2 qapi/migration.json MigrationStatus, in order. */
static const char *const mig_states[] = {
	"none",
	"setup",
	"cancelling",
	"cancelled",
	"active",
	"postcopy-active",
	"postcopy-paused",
	"postcopy-recover",
	"completed",
	"failed",
	"colo",
	"pre-switchover",
	"device",
	"wait-unplug",
};

/* Index + 1 of data.key in names, 0 if absent or unknown. */
static uint32_t lookup(struct json_object *data, const char *key,
		       const char *const *names, size_t n)
{
	struct json_object *v;
	const char *str;

	if (!data || !json_object_object_get_ex(data, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	str = json_object_get_string(v);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(str, names[i]))
			return (uint32_t)i + 1;
	return 0;
}

/* {"timestamp": {"seconds": S, "microseconds": U}} as Unix ns. */
static uint64_t event_time_ns(struct json_object *msg)
{
	struct json_object *ts, *sec, *usec;
	int64_t s, u;

	if (!json_object_object_get_ex(msg, "timestamp", &ts) ||
	    !json_object_object_get_ex(ts, "seconds", &sec) ||
	    !json_object_object_get_ex(ts, "microseconds", &usec))
		return 0;
	s = json_object_get_int64(sec);
	u = json_object_get_int64(usec);
	/* QEMU sends -1/-1 when the clock failed. */
	if (s < 0 || u < 0 || u >= 1000000 || s > 18000000000ll)
		return 0;
	return (uint64_t)s * 1000000000ull + (uint64_t)u * 1000ull;
}

/* Was this STOP/RESUME caused by the session itself? */
static bool own_change(struct qvmid_session_server *s, bool stop)
{
	unsigned int *n = stop ? &s->own_stop : &s->own_resume;

	if (!*n)
		return false;
	if (qvmid_ses_now_ms() > s->own_deadline) {
		s->own_stop = s->own_resume = 0;
		return false;
	}
	(*n)--;
	return true;
}

void qvmid_ses_expect_own(struct qvmid_session_server *s, bool stop)
{
	if (stop)
		s->own_stop++;
	else
		s->own_resume++;
	s->own_deadline = qvmid_ses_now_ms() + OWN_WINDOW_MS;
}

void qvmid_session_server_qmp_event(struct qvmid_session_server *s,
				    struct json_object *msg)
{
	struct json_object *ev, *data = NULL, *guest;
	uint8_t p[QVMI_SES_EV_LIFE_SIZE] = { 0 };
	uint32_t detail = 0, flags = 0;
	const char *name;
	uint16_t id;

	if (!json_object_object_get_ex(msg, "event", &ev))
		return;
	name = json_object_get_string(ev);
	json_object_object_get_ex(msg, "data", &data);
	if (!strcmp(name, "STOP")) {
		id = QVMI_SES_EV_PAUSED;
		if (own_change(s, true))
			return;
	} else if (!strcmp(name, "RESUME")) {
		id = QVMI_SES_EV_RESUMED;
		if (own_change(s, false))
			return;
		/* A management "cont": the gdbstub must learn it from us. */
		if (s->gdb)
			qvmi__gdb_resumed_elsewhere(s->gdb);
	} else if (!strcmp(name, "RESET") || !strcmp(name, "SHUTDOWN")) {
		id = name[0] == 'R' ? QVMI_SES_EV_RESET : QVMI_SES_EV_SHUTDOWN;
		detail =
			lookup(data, "reason", causes, QVMI_ARRAY_SIZE(causes));
		if (data && json_object_object_get_ex(data, "guest", &guest) &&
		    json_object_get_boolean(guest))
			flags |= QVMI_SES_EVF_GUEST;
		/* Connect-out redials; a listened session keeps its
		 * breakpoints, re-verified from the loop: this callback
		 * may run inside a gdbstub or QMP round trip. */
		if (id == QVMI_SES_EV_RESET) {
			qvmi_cache_flush(s->ctx); /* only bumps an epoch */
			qvmid_ses_out_reset(s);
			s->reset_verify = s->gdb != NULL;
		}
	} else if (!strcmp(name, "MIGRATION")) {
		id = QVMI_SES_EV_MIGRATION;
		detail = lookup(data, "status", mig_states,
				QVMI_ARRAY_SIZE(mig_states));
	} else {
		return;
	}
	qvmi__ses_put64(p, event_time_ns(msg));
	qvmi__ses_put32(p + 8, detail);
	qvmi__ses_put32(p + 12, flags);
	qvmid_ses_ev_push(s, id, p, sizeof(p));
}

/* ---- hooks ---------------------------------------------------------------------- */

/*
 * The session's pause count stays as it is, but the VM's run state is
 * management's now: after their stop, the session's last resume (its
 * RESUME, its end, qvmid's exit) leaves the VM stopped, as if it had been
 * stopped before the session's first pause; after their cont, nobody else
 * holds it stopped.  Before, a tool that paused to read, then resumed,
 * undid a management stop that came in between.
 */
void qvmid_session_server_mgmt_run(struct qvmid_session_server *s, bool running)
{
	struct sconn *c = s->c;

	if (!c || c->stage != 2 || !c->pause_count || c->was_paused != running)
		return;
	c->was_paused = !running;
	qvmid_ses_ledger_sync(s);
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "session: management %s the VM during the tool's "
		      "pause: %s",
		      running ? "continued" : "stopped",
		      running ? "the tool's last resume continues it" :
				"it stays stopped after the tool's resume");
}

bool qvmid_session_server_hooked(const struct qvmid_session_server *s)
{
	return s->c && s->c->stage == 2 && s->c->hooked;
}

void qvmid_ses_unhook_done(struct qvmid_session_server *s, const char *why)
{
	struct sconn *c = s->c;

	/* Whatever the tool set goes with its hooks. */
	qvmid_ses_bp_drop(s, why);
	if (c) {
		c->hooked = false;
		c->hook_cmd = false;
		c->unhook_seq = 0;
		c->unhook_deadline = 0;
	}
	if (s->gen_done != s->gen_req) {
		s->gen_done = s->gen_req;
		qvmid_ses_log(s, QVMI_LOG_INFO, "session: unhooked (%s)", why);
	}
	qvmid_ses_stats_refresh(s);
}

uint64_t qvmid_session_server_unhook(struct qvmid_session_server *s,
				     uint32_t reason)
{
	struct sconn *c = s->c;
	uint8_t p[QVMI_SES_EV_UNHOOK_SIZE];

	if (!qvmid_session_server_hooked(s) || s->gen_req != s->gen_done)
		return s->gen_req; /* nothing to wait for, or join the round */
	s->gen_req++;
	s->st.unhooks++;
	if (s->o.policy.deny[QVMI_SES_EV_UNHOOK]) {
		/* The tool may not be told: take its hooks away now. */
		s->st.events_denied++;
		qvmid_ses_unhook_done(s, "unhook event denied by policy");
		return s->gen_req;
	}
	qvmi__ses_put32(p, reason);
	qvmi__ses_put32(p + 4, (uint32_t)s->o.unhook_timeout_ms);
	c->unhook_deadline = qvmid_ses_now_ms() + s->o.unhook_timeout_ms;
	qvmid_ses_ev_push(s, QVMI_SES_EV_UNHOOK, p, sizeof(p));
	qvmid_ses_flush_events(s);
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "session: a lifecycle command waits: asked the tool "
		      "to unhook");
	return s->gen_req;
}

bool qvmid_session_server_unhook_done(const struct qvmid_session_server *s,
				      uint64_t ticket)
{
	return s->gen_done >= ticket;
}

void qvmid_ses_hook_cmd(struct qvmid_session_server *s,
			const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	struct sconn *c = s->c;
	uint32_t seq;

	if (h->msg == QVMI_SES_HOOK) {
		if (s->gen_req != s->gen_done) {
			qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq,
				       EBUSY, NULL, 0);
			return;
		}
		c->hooked = c->hook_cmd = true;
		qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq, 0, NULL, 0);
		return;
	}
	/* UNHOOK_ACK: 0 (unhook now) or an EV_UNHOOK we sent. */
	seq = qvmi__ses_get32(p);
	if (seq > c->ev_seq) {
		qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq, EINVAL,
			       NULL, 0);
		return;
	}
	if (s->gen_req != s->gen_done)
		s->st.unhook_acks++;
	qvmid_ses_unhook_done(s, "the tool acknowledged");
	qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq, 0, NULL, 0);
}

/* ---- qvmid exits ------------------------------------------------------------- */

/* One turn of the session's own loop, at most max_ms. */
static void shutdown_turn(struct qvmid_session_server *s, int max_ms)
{
	unsigned int n = qvmid_session_server_nfds(s);
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	int64_t next = INT64_MAX, now;
	nfds_t used;

	if (!pfd) {
		qvmid_ses_unhook_done(s, "out of memory");
		return;
	}
	used = qvmid_session_server_prepare(s, pfd, &next);
	now = qvmid_ses_now_ms();
	if (next != INT64_MAX)
		max_ms =
			(int)QVMI_MAX(QVMI_MIN(next - now, (int64_t)max_ms), 0);
	if (poll(pfd, used, max_ms) >= 0 || errno == EINTR)
		qvmid_session_server_dispatch(s, pfd);
	free(pfd);
}

int qvmid_session_server_shutdown(struct qvmid_session_server *s)
{
	int64_t end;
	uint64_t t;

	if (!qvmid_session_server_hooked(s))
		return 0;
	t = qvmid_session_server_unhook(s, QVMI_UNHOOK_QVMID_EXIT);
	/* The round ends by itself at unhook_timeout (check_deadlines);
	 * the margin only bounds this loop if something is off. */
	end = qvmid_ses_now_ms() + s->o.unhook_timeout_ms + 1000;
	while (!qvmid_session_server_unhook_done(s, t) &&
	       qvmid_ses_now_ms() < end)
		shutdown_turn(s, 100);
	if (!qvmid_session_server_unhook_done(s, t))
		qvmid_ses_unhook_done(s, "qvmid exits");
	/* Let the ack's reply and what is queued reach the tool. */
	for (int i = 0; i < 5 && s->c && s->c->out_off < s->c->out_len; i++)
		shutdown_turn(s, 20);
	return 0;
}
