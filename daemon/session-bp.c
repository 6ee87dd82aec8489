// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Breakpoints, watchpoints and single-step for a session (docs/PROTOCOL.md
 * "Breakpoints"), over QEMU's gdbstub, which qvmid owns as its ctx's
 * control backend.  The stub's socket joins qvmid's poll loop: while the VM
 * runs with breakpoints in, a stop reply is read when it comes, never
 * waited for.  A stop becomes an event; the VM stays stopped until the
 * tool's EVENT_REPLY or event_timeout, then qvmid continues it itself.
 *
 * The ledger (a small file) lists what is inserted, so that a qvmid
 * restarted after a crash can remove it: QEMU 7.2 keeps breakpoints and a
 * stopped VM when the gdbstub connection just closes.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attach/qvmid.h"
#include "proto/qmp.h"
#include "session-int.h"

enum {
	SES_EVENT_TIMEOUT_MS = 2000,
	SES_STEP_TIMEOUT_MS = 1000,
	GDB_TIMEOUT_MS = 1000, /* one gdbstub reply */
	LEDGER_MAX = 64 * 1024,
	/* Re-verifying after a reset: 2 round trips of ~0.3 ms each per
	 * breakpoint (QEMU 7.2, TCG); this bounds a stub that stalls. */
	REVERIFY_BUDGET_MS = 2000,
};

static void reply_err(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h, int err)
{
	qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq,
		       (uint32_t)(err < 0 ? -err : EIO), NULL, 0);
}

static void reply_ok(struct qvmid_session_server *s,
		     const struct qvmi_ses_hdr *h)
{
	qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq, 0, NULL, 0);
}

/* ---- ledger ------------------------------------------------------------- */

/* Did qvmid itself pause the VM (a session PAUSE)?  A VM stopped at a
 * breakpoint is seen as "debug" by a restarted qvmid, so that needs no
 * entry. */
static bool we_paused(const struct qvmid_session_server *s)
{
	return s->c && s->c->stage == 2 && s->c->pause_count &&
	       !s->c->was_paused;
}

static int ledger_write(struct qvmid_session_server *s, bool paused)
{
	char tmp[4200];
	FILE *f;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->o.ledger_path) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	fprintf(f, "qvmi-ledger 1\npaused %d\n", paused);
	for (unsigned int i = 0; i < s->nbps; i++)
		fprintf(f, "bp %u %" PRIx64 " %u\n", s->bps[i].kind,
			s->bps[i].addr, s->bps[i].len);
	if (fclose(f)) {
		unlink(tmp);
		return -EIO;
	}
	return rename(tmp, s->o.ledger_path) ? -errno : 0;
}

void qvmid_ses_ledger_sync(struct qvmid_session_server *s)
{
	bool paused = we_paused(s), want = s->nbps || paused;
	int err = 0;

	qvmid_ses_stats_refresh(s);

	if (!s->o.ledger_path || !s->gdb)
		return;
	if (!want && s->ledger_exists) {
		if (unlink(s->o.ledger_path) && errno != ENOENT)
			err = -errno;
		s->ledger_exists = false;
	} else if (want) {
		err = ledger_write(s, paused);
		s->ledger_exists = !err;
	}
	s->ledger_paused = paused;
	if (err)
		qvmid_ses_log(s, QVMI_LOG_WARN, "ledger %s: %s",
			      s->o.ledger_path, strerror(-err));
}

/* What a dead qvmid left: remove its breakpoints.  *paused: it had paused
 * the VM.  -ENOENT if there is no ledger. */
static int ledger_recover(struct qvmid_session_server *s, bool *paused)
{
	FILE *f = fopen(s->o.ledger_path, "re");
	char line[128];
	unsigned int n = 0, bad = 0, ok = 0;
	struct stat st;

	*paused = false;
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || st.st_size > LEDGER_MAX ||
	    !fgets(line, sizeof(line), f) || strcmp(line, "qvmi-ledger 1\n")) {
		fclose(f);
		qvmid_ses_log(s, QVMI_LOG_WARN, "ledger %s: not a ledger",
			      s->o.ledger_path);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f) && n++ < SES_MAX_BPS + 1) {
		unsigned int kind, len, p;
		uint64_t addr;

		if (sscanf(line, "paused %u", &p) == 1) {
			*paused = p == 1;
		} else if (sscanf(line, "bp %u %" SCNx64 " %u", &kind, &addr,
				  &len) == 3 &&
			   !qvmi__gdb_bp_remove_untracked(
				   s->gdb, (enum qvmi_bp_kind)kind, addr,
				   len)) {
			ok++;
		} else {
			bad++;
		}
	}
	fclose(f);
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "ledger %s: a previous qvmid left %u breakpoints: "
		      "removed %u, %u failed%s",
		      s->o.ledger_path, ok + bad, ok, bad,
		      *paused ? "; it had paused the VM" : "");
	return 0;
}

/* query-status's "status" straight from QEMU: the ctl maps "debug" (a
 * gdbstub stop) to paused, and here the difference matters. */
static bool vm_status(struct qvmid_session_server *s, char *buf, size_t size)
{
	struct json_object *r = NULL, *st;
	bool ok = false;

	buf[0] = 0;
	if (qvmi__ctx_qmp(s->ctx) &&
	    !qvmi__qmp_execute(qvmi__ctx_qmp(s->ctx), "query-status", NULL,
			       &r) &&
	    json_object_object_get_ex(r, "status", &st)) {
		snprintf(buf, size, "%s", json_object_get_string(st));
		ok = true;
	}
	json_object_put(r);
	return ok;
}

int qvmid_ses_bp_init(struct qvmid_session_server *s)
{
	QVMI_OPTS(qvmi_gdb_opts, go, .timeout_ms = GDB_TIMEOUT_MS,
		  .memory = QVMI_GDB_MEM_OFF);
	int64_t t0 = qvmid_ses_now_ms();
	bool paused = false, ledger;
	char status[32];
	int err;

	if (s->o.event_timeout_ms <= 0)
		s->o.event_timeout_ms = SES_EVENT_TIMEOUT_MS;
	if (s->o.step_timeout_ms <= 0)
		s->o.step_timeout_ms = SES_STEP_TIMEOUT_MS;
	if (!s->o.gdb_path && !s->o.gdb_fd_set)
		return 0;
	vm_status(s, status, sizeof(status));
	/* Connecting stops the VM (QEMU 7.2). */
	err = s->o.gdb_fd_set ? qvmi__attach_gdb_fd(s->ctx, s->o.gdb_fd, &go) :
				qvmi_attach_gdb(s->ctx, s->o.gdb_path, &go);
	if (err) {
		qvmid_ses_log(s, QVMI_LOG_ERROR, "gdbstub %s: %s",
			      s->o.gdb_path ?: "fd", qvmi_errmsg(s->ctx));
		return err;
	}
	s->gdb = qvmi__ctl_gdb(s->ctx);
	/* No status from QMP (none, or it failed): the stop reply QEMU 7.2
	 * sends when a connection stops a running VM says it ran; without
	 * this a VM qvmid could not query stayed stopped for good. */
	if (!status[0] && qvmi__gdb_was_running(s->gdb))
		snprintf(status, sizeof(status), "running");
	ledger = s->o.ledger_path && !ledger_recover(s, &paused);
	if (!strcmp(status, "running") ||
	    (ledger && (paused || !strcmp(status, "debug"))))
		err = qvmi_vm_resume(s->ctx);
	if (err)
		qvmid_ses_log(s, QVMI_LOG_ERROR, "gdbstub: resume: %s",
			      qvmi_errmsg(s->ctx));
	if (ledger && unlink(s->o.ledger_path))
		qvmid_ses_log(s, QVMI_LOG_WARN, "ledger %s: %s",
			      s->o.ledger_path, strerror(errno));
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "gdbstub %s: VM was %s, %s (%" PRId64 " ms)",
		      s->o.gdb_path ?: "fd", status[0] ? status : "?",
		      qvmi__gdb_running(s->gdb) ? "running" : "left stopped",
		      qvmid_ses_now_ms() - t0);
	return err;
}

void qvmid_ses_bp_fini(struct qvmid_session_server *s)
{
	if (!s->gdb)
		return;
	qvmid_ses_bp_drop(s, "qvmid stops");
	qvmid_ses_ledger_sync(s);
	s->gdb = NULL; /* the ctx owns it */
}

int qvmid_ses_bp_fd(const struct qvmid_session_server *s)
{
	return s->gdb && qvmi__gdb_running(s->gdb) ? qvmi__gdb_fd(s->gdb) : -1;
}

/* ---- execution ------------------------------------------------------------ */

/* Let the VM run again after a stop, unless the session holds a pause. */
static void vm_continue(struct qvmid_session_server *s)
{
	s->stop_wait = false;
	if (we_paused(s) || (s->c && s->c->pause_count))
		return;
	qvmid_ses_expect_own(s, false);
	if (qvmi_vm_resume(s->ctx))
		qvmid_ses_log(s, QVMI_LOG_WARN, "gdbstub: continue: %s",
			      qvmi_errmsg(s->ctx));
}

static uint16_t event_of(enum qvmi_stop_reason r)
{
	switch (r) {
	case QVMI_STOP_BREAKPOINT:
		return QVMI_SES_EV_BREAKPOINT;
	case QVMI_STOP_STEP:
		return QVMI_SES_EV_STEP;
	case QVMI_STOP_WATCH_WRITE:
	case QVMI_STOP_WATCH_READ:
	case QVMI_STOP_WATCH_ACCESS:
		return QVMI_SES_EV_WATCHPOINT;
	default:
		return 0;
	}
}

/* A stop: tell the tool and wait for its reply, or continue.  step: it
 * ends our step, which is reported (EV_STEP) whatever stopped it. */
static void on_stop(struct qvmid_session_server *s, const struct qvmi_stop *st,
		    bool step)
{
	uint8_t p[QVMI_SES_EV_CPU_SIZE];
	struct qvmi_regs_x86 r;
	uint16_t msg = event_of(st->reason);

	if (st->reason == QVMI_STOP_EXITED) {
		qvmid_ses_log(s, QVMI_LOG_WARN, "gdbstub: the VM is gone");
		return;
	}
	if (step && !msg)
		msg = QVMI_SES_EV_STEP; /* stopped before the step ended */
	/* Someone stopped the VM (QMP stop): it is theirs to continue. */
	else if (st->reason == QVMI_STOP_INTERRUPT ||
		 st->reason == QVMI_STOP_SIGNAL)
		return;
	if (!msg || (msg != QVMI_SES_EV_STEP && !s->nbps) ||
	    qvmi__gdb_get_regs(s->gdb, st->vcpu, &r)) {
		vm_continue(s); /* not ours (a stale breakpoint) */
		return;
	}
	qvmi__ses_put32(p, st->vcpu);
	qvmi__ses_put32(p + 4, st->reason);
	qvmi__ses_put64(p + 8, st->addr);
	qvmi__ses_regs_encode(&r, p + 16);
	if (!qvmid_ses_ev_push(s, msg, p, sizeof(p))) {
		vm_continue(s); /* nobody may be told: never wait */
		return;
	}
	qvmid_ses_flush_events(s);
	if (!s->c || s->c->closing) {
		vm_continue(s);
		return;
	}
	s->stop = *st;
	s->stop_wait = true;
	s->stop_seq = s->c->ev_seq;
	s->stop_deadline = qvmid_ses_now_ms() + s->o.event_timeout_ms;
}

/*
 * Stop a step that is still out (its deadline passed, or the session's
 * hooks go).  1 and *ret: the stop that ended it (the step itself may
 * have finished just before our interrupt); 0: it did not end, and the
 * vCPU is stopped where it was; < 0: the stub is gone.
 */
static int step_stop(struct qvmid_session_server *s, struct qvmi_stop *ret)
{
	int err;

	s->stepping = false;
	/* QEMU 7.2 stops the stepping vCPU at once on 0x03 and answers
	 * T02; a step that ended meanwhile is kept as a pending stop. */
	err = qvmi__gdb_interrupt(s->gdb);
	if (err) {
		qvmid_ses_log(s, QVMI_LOG_ERROR, "gdbstub: stopping a step: %s",
			      qvmi_errmsg(s->ctx));
		return err;
	}
	qvmi_cache_flush(s->ctx);
	if (qvmi__gdb_poll_stop(s->gdb, ret) == 1)
		return 1;
	memset(ret, 0, sizeof(*ret));
	ret->vcpu = s->step_vcpu;
	ret->reason = QVMI_STOP_INTERRUPT;
	ret->signal = 2;
	return 0;
}

/* The step did not end in step_timeout: under TCG a vCPU halted in hlt
 * executes nothing until something wakes it (QEMU 7.2, sstep flags 0x7,
 * idle demo guest: up to ~0.5 s usually, now and then over 1 s). */
static void step_timed_out(struct qvmid_session_server *s)
{
	struct qvmi_stop st;
	struct qvmi_regs_x86 r;
	int r1;

	s->st.step_timeouts++;
	qvmid_ses_log(s, QVMI_LOG_WARN,
		      "session: the step of vCPU %u did not end in %d ms "
		      "(halted?): stopping it",
		      s->step_vcpu, s->o.step_timeout_ms);
	r1 = step_stop(s, &st);
	if (r1 < 0)
		return;
	if (!r1 && !qvmi__gdb_get_regs(s->gdb, st.vcpu, &r))
		st.rip = st.addr = r.rip;
	on_stop(s, &st, true);
}

/* One breakpoint the stub refused after the reset: tell the tool. */
static void bp_lost(struct qvmid_session_server *s, const struct ses_bp *b)
{
	uint8_t p[QVMI_SES_EV_BP_REMOVED_SIZE];

	qvmid_ses_log(s, QVMI_LOG_WARN,
		      "session: after the guest reset, breakpoint kind %u at "
		      "0x%" PRIx64 " could not be re-inserted (%s): dropped",
		      b->kind, b->addr, qvmi_errmsg(s->ctx));
	qvmi__ses_put64(p, b->addr);
	qvmi__ses_put32(p + 8, b->kind);
	qvmi__ses_put32(p + 12, b->len);
	qvmid_ses_ev_push(s, QVMI_SES_EV_BP_REMOVED, p, sizeof(p));
}

/*
 * A guest reset (docs/PROTOCOL.md "Breakpoints"): QEMU keeps breakpoints
 * by address, but under KVM a software breakpoint's int3 lives in guest
 * memory, which firmware may have reloaded, and after a reset the vCPU is
 * in real mode, where a kernel GVA does not translate.  So each one is
 * taken out and put in again; what the stub refuses leaves the session's
 * list and the ledger, and the tool gets EV_BP_REMOVED.  Under QEMU 7.2
 * TCG (breakpoints kept by the vCPU, not in memory) this changes nothing.
 */
static void bp_reverify(struct qvmid_session_server *s)
{
	int64_t end = qvmid_ses_now_ms() + REVERIFY_BUDGET_MS;
	unsigned int i = 0, dropped = 0;
	bool held = false;
	int err = 0;

	s->reset_verify = false;
	/* A dialled session closes for the reset (session-out.c). */
	if (!s->nbps || !s->c || s->c->stage != 2 || s->c->outbound)
		return;
	err = qvmi__gdb_hold(s->gdb, &held);
	if (held)
		qvmid_ses_expect_own(s, true);
	while (!err && i < s->nbps) {
		struct ses_bp b = s->bps[i];

		if (qvmid_ses_now_ms() >= end) {
			err = -ETIMEDOUT;
			break;
		}
		err = qvmi__gdb_bp_reinsert(s->gdb, b.kind, b.addr, b.len);
		if (err == 1) {
			s->bps[i] = s->bps[--s->nbps];
			dropped++;
			bp_lost(s, &b);
			err = 0;
		} else if (!err) {
			i++;
		}
	}
	if (held)
		qvmid_ses_expect_own(s, false);
	if (qvmi__gdb_release(s->gdb, held) && !err)
		err = -EIO;
	if (err) /* the rest stays as it was: a BP_CLEAR can still try */
		qvmid_ses_log(s, QVMI_LOG_WARN,
			      "session: re-verifying breakpoints after the "
			      "guest reset stopped at %u of %u: %s",
			      i, s->nbps,
			      err == -ETIMEDOUT ? "out of time" :
						  qvmi_errmsg(s->ctx));
	if (!s->nbps)
		s->c->hooked = s->c->hook_cmd;
	if (dropped)
		qvmid_ses_ledger_sync(s);
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "session: guest reset: %u breakpoints re-inserted, %u "
		      "dropped",
		      i, dropped);
}

void qvmid_ses_bp_poll(struct qvmid_session_server *s, int64_t *next_ms)
{
	struct qvmi_stop st;
	bool step;
	int r;

	if (!s->gdb)
		return;
	if (s->stop_wait && qvmid_ses_now_ms() >= s->stop_deadline) {
		qvmid_ses_log(s, QVMI_LOG_INFO,
			      "session: no reply to event %u in %d ms: "
			      "continuing the VM",
			      s->stop_seq, s->o.event_timeout_ms);
		s->st.event_timeouts++;
		vm_continue(s);
	}
	for (int i = 0; i < 8 && !s->stop_wait; i++) {
		r = qvmi__gdb_poll_stop(s->gdb, &st);
		if (r < 0)
			qvmid_ses_log(s, QVMI_LOG_WARN, "gdbstub: %s",
				      qvmi_errmsg(s->ctx));
		if (r <= 0)
			break;
		step = s->stepping;
		s->stepping = false;
		if (step)
			qvmi_cache_flush(s->ctx); /* guest code ran */
		on_stop(s, &st, step);
	}
	if (s->stepping && qvmid_ses_now_ms() >= s->step_deadline)
		step_timed_out(s);
	/* After the step (its EV_STEP or timeout) the vCPUs are ours. */
	if (s->reset_verify && !s->stepping)
		bp_reverify(s);
	if (s->stop_wait && next_ms)
		*next_ms = QVMI_MIN(*next_ms, s->stop_deadline);
	if (s->stepping && next_ms)
		*next_ms = QVMI_MIN(*next_ms, s->step_deadline);
}

/* ---- commands --------------------------------------------------------------- */

static int bp_change(struct qvmid_session_server *s, bool set,
		     const struct ses_bp *b)
{
	bool held = false;
	int err = qvmi__gdb_hold(s->gdb, &held), err2;

	if (held) /* our interrupt and continue show up on QMP */
		qvmid_ses_expect_own(s, true);
	if (!err)
		err = set ? qvmi__gdb_bp_insert(s->gdb, b->kind, b->addr,
						b->len) :
			    qvmi__gdb_bp_remove(s->gdb, b->kind, b->addr,
						b->len);
	if (held)
		qvmid_ses_expect_own(s, false);
	err2 = qvmi__gdb_release(s->gdb, held);
	return err ? err : err2;
}

static int bp_find(const struct qvmid_session_server *s, const struct ses_bp *b)
{
	for (unsigned int i = 0; i < s->nbps; i++)
		if (s->bps[i].kind == b->kind && s->bps[i].addr == b->addr &&
		    s->bps[i].len == b->len)
			return (int)i;
	return -1;
}

static void cmd_bp(struct qvmid_session_server *s, const struct qvmi_ses_hdr *h,
		   const uint8_t *p)
{
	struct ses_bp b = { .addr = qvmi__ses_get64(p),
			    .kind = qvmi__ses_get32(p + 8),
			    .len = qvmi__ses_get32(p + 12) };
	bool set = h->msg == QVMI_SES_BP_SET;
	int i = bp_find(s, &b), err;

	if (b.kind > QVMI_WP_ACCESS)
		return reply_err(s, h, -EINVAL);
	if (set && s->gen_req != s->gen_done)
		return reply_err(s, h, -EBUSY); /* an unhook is under way */
	if (set ? i >= 0 : i < 0)
		return reply_err(s, h, set ? -EEXIST : -ENOENT);
	if (set && s->nbps == SES_MAX_BPS)
		return reply_err(s, h, -ENOSPC);
	err = bp_change(s, set, &b);
	if (err)
		return reply_err(s, h, err);
	if (set) {
		s->bps[s->nbps++] = b;
		s->c->hooked = true;
	} else {
		s->bps[i] = s->bps[--s->nbps];
		if (!s->nbps)
			s->c->hooked = s->c->hook_cmd;
	}
	qvmid_ses_ledger_sync(s);
	reply_ok(s, h);
}

/* Step vcpu of the stopped VM and return to the loop: EV_STEP follows
 * the reply when the stub's stop reply comes (qvmid_ses_bp_poll), or
 * after step_timeout as a failed step. */
static void do_step(struct qvmid_session_server *s,
		    const struct qvmi_ses_hdr *h, unsigned int vcpu)
{
	int err;

	if (vcpu >= qvmi__gdb_nvcpus(s->gdb))
		return reply_err(s, h, -ENOENT);
	if (qvmi__gdb_running(s->gdb))
		return reply_err(s, h, -EBUSY); /* pause first */
	s->stop_wait = false;
	/* QEMU 7.2 sends RESUME, then STOP, around a gdbstub step. */
	qvmid_ses_expect_own(s, false);
	qvmid_ses_expect_own(s, true);
	err = qvmi__gdb_step_start(s->gdb, vcpu);
	if (err) {
		qvmi_cache_flush(s->ctx);
		return reply_err(s, h, err);
	}
	s->stepping = true;
	s->step_vcpu = vcpu;
	s->step_deadline = qvmid_ses_now_ms() + s->o.step_timeout_ms;
	reply_ok(s, h);
}

bool qvmid_ses_busy_stepping(const struct qvmid_session_server *s,
			     const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	if (!s->stepping)
		return false;
	switch (h->msg) {
	case QVMI_SES_GET_REGS:
	case QVMI_SES_SET_REGS:
	case QVMI_SES_PAUSE:
	case QVMI_SES_RESUME:
	case QVMI_SES_BP_SET:
	case QVMI_SES_BP_CLEAR:
	case QVMI_SES_STEP:
	case QVMI_SES_EVENT_REPLY:
		return true;
	case QVMI_SES_TRANSLATE: /* reads the vCPU's CR3 */
		return qvmi__ses_get32(p + 20) & QVMI_SES_TR_USE_VCPU;
	default:
		return false;
	}
}

static void cmd_event_reply(struct qvmid_session_server *s,
			    const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint32_t seq = qvmi__ses_get32(p), action = qvmi__ses_get32(p + 4);

	if (action > 1 || !seq || seq > s->c->ev_seq)
		return reply_err(s, h, -EINVAL);
	if (!s->stop_wait || seq != s->stop_seq) {
		/* Late (qvmid continued by itself) or not a stop event:
		 * nothing to do, like a late unhook ack. */
		reply_ok(s, h);
		return;
	}
	if (action == 1)
		return do_step(s, h, s->stop.vcpu);
	vm_continue(s);
	reply_ok(s, h);
}

void qvmid_ses_bp_cmd(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	if (!s->gdb)
		return reply_err(s, h, -EOPNOTSUPP);
	switch (h->msg) {
	case QVMI_SES_BP_SET:
	case QVMI_SES_BP_CLEAR:
		return cmd_bp(s, h, p);
	case QVMI_SES_STEP:
		return do_step(s, h, qvmi__ses_get32(p));
	default:
		return cmd_event_reply(s, h, p);
	}
}

void qvmid_ses_bp_drop(struct qvmid_session_server *s, const char *why)
{
	unsigned int n = s->nbps, failed = 0;
	bool held = false, stepped = s->stepping;
	struct qvmi_stop st;

	if (!s->gdb)
		return;
	/* A step still out ends here; nobody waits for its EV_STEP. */
	if (stepped && step_stop(s, &st) >= 0)
		while (qvmi__gdb_poll_stop(s->gdb, &st) == 1)
			;
	if (n && !qvmi__gdb_hold(s->gdb, &held)) {
		if (held)
			qvmid_ses_expect_own(s, true);
		for (unsigned int i = n; i-- > 0;)
			if (qvmi__gdb_bp_remove(s->gdb, s->bps[i].kind,
						s->bps[i].addr, s->bps[i].len))
				failed++;
		if (held)
			qvmid_ses_expect_own(s, false);
		qvmi__gdb_release(s->gdb, held);
	} else if (n) {
		failed = n;
	}
	s->nbps = 0;
	if (s->stop_wait || stepped)
		vm_continue(s);
	if (n)
		qvmid_ses_log(s, QVMI_LOG_INFO,
			      "session: removed %u breakpoints (%s)%s",
			      n - failed, why, failed ? "; some failed" : "");
	qvmid_ses_ledger_sync(s);
}
