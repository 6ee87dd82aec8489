// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * gdbstub execution control: breakpoints, continue, single-step,
 * interrupt, stop replies, detach.  Facts pinned on QEMU 7.2 (TCG):
 *  - a stop makes the stopped vCPU the current one for Hg;
 *  - while running, the stub only watches for one byte, which stops the VM
 *    ("T02"); a byte sent when a breakpoint already stopped it is dropped,
 *    so after 0x03 exactly one stop reply comes, whatever its reason;
 *  - resuming a vCPU that sits on its breakpoint hits it again at once:
 *    remove it, step that vCPU, re-insert it, then continue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto/gdb-priv.h"

/* ---- stop replies ------------------------------------------------------ */

static int vcpu_of(const struct qvmi_gdb *g, const struct qvmi_rsp_tid *t)
{
	for (unsigned int i = 0; i < g->nvcpus; i++) {
		const struct qvmi_rsp_tid *v = &g->vcpus[i].tid;

		if (v->tid == t->tid &&
		    (t->pid == -2 || v->pid == -2 || t->pid == v->pid))
			return (int)i;
	}
	return -1;
}

static int read_rip(struct qvmi_gdb *g, unsigned int vcpu, uint64_t *ret)
{
	uint8_t b[8];
	size_t n = 0;
	int err;

	*ret = 0;
	if (g->rip_regnum < 0)
		return -EOPNOTSUPP;
	err = qvmi__gdb_read_reg(g, vcpu, (unsigned int)g->rip_regnum, b,
				 sizeof(b), &n);
	if (err)
		return err;
	for (size_t i = n; i-- > 0;)
		*ret = *ret << 8 | b[i];
	return 0;
}

static bool at_exec_bp(const struct qvmi_gdb *g, uint64_t rip)
{
	for (size_t i = 0; i < g->nbps; i++)
		if (g->bps[i].kind <= QVMI_BP_HW && g->bps[i].addr == rip)
			return true;
	return false;
}

/* Turn a parsed stop reply into a qvmi_stop (reads RIP: one 'p'). */
static int classify(struct qvmi_gdb *g, const struct qvmi_rsp_stop *s,
		    bool stepping, struct qvmi_stop *ret)
{
	int v = s->has_thread ? vcpu_of(g, &s->thread) : -1;

	memset(ret, 0, sizeof(*ret));
	ret->signal = s->signal;
	if (s->kind != QVMI_RSP_STOP_SIGNAL) {
		ret->reason = QVMI_STOP_EXITED;
		return 0;
	}
	ret->vcpu = v < 0 ? 0 : (unsigned int)v;
	/* QEMU 7.2 makes the stopped vCPU current for Hg (gdb_vm_state_change)
	 * but other stubs need not: forget what we selected. */
	g->cur_g = -1;
	if (read_rip(g, ret->vcpu, &ret->rip) && g->rip_regnum >= 0)
		return -EIO;
	ret->addr = ret->rip;
	if (s->watch) {
		ret->reason = QVMI_STOP_WATCH_WRITE + (s->watch - 1);
		ret->addr = s->watch_addr;
	} else if (s->signal == 2) {
		ret->reason = QVMI_STOP_INTERRUPT;
	} else if (s->signal != 5) {
		ret->reason = QVMI_STOP_SIGNAL;
	} else if (at_exec_bp(g, ret->rip) || s->swbreak || s->hwbreak) {
		ret->reason = QVMI_STOP_BREAKPOINT;
	} else {
		ret->reason = stepping ? QVMI_STOP_STEP : QVMI_STOP_TRAP;
	}
	return 0;
}

/* Wait for a stop reply while running; g->running becomes false. */
static int step_restore(struct qvmi_gdb *g);

static int recv_stop(struct qvmi_gdb *g, int timeout_ms, bool stepping,
		     struct qvmi_stop *ret)
{
	struct qvmi_rsp_stop s;
	size_t n;
	int err, err2;

	for (unsigned int tries = 0;; tries++) {
		err = qvmi__rsp_recv(&g->conn, false, timeout_ms, g->buf,
				     QVMI_RSP_MAX_DECODED + 1, &n);
		if (err)
			return err;
		/* 'O' console output may precede a stop reply */
		if (g->buf[0] == 'O' && n > 1 && tries < 64)
			continue;
		break;
	}
	if (qvmi__rsp_parse_stop(g->buf, n, &s))
		return qvmi__err(g->ctx, -EPROTO, "gdb: expected a stop reply");
	g->running = false;
	err = classify(g, &s, stepping || g->stepping, ret);
	g->last = *ret;
	g->have_last = !err;
	/* Classified first: a step that ends on the address of a breakpoint
	 * it took out is a step, not a hit. */
	err2 = step_restore(g);
	return err ? err : err2;
}

static void push_pending(struct qvmi_gdb *g, const struct qvmi_stop *s)
{
	if (g->npending == MAX_PENDING) {
		memmove(g->pending, g->pending + 1,
			(MAX_PENDING - 1) * sizeof(*g->pending));
		g->npending--;
	}
	g->pending[g->npending++] = *s;
}

/* ---- breakpoints -------------------------------------------------------- */

static int bp_find(const struct qvmi_gdb *g, enum qvmi_bp_kind kind,
		   uint64_t addr, unsigned int len)
{
	for (size_t i = 0; i < g->nbps; i++)
		if (g->bps[i].kind == kind && g->bps[i].addr == addr &&
		    g->bps[i].len == len)
			return (int)i;
	return -1;
}

static int bp_cmd(struct qvmi_gdb *g, char op, enum qvmi_bp_kind kind,
		  uint64_t addr, unsigned int len)
{
	char c[48];

	snprintf(c, sizeof(c), "%c%d,%" PRIx64 ",%x", op, (int)kind, addr, len);
	return qvmi__gdb_expect_ok(
		g, c, op == 'Z' ? "insert breakpoint" : "remove breakpoint");
}

static int bp_check(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
		    unsigned int len)
{
	if ((unsigned int)kind > QVMI_WP_ACCESS)
		return qvmi__err(g->ctx, -EINVAL, "gdb: bad breakpoint kind");
	if (kind <= QVMI_BP_HW ? len != 1 :
				 (len != 1 && len != 2 && len != 4 && len != 8))
		return qvmi__err(g->ctx, -EINVAL,
				 "gdb: bad breakpoint length %u", len);
	if (g->running)
		return qvmi__err(g->ctx, -EBUSY,
				 "gdb: breakpoints: the VM is running");
	return 0;
}

int qvmi__gdb_bp_insert(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
			uint64_t addr, unsigned int len)
{
	int err = bp_check(g, kind, len);

	if (err)
		return err;
	if (bp_find(g, kind, addr, len) >= 0)
		return qvmi__err(g->ctx, -EEXIST,
				 "gdb: breakpoint already inserted");
	if (g->nbps == MAX_BPS)
		return qvmi__err(g->ctx, -ENOSPC, "gdb: too many breakpoints");
	err = bp_cmd(g, 'Z', kind, addr, len);
	if (err)
		return err;
	g->bps[g->nbps++] = (struct bp){ kind, addr, len };
	return 0;
}

int qvmi__gdb_bp_remove(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
			uint64_t addr, unsigned int len)
{
	int err = bp_check(g, kind, len), i;

	if (err)
		return err;
	i = bp_find(g, kind, addr, len);
	if (i < 0)
		return qvmi__err(g->ctx, -ENOENT, "gdb: no such breakpoint");
	err = bp_cmd(g, 'z', kind, addr, len);
	if (err)
		return err;
	g->bps[i] = g->bps[--g->nbps];
	return 0;
}

/*
 * After a guest reset: take a tracked breakpoint out and put it in again,
 * so that the stub writes it anew (under KVM a software breakpoint is an
 * int3 in guest memory, which a reset may have overwritten) or says it
 * cannot (the address is no longer mapped).  The stub's answer to z does
 * not matter (QEMU 7.2 answers E22 when it has no such breakpoint).
 */
int qvmi__gdb_bp_reinsert(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
			  uint64_t addr, unsigned int len)
{
	int err = bp_check(g, kind, len), i = bp_find(g, kind, addr, len);
	char c[48];

	if (err)
		return err;
	if (i < 0)
		return qvmi__err(g->ctx, -ENOENT, "gdb: no such breakpoint");
	snprintf(c, sizeof(c), "z%d,%" PRIx64 ",%x", (int)kind, addr, len);
	err = qvmi__gdb_cmd(g, c, NULL);
	if (err)
		return err;
	c[0] = 'Z';
	err = qvmi__gdb_cmd(g, c, NULL);
	if (err)
		return err;
	if (!strcmp(g->buf, "OK"))
		return 0;
	g->bps[i] = g->bps[--g->nbps];
	qvmi__gdb_reply_err(g, "re-insert breakpoint", addr);
	return 1;
}

/* ---- execution ---------------------------------------------------------- */

static int send_resume(struct qvmi_gdb *g, bool step, unsigned int vcpu)
{
	char c[TID_MAX + 16];
	int err;

	if (step && !g->vcont_s) {
		/* old stubs: Hc selects the vCPU for 's' */
		snprintf(c, sizeof(c), "Hc%s", g->vcpus[vcpu].id);
		err = qvmi__gdb_expect_ok(g, c, "select vCPU to step");
		if (err)
			return err;
		strcpy(c, "s");
	} else if (step) {
		snprintf(c, sizeof(c), "vCont;s:%s", g->vcpus[vcpu].id);
	} else {
		strcpy(c, g->vcont ? "vCont;c" : "c");
	}
	/* No reply now: the stop reply comes when the VM stops again. */
	err = qvmi__rsp_send(&g->conn, c, strlen(c));
	if (!err) {
		g->running = true;
		g->cur_g = -1;
	}
	return err;
}

/* Put back the breakpoints a step took out (the VM is stopped). */
static int step_restore(struct qvmi_gdb *g)
{
	int err = 0, err2;

	g->stepping = false;
	while (g->step_nsaved > 0 && !g->running) {
		const struct bp *b = &g->step_saved[--g->step_nsaved];

		err2 = qvmi__gdb_bp_insert(g, b->kind, b->addr, b->len);
		err = err ? err : err2;
	}
	return err;
}

/*
 * Send the step of vcpu; if it sits on one of our execution breakpoints,
 * take that breakpoint out for the step so it does not fire again at
 * once (step_restore puts it back with the stop reply).
 */
static int step_send(struct qvmi_gdb *g, unsigned int vcpu, uint64_t rip)
{
	int err = 0;

	g->step_nsaved = 0;
	for (size_t i = 0; i < g->nbps && g->step_nsaved < 2;) {
		struct bp b = g->bps[i];

		if (b.kind <= QVMI_BP_HW && b.addr == rip) {
			err = qvmi__gdb_bp_remove(g, b.kind, b.addr, b.len);
			if (err)
				break;
			g->step_saved[g->step_nsaved++] = b;
			continue; /* the slot now holds another one */
		}
		i++;
	}
	if (!err)
		err = send_resume(g, true, vcpu);
	if (err) {
		step_restore(g); /* if we can: report the first error */
		return err;
	}
	g->stepping = true;
	g->step_vcpu = vcpu;
	return 0;
}

int qvmi__gdb_step_start(struct qvmi_gdb *g, unsigned int vcpu)
{
	uint64_t rip = 0;
	int err;

	if (vcpu >= g->nvcpus)
		return qvmi__err(g->ctx, -EINVAL, "gdb: no vCPU %u", vcpu);
	if (g->running)
		return qvmi__err(g->ctx, -EBUSY,
				 "gdb: step: the VM is running");
	g->npending = 0;
	err = read_rip(g, vcpu, &rip);
	return err ? err : step_send(g, vcpu, rip);
}

bool qvmi__gdb_stepping(const struct qvmi_gdb *g)
{
	return g->stepping;
}

int qvmi__gdb_step(struct qvmi_gdb *g, unsigned int vcpu, struct qvmi_stop *ret)
{
	struct qvmi_stop tmp;
	int err = qvmi__gdb_step_start(g, vcpu);

	if (!ret)
		ret = &tmp;
	if (!err)
		err = recv_stop(g, -1, true, ret);
	if (err != -ETIMEDOUT || !g->running)
		return err;
	/* Under TCG a vCPU halted in hlt does not step until something wakes
	 * it: stop it, so the VM is stopped as after a step, not running. */
	err = qvmi__gdb_interrupt(g);
	if (err)
		return err;
	if (g->npending) { /* the step ended just before our 0x03 */
		*ret = g->pending[0];
		memmove(g->pending, g->pending + 1,
			--g->npending * sizeof(*g->pending));
		return 0;
	}
	return qvmi__err(g->ctx, -ETIMEDOUT,
			 "gdb: the step of vCPU %u did not end in %d ms "
			 "(halted?); it is stopped",
			 vcpu, g->conn.timeout_ms);
}

int qvmi__gdb_continue(struct qvmi_gdb *g)
{
	struct qvmi_stop s;
	int err;

	if (g->running)
		return 0;
	g->npending = 0;
	if (g->have_last && g->last.reason == QVMI_STOP_BREAKPOINT &&
	    at_exec_bp(g, g->last.rip)) {
		err = step_send(g, g->last.vcpu, g->last.rip);
		if (!err)
			err = recv_stop(g, -1, true, &s);
		if (err)
			return err;
		if (s.reason != QVMI_STOP_STEP) {
			/* the step stopped somewhere that matters: report it */
			push_pending(g, &s);
			return 0;
		}
	}
	g->have_last = false;
	return send_resume(g, false, 0);
}

int qvmi__gdb_interrupt(struct qvmi_gdb *g)
{
	struct qvmi_stop s;
	int err;

	if (!g->running)
		return 0;
	err = qvmi__rsp_interrupt(&g->conn);
	if (!err)
		err = recv_stop(g, -1, false, &s);
	if (err)
		return err;
	/* A breakpoint that fired before our byte arrived: keep it. */
	if (s.reason != QVMI_STOP_INTERRUPT)
		push_pending(g, &s);
	return 0;
}

int qvmi__gdb_wait_stop(struct qvmi_gdb *g, int timeout_ms,
			struct qvmi_stop *ret)
{
	if (g->npending) {
		*ret = g->pending[0];
		memmove(g->pending, g->pending + 1,
			--g->npending * sizeof(*g->pending));
		return 0;
	}
	if (!g->running)
		return qvmi__err(g->ctx, -EINVAL,
				 "gdb: the VM is stopped: nothing to wait for");
	return recv_stop(g, timeout_ms < 0 ? 0 : timeout_ms, false, ret);
}

void qvmi__gdb_poll(struct qvmi_gdb *g)
{
	struct qvmi_stop s;

	if (!g->running || !qvmi__rsp_pending(&g->conn))
		return;
	if (!recv_stop(g, 0, false, &s))
		push_pending(g, &s);
}

void qvmi__gdb_resumed_elsewhere(struct qvmi_gdb *g)
{
	/* A stop reply already queued (pending) is from before the resume;
	 * the VM has moved on since, so it is stale. */
	if (g->running || g->stepping || g->conn.fd < 0)
		return;
	g->npending = 0;
	g->running = true;
}

int qvmi__gdb_hold(struct qvmi_gdb *g, bool *held)
{
	int err;

	*held = false;
	if (!g->running)
		return 0;
	err = qvmi__gdb_interrupt(g);
	/* If a real stop came instead, the VM stays stopped for its owner. */
	*held = !err && !g->npending;
	return err;
}

int qvmi__gdb_release(struct qvmi_gdb *g, bool held)
{
	return held ? send_resume(g, false, 0) : 0;
}

int qvmi__gdb_detach(struct qvmi_gdb *g)
{
	char c[TID_MAX + 8];
	int err;

	if (g->running) {
		err = qvmi__gdb_interrupt(g);
		if (err)
			return err;
	}
	/* QEMU 7.2 in multiprocess mode answers a plain "D" with E22. */
	if (g->multiprocess && g->vcpus[0].tid.pid > 0)
		snprintf(c, sizeof(c), "D;%" PRIx64,
			 (uint64_t)g->vcpus[0].tid.pid);
	else
		strcpy(c, "D");
	err = qvmi__gdb_expect_ok(g, c, "detach");
	if (!err) {
		/* QEMU removed all breakpoints and resumed the VM; nothing
		 * more can be done on this connection. */
		g->nbps = 0;
		g->npending = 0;
		g->running = false;
		g->want_running = true;
		close(g->conn.fd);
		g->conn.fd = -1;
	}
	return err;
}

/* ---- a stop seen from someone else's poll loop --------------------------- */

int qvmi__gdb_fd(const struct qvmi_gdb *g)
{
	return g->conn.fd;
}

int qvmi__gdb_poll_stop(struct qvmi_gdb *g, struct qvmi_stop *ret)
{
	struct qvmi_stop s;
	int err;

	/* A stop reply is one short packet: once its first byte is here the
	 * rest follows at once, so a short bounded wait does not stall the
	 * caller's loop. */
	if (g->running && !g->npending && qvmi__rsp_pending(&g->conn)) {
		err = recv_stop(g, POLL_STOP_MS, false, &s);
		if (err)
			return err;
		push_pending(g, &s);
	}
	if (!g->npending)
		return 0;
	*ret = g->pending[0];
	memmove(g->pending, g->pending + 1,
		--g->npending * sizeof(*g->pending));
	return 1;
}

int qvmi__gdb_bp_remove_untracked(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
				  uint64_t addr, unsigned int len)
{
	int err = bp_check(g, kind, len), i;

	if (err)
		return err;
	i = bp_find(g, kind, addr, len);
	if (i >= 0)
		return qvmi__gdb_bp_remove(g, kind, addr, len);
	return bp_cmd(g, 'z', kind, addr, len);
}
