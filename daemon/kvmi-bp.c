// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVMi breakpoints and single-step over QEMU's gdbstub (docs/KVMI.md
 * "Breakpoints").  KVMi tools plant int3 by writing one 0xCC byte with
 * WRITE_PHYSICAL and expect a BREAKPOINT event when a vCPU reaches it.
 * Stock QEMU has no such intercept, so qvmid turns that write into a
 * gdbstub software breakpoint (Z0) at every executable kernel virtual
 * alias of the gpa, inserted before the byte lands: under TCG a gdbstub
 * breakpoint stops the vCPU before the instruction at that address is
 * translated, so the guest never executes the tool's bare int3 (QEMU 7.2;
 * under KVM QEMU plants its own int3 and reports the same stop).  A
 * 1-byte write that restores a planted gpa lands first and the Z0 comes
 * out after it, so no instant has a bare 0xCC without the Z0 in front.
 *
 * A stop at one of our Z0s becomes a BREAKPOINT event {gpa, insn_len 1};
 * the VM stays stopped (the whole VM: the gdbstub stops every vCPU) until
 * the tool replies.  RETRY resumes at RIP: with single-step on for that
 * vCPU qvmid steps it (vCont;s) and sends SINGLESTEP; with the 0xCC still
 * planted the same breakpoint is reported again, as re-executing the int3
 * would.  CONTINUE is KVM's re-injection of #BP: the vCPU executes the
 * int3 (the guest's own #BP handler runs), as on KVM.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmi-int.h"
#include "attach/qvmid.h"
#include "proto/gdb.h"
#include "proto/qmp.h"

enum {
	GDB_TIMEOUT_MS = 1000,
	STEP_TIMEOUT_MS = 1000,
	MAX_XRANGES = 1 << 16,
	KERNEL_HALF = 0, /* va >> 63 */
};

int qvmid_kvmi_bp_init(struct qvmid_kvmi *k)
{
	QVMI_OPTS(qvmi_gdb_opts, go, .timeout_ms = GDB_TIMEOUT_MS,
		  .memory = QVMI_GDB_MEM_OFF);
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err;

	if (!k->o.gdb_path)
		return 0;
	qvmi_vm_state(k->ctx, &st);
	/* Connecting stops the VM (QEMU 7.2). */
	err = qvmi_attach_gdb(k->ctx, k->o.gdb_path, &go);
	if (err) {
		qvmid_kvmi_log(k, QVMI_LOG_ERROR, "kvmi: gdbstub %s: %s",
			       k->o.gdb_path, qvmi_errmsg(k->ctx));
		return err;
	}
	k->gdb = qvmi__ctl_gdb(k->ctx);
	if (st == QVMI_VM_RUNNING || qvmi__gdb_was_running(k->gdb))
		err = qvmi_vm_resume(k->ctx);
	qvmid_kvmi_log(k, QVMI_LOG_INFO,
		       "kvmi: gdbstub %s: breakpoints and single-step on",
		       k->o.gdb_path);
	return err;
}

int qvmid_kvmi_bp_fd(const struct qvmid_kvmi *k)
{
	return k->gdb && qvmi__gdb_running(k->gdb) ? qvmi__gdb_fd(k->gdb) : -1;
}

/*
 * QEMU 7.2's gdbstub, while the VM runs, takes any byte it receives as an
 * interrupt: it stops the VM and drops the packet (gdb_read_byte).  So a
 * packet sent while someone else's QMP "cont" (libvirt's, after -S) has
 * the VM running stops the guest and desynchronises the stub.  The
 * gdbstub client must know the VM runs; a RESUME event may be our own
 * (a continue, a step's), so QEMU's run state decides.
 */
void qvmid_kvmi_bp_resumed(struct qvmid_kvmi *k)
{
	struct json_object *r = NULL, *run;

	if (!k->gdb || qvmi__gdb_running(k->gdb) || k->stepping ||
	    !qvmi__ctx_qmp(k->ctx) ||
	    qvmi__qmp_execute(qvmi__ctx_qmp(k->ctx), "query-status", NULL, &r))
		return;
	if (json_object_object_get_ex(r, "running", &run) &&
	    json_object_get_boolean(run)) {
		qvmi__gdb_resumed_elsewhere(k->gdb);
		qvmid_kvmi_log(k, QVMI_LOG_DEBUG,
			       "kvmi: the VM was resumed elsewhere: the "
			       "gdbstub client waits for its next stop");
	}
	json_object_put(r);
}

bool qvmid_kvmi_gdb_usable(const struct qvmid_kvmi *k)
{
	return k->gdb && !qvmi__gdb_running(k->gdb) &&
	       (k->we_paused || k->bp_stopped);
}

/* ---- executable kernel aliases of a gpa ---- */

struct xr_build {
	struct qvmid_kvmi *k;
	size_t cap;
};

static int xr_add(const struct qvmi_page_range *r, void *arg)
{
	struct xr_build *b = arg;
	struct qvmid_kvmi *k = b->k;

	/* kernel half, supervisor, executable */
	if (!(r->va >> 63) || (r->flags & (QVMI_PTE_U | QVMI_PTE_NX)))
		return 0;
	if (k->nxr == b->cap) {
		struct kv_xrange *n;

		if (b->cap >= MAX_XRANGES)
			return -E2BIG;
		b->cap = b->cap ? b->cap * 2 : 256;
		n = realloc(k->xr, b->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		k->xr = n;
	}
	k->xr[k->nxr++] = (struct kv_xrange){ r->va, r->pa, r->size };
	return 0;
}

/* A vCPU in kernel mode (CPL 0) has the kernel's CR3 even with PTI. */
static int kernel_cr3(struct qvmid_kvmi *k, uint64_t *ret)
{
	int n = qvmid_kvmi_ncpus(k);

	for (int v = 0; v < n; v++) {
		const struct qvmi_kvmi_arch *a;

		if (!qvmid_kvmi_vcpu_state(k, (unsigned int)v, &a) &&
		    !(a->sregs.cs.selector & 3) && a->mode == 8) {
			*ret = a->sregs.cr3;
			return 0;
		}
	}
	return -ENOENT;
}

static int xr_build(struct qvmid_kvmi *k)
{
	struct xr_build b = { k, 0 };
	uint64_t cr3;
	int64_t t0 = qvmid_kvmi_now();
	int err = kernel_cr3(k, &cr3);

	free(k->xr);
	k->xr = NULL;
	k->nxr = 0;
	if (!err)
		err = qvmi_pages(k->ctx, cr3, xr_add, &b);
	qvmid_kvmi_log(k, err ? QVMI_LOG_WARN : QVMI_LOG_DEBUG,
		       "kvmi: %zu executable kernel ranges (%" PRId64
		       " ms)%s%s",
		       k->nxr, qvmid_kvmi_now() - t0, err ? ": " : "",
		       err ? strerror(-err) : "");
	return err;
}

static unsigned int aliases(struct qvmid_kvmi *k, uint64_t gpa, uint64_t *va)
{
	unsigned int n = 0;

	for (size_t i = 0; i < k->nxr && n < KV_MAX_ALIAS; i++)
		if (gpa >= k->xr[i].pa && gpa - k->xr[i].pa < k->xr[i].size)
			va[n++] = k->xr[i].va + (gpa - k->xr[i].pa);
	return n;
}

/* ---- planting and restoring ---- */

static struct kvbp *bp_find(struct qvmid_kvmi *k, uint64_t gpa)
{
	for (unsigned int i = 0; i < k->nbps; i++)
		if (k->bps[i].gpa == gpa)
			return &k->bps[i];
	return NULL;
}

static int bp_arm(struct qvmid_kvmi *k, struct kvbp *b)
{
	for (unsigned int i = 0; i < b->nva; i++) {
		int err = qvmi_bp_insert(k->ctx, QVMI_BP_SW, b->va[i], 1);

		if (err) {
			while (i-- > 0)
				qvmi_bp_remove(k->ctx, QVMI_BP_SW, b->va[i], 1);
			return err;
		}
	}
	b->armed = true;
	return 0;
}

static void bp_disarm(struct qvmid_kvmi *k, struct kvbp *b)
{
	for (unsigned int i = 0; i < b->nva && b->armed; i++)
		if (qvmi_bp_remove(k->ctx, QVMI_BP_SW, b->va[i], 1))
			qvmid_kvmi_log(k, QVMI_LOG_WARN,
				       "kvmi: removing the breakpoint at "
				       "0x%" PRIx64 ": %s",
				       b->va[i], qvmi_errmsg(k->ctx));
	b->armed = false;
}

/* A new planted gpa: its aliases (the map is rebuilt once on a miss, a
 * module may have loaded) and the original byte. */
static struct kvbp *bp_new(struct qvmid_kvmi *k, uint64_t gpa)
{
	struct kvbp *b;

	if (k->nbps >= KV_MAX_BPS)
		return NULL;
	b = &k->bps[k->nbps];
	memset(b, 0, sizeof(*b));
	b->gpa = gpa;
	if (!k->xr_built || !(b->nva = aliases(k, gpa, b->va))) {
		k->xr_built = !xr_build(k);
		b->nva = aliases(k, gpa, b->va);
	}
	if (!b->nva || qvmi_read_pa(k->ctx, gpa, &b->orig, 1))
		return NULL;
	k->nbps++;
	return b;
}

/*
 * A 1-byte WRITE_PHYSICAL with the gdbstub: 1 if handled here (the byte
 * was written, *err its result), 0 if it is an ordinary write.
 */
int qvmid_kvmi_bp_write(struct qvmid_kvmi *k, uint64_t gpa, uint8_t byte,
			int *err)
{
	struct kvbp *b;

	if (!k->gdb)
		return 0;
	b = bp_find(k, gpa);
	if (byte == 0xcc) {
		if (!b)
			b = bp_new(k, gpa);
		if (!b) {
			qvmid_kvmi_log(k, QVMI_LOG_WARN,
				       "kvmi: 0xCC at gpa 0x%" PRIx64
				       " has no executable kernel alias (or "
				       "too many breakpoints): a plain write",
				       gpa);
			return 0;
		}
		/* the Z0 first, then the byte */
		*err = b->armed ? 0 : bp_arm(k, b);
		if (!*err)
			*err = qvmi_write_pa(k->ctx, gpa, &byte, 1);
		return 1;
	}
	if (!b)
		return 0;
	/* a restore: the byte first, then the Z0 out */
	*err = qvmi_write_pa(k->ctx, gpa, &byte, 1);
	if (!*err) {
		bp_disarm(k, b);
		*b = k->bps[--k->nbps];
	}
	return 1;
}

/* ---- stops and events ---- */

static struct kvbp *bp_at_va(struct qvmid_kvmi *k, uint64_t va)
{
	for (unsigned int i = 0; i < k->nbps; i++)
		for (unsigned int j = 0; j < k->bps[i].nva; j++)
			if (k->bps[i].armed && k->bps[i].va[j] == va)
				return &k->bps[i];
	return NULL;
}

static void send_bp_event(struct qvmid_kvmi *k, unsigned int vcpu, uint64_t gpa)
{
	uint8_t spec[16] = { 0 };

	qvmi__kvmi_put64(spec, gpa);
	spec[8] = 1; /* int3 */
	qvmid_kvmi_state_flush(k);
	qvmid_kvmi_send_event(k, vcpu, QVMI_KVMI_EV_BREAKPOINT, spec, 16);
}

/* A step that left RIP where it was did not execute the instruction
 * (seen once in ~30 steps on QEMU 7.2 TCG, not explained): report it
 * failed rather than done. */
static void send_step_event(struct qvmid_kvmi *k, unsigned int vcpu,
			    bool failed)
{
	const struct qvmi_kvmi_arch *a;
	uint8_t spec[8] = { 0 };

	qvmid_kvmi_state_flush(k);
	if (!failed && k->step_rip_ok && !qvmid_kvmi_vcpu_state(k, vcpu, &a) &&
	    a->regs.rip == k->step_rip) {
		qvmid_kvmi_log(
			k, QVMI_LOG_WARN,
			"kvmi: the step of vCPU %u left RIP at 0x%" PRIx64
			": SINGLESTEP failed",
			vcpu, k->step_rip);
		failed = true;
	}
	spec[0] = failed;
	k->step_rip_ok = false;
	qvmid_kvmi_send_event(k, vcpu, QVMI_KVMI_EV_SINGLESTEP, spec, 8);
}

/* Let the vCPUs run (a continue steps the stopped vCPU over a Z0 under
 * it first: that executes the byte in memory). */
static void bp_resume(struct qvmid_kvmi *k)
{
	int64_t t0 = qvmid_kvmi_now();

	k->bp_stopped = false;
	qvmid_kvmi_state_flush(k);
	if (qvmi_vm_resume(k->ctx))
		qvmid_kvmi_log(k, QVMI_LOG_WARN, "kvmi: continue: %s",
			       qvmi_errmsg(k->ctx));
	if (qvmid_kvmi_now() - t0 > 100)
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: continuing the VM took %" PRId64 " ms",
			       qvmid_kvmi_now() - t0);
}

static bool ev_on(const struct qvmid_kvmi *k, unsigned int vcpu, uint8_t ev)
{
	return vcpu < k->ncpu && (k->cpu[vcpu].events & (1u << ev));
}

static int step_start(struct qvmid_kvmi *k, unsigned int vcpu);

/* A step that stopped where it began, once: step again (QEMU 7.2 TCG now
 * and then reports a stop at the old RIP right after a breakpoint there
 * was removed, before the instruction ran). */
static bool step_again(struct qvmid_kvmi *k, const struct qvmi_stop *st)
{
	if (k->step_retried || !k->step_rip_ok || st->vcpu != k->step_vcpu ||
	    st->rip != k->step_rip)
		return false;
	k->step_retried = true;
	qvmid_kvmi_log(k, QVMI_LOG_INFO,
		       "kvmi: the step of vCPU %u stopped at 0x%" PRIx64
		       " without moving: stepping again",
		       st->vcpu, st->rip);
	return !step_start(k, st->vcpu);
}

static void on_stop(struct qvmid_kvmi *k, const struct qvmi_stop *st, bool step)
{
	struct kvbp *b;

	if (st->reason == QVMI_STOP_EXITED)
		return;
	if (step) {
		if (st->vcpu != k->step_vcpu)
			qvmid_kvmi_log(
				k, QVMI_LOG_WARN,
				"kvmi: the step of vCPU %u ended with a "
				"stop of vCPU %u (reason %d, rip 0x%" PRIx64
				")",
				k->step_vcpu, st->vcpu, st->reason, st->rip);
		k->bp_stopped = true;
		if (step_again(k, st))
			return;
		send_step_event(k, k->step_vcpu,
				st->reason != QVMI_STOP_STEP &&
					st->reason != QVMI_STOP_BREAKPOINT);
		return;
	}
	if (st->reason != QVMI_STOP_BREAKPOINT) {
		qvmid_kvmi_log(
			k, QVMI_LOG_INFO,
			"kvmi: a stop of vCPU %u (reason %d, rip 0x%" PRIx64
			") that is not ours: left to whoever stopped it",
			st->vcpu, st->reason, st->rip);
		return;
	}
	b = bp_at_va(k, st->rip);
	if (!b || !ev_on(k, st->vcpu, QVMI_KVMI_EV_BREAKPOINT) || k->fd < 0 ||
	    k->stage != KV_READY) {
		/* KVM without the intercept: the guest takes its int3 */
		qvmid_kvmi_log(k, QVMI_LOG_INFO,
			       "kvmi: breakpoint at 0x%" PRIx64
			       " with BREAKPOINT events off: continuing",
			       st->rip);
		bp_resume(k);
		return;
	}
	k->bp_stopped = true;
	send_bp_event(k, st->vcpu, b->gpa);
}

static void step_timed_out(struct qvmid_kvmi *k)
{
	struct qvmi_stop st = { .vcpu = k->step_vcpu };

	k->stepping = false;
	qvmid_kvmi_log(k, QVMI_LOG_WARN,
		       "kvmi: the step of vCPU %u did not end in %d ms "
		       "(halted?): SINGLESTEP failed",
		       k->step_vcpu, STEP_TIMEOUT_MS);
	if (qvmi__gdb_interrupt(k->gdb))
		return;
	if (qvmi__gdb_poll_stop(k->gdb, &st) != 1)
		st.reason = QVMI_STOP_INTERRUPT;
	on_stop(k, &st, true);
}

void qvmid_kvmi_bp_poll(struct qvmid_kvmi *k, int64_t *next_ms)
{
	struct qvmi_stop st;

	if (!k->gdb)
		return;
	for (int i = 0; i < 8; i++) {
		int r = qvmi__gdb_poll_stop(k->gdb, &st);
		bool step = k->stepping;

		if (r < 0)
			qvmid_kvmi_log(k, QVMI_LOG_WARN, "kvmi: gdbstub: %s",
				       qvmi_errmsg(k->ctx));
		if (r <= 0)
			break;
		k->stepping = false;
		qvmi_cache_flush(k->ctx);
		on_stop(k, &st, step);
	}
	if (k->stepping && qvmid_kvmi_now() >= k->step_deadline)
		step_timed_out(k);
	if (k->stepping && next_ms)
		*next_ms = QVMI_MIN(*next_ms, k->step_deadline);
}

static int step_start(struct qvmid_kvmi *k, unsigned int vcpu)
{
	const struct qvmi_kvmi_arch *a;
	int err;

	/* where it starts, to tell a step that did not move (a retry keeps
	 * the first one's) */
	if (!k->step_retried || !k->step_rip_ok) {
		k->step_rip_ok = !qvmid_kvmi_vcpu_state(k, vcpu, &a);
		k->step_rip = k->step_rip_ok ? a->regs.rip : 0;
	}
	err = qvmi__gdb_step_start(k->gdb, vcpu);

	if (err) {
		qvmid_kvmi_log(k, QVMI_LOG_WARN, "kvmi: step vCPU %u: %s", vcpu,
			       qvmi_errmsg(k->ctx));
		return err;
	}
	qvmid_kvmi_state_flush(k);
	k->stepping = true;
	k->step_vcpu = vcpu;
	k->step_deadline = qvmid_kvmi_now() + STEP_TIMEOUT_MS;
	return 0;
}

/*
 * The reply to a BREAKPOINT or SINGLESTEP event of vcpu.  Returns true
 * when the VM's fate is decided here (stepping, re-reported); false: the
 * caller may let it run once no other event waits.
 */
bool qvmid_kvmi_bp_reply(struct qvmid_kvmi *k, unsigned int vcpu, uint8_t ev,
			 uint8_t action)
{
	struct kvcpu *c = &k->cpu[vcpu];
	const struct qvmi_kvmi_arch *a;
	uint64_t gpa;
	struct kvbp *b;

	if (ev != QVMI_KVMI_EV_BREAKPOINT && ev != QVMI_KVMI_EV_SINGLESTEP)
		return false;
	if (c->sstep &&
	    (ev == QVMI_KVMI_EV_SINGLESTEP || action == QVMI_KVMI_RETRY)) {
		k->step_retried = false;
		if (!step_start(k, vcpu))
			return true;
		send_step_event(k, vcpu, true);
		return true;
	}
	if (ev == QVMI_KVMI_EV_BREAKPOINT && action == QVMI_KVMI_RETRY &&
	    !qvmid_kvmi_vcpu_state(k, vcpu, &a) &&
	    (b = bp_at_va(k, a->regs.rip)) != NULL &&
	    !qvmi_read_pa(k->ctx, b->gpa, &gpa, 1) && (uint8_t)gpa == 0xcc) {
		/* still planted at RIP: executing it again traps again */
		send_bp_event(k, vcpu, b->gpa);
		return true;
	}
	return false;
}

/* Nothing of ours keeps the VM stopped any more. */
void qvmid_kvmi_bp_release(struct qvmid_kvmi *k)
{
	if (k->bp_stopped && !k->stepping)
		bp_resume(k);
}

int qvmid_kvmi_singlestep(struct qvmid_kvmi *k, unsigned int vcpu, bool enable)
{
	if (!k->gdb)
		return -QVMI_KVM_EOPNOTSUPP;
	k->cpu[vcpu].sstep = enable;
	return 0;
}

/* The connection ends: Z0s out, and bytes the tool left planted are
 * restored (KVMi would leave them; a bare int3 would oops the guest).
 * The ledger (k->bps) names every Z0 we planted.  The stub takes no
 * packet while the VM runs, so it is held stopped for the removal (a
 * real stop that comes instead is ours to continue: bp_poll). */
void qvmid_kvmi_bp_drop(struct qvmid_kvmi *k)
{
	struct qvmi_stop st;
	bool held = false;

	if (!k->gdb)
		return;
	if (k->nbps && qvmi__gdb_hold(k->gdb, &held))
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: stopping the VM to remove breakpoints: "
			       "%s",
			       qvmi_errmsg(k->ctx));
	if (k->stepping) {
		k->stepping = false;
		if (!qvmi__gdb_interrupt(k->gdb))
			while (qvmi__gdb_poll_stop(k->gdb, &st) == 1)
				;
		k->bp_stopped = true;
	}
	for (unsigned int i = 0; i < k->nbps; i++) {
		struct kvbp *b = &k->bps[i];
		uint8_t now = 0;

		if (!qvmi_read_pa(k->ctx, b->gpa, &now, 1) && now == 0xcc &&
		    !qvmi_write_pa(k->ctx, b->gpa, &b->orig, 1))
			qvmid_kvmi_log(k, QVMI_LOG_INFO,
				       "kvmi: restored the byte under the "
				       "tool's int3 at gpa 0x%" PRIx64,
				       b->gpa);
		bp_disarm(k, b);
	}
	k->nbps = 0;
	for (unsigned int i = 0; i < k->ncpu; i++)
		k->cpu[i].sstep = false;
	if (held && qvmi__gdb_release(k->gdb, held))
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: resuming after the breakpoints' removal: "
			       "%s",
			       qvmi_errmsg(k->ctx));
}
