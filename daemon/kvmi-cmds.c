// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVMi commands (docs/KVMI.md), each backed by what stock QEMU has.  The
 * request was validated by qvmi__kvmi_req_check (sizes, vCPU header
 * padding); here come the command's own checks, answered -KVM_EINVAL as
 * the kvmi-v7 kernel does.
 *
 * Pausing: stock QEMU stops the whole VM, not one vCPU.  The first
 * PAUSE_VCPU stops it (QMP stop); each PAUSE_VCPU then gets its
 * PAUSE_VCPU event with that vCPU's state, and once every event this
 * connection sent is answered the VM continues, unless someone else had
 * stopped it first.  That is what libkvmi's kvmi_pause_all_vcpus and
 * LibVMI's pause/resume expect.
 */
#include <stdlib.h>
#include <string.h>

#include "kvmi-int.h"

/* Events stock QEMU can never produce (no intercept for them). */
static bool ev_impossible(uint16_t ev)
{
	switch (ev) {
	case QVMI_KVMI_EV_CR:
	case QVMI_KVMI_EV_MSR:
	case QVMI_KVMI_EV_XSETBV:
	case QVMI_KVMI_EV_HYPERCALL:
	case QVMI_KVMI_EV_PF:
	case QVMI_KVMI_EV_TRAP:
	case QVMI_KVMI_EV_DESCRIPTOR:
	case QVMI_KVMI_EV_CPUID:
		return true;
	}
	return false;
}

bool qvmid_kvmi_ev_supported(const struct qvmid_kvmi *k, uint16_t ev)
{
	if (ev == QVMI_KVMI_EV_BREAKPOINT || ev == QVMI_KVMI_EV_SINGLESTEP)
		return k->gdb != NULL;
	return ev == QVMI_KVMI_EV_PAUSE_VCPU || ev == QVMI_KVMI_EV_UNHOOK;
}

bool qvmid_kvmi_cmd_supported(const struct qvmid_kvmi *k, uint16_t id)
{
	if (id == QVMI_KVMI_VCPU_CONTROL_SINGLESTEP ||
	    id == QVMI_KVMI_SET_REGISTERS)
		return k->gdb != NULL;
	switch (id) {
	case QVMI_KVMI_EVENT_REPLY:
	case QVMI_KVMI_GET_VERSION:
	case QVMI_KVMI_CHECK_COMMAND:
	case QVMI_KVMI_CHECK_EVENT:
	case QVMI_KVMI_GET_GUEST_INFO:
	case QVMI_KVMI_GET_VCPU_INFO: /* -EOPNOTSUPP when QEMU has no TSC
				       * frequency (TCG) */
	case QVMI_KVMI_PAUSE_VCPU:
	case QVMI_KVMI_CONTROL_EVENTS:
	case QVMI_KVMI_CONTROL_VM_EVENTS:
	case QVMI_KVMI_GET_REGISTERS:
	case QVMI_KVMI_READ_PHYSICAL:
	case QVMI_KVMI_WRITE_PHYSICAL:
	case QVMI_KVMI_CONTROL_CMD_RESPONSE:
	case QVMI_KVMI_GET_MAX_GFN:
	case QVMI_KVMI_VCPU_TRANSLATE_GVA:
		return true;
	}
	return false;
}

static bool always_allowed(uint16_t id)
{
	return id == QVMI_KVMI_GET_VERSION || id == QVMI_KVMI_CHECK_COMMAND ||
	       id == QVMI_KVMI_CHECK_EVENT || id == QVMI_KVMI_EVENT_REPLY;
}

static bool cmd_allowed(const struct qvmid_kvmi *k, uint16_t id)
{
	return always_allowed(id) || !k->o.cmd_list_set ||
	       (id < QVMID_KVMI_IDS && k->o.cmd_allowed[id]);
}

static bool ev_allowed(const struct qvmid_kvmi *k, uint16_t ev)
{
	return !k->o.ev_list_set ||
	       (ev < QVMID_KVMI_EVENTS && k->o.ev_allowed[ev]);
}

/* --kvmi-unsupported accept: 0 and a log line the first time. */
static int accept_unsupported(struct qvmid_kvmi *k, uint16_t id,
			      const char *what)
{
	k->st.unsupported++;
	if (!k->o.accept_unsupported)
		return -QVMI_KVM_EOPNOTSUPP;
	if (!k->warned[id])
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: accepting %s (--kvmi-unsupported "
			       "accept): stock QEMU cannot intercept it, it "
			       "will never fire",
			       what);
	k->warned[id] = true;
	return 0;
}

static int check_cmd(struct qvmid_kvmi *k, const uint8_t *p, bool event)
{
	uint16_t id = qvmi__kvmi_u16(p);

	if (qvmi__kvmi_u16(p + 2) || qvmi__kvmi_u32(p + 4))
		return -EINVAL;
	if (event) {
		if (id >= QVMI_KVMI_NUM_EVENTS)
			return -EINVAL;
		if (!ev_allowed(k, id))
			return -EPERM;
		return qvmid_kvmi_ev_supported(k, id) ? 0 :
							-QVMI_KVM_EOPNOTSUPP;
	}
	if (!cmd_allowed(k, id))
		return -EPERM;
	return qvmid_kvmi_cmd_supported(k, id) ? 0 : -QVMI_KVM_EOPNOTSUPP;
}

static int vcpu_arg(struct qvmid_kvmi *k, const uint8_t *p)
{
	unsigned int v = qvmi__kvmi_vcpu_of(p);
	int n = qvmid_kvmi_ncpus(k);

	if (n < 0)
		return n == -ENOMEM ? -ENOMEM : -EAGAIN;
	return v < (unsigned int)n ? (int)v : -EINVAL;
}

/* Send the next owed PAUSE_VCPU event of each vCPU without one out.  A
 * vCPU in a single-step is running its instruction: its SINGLESTEP event
 * comes first, as on KVM, and the pause after that event's reply (else
 * the SINGLESTEP took the pending slot and the tool's PAUSE reply matched
 * nothing: LibVMI's recoil example pausing at its end). */
static void pause_events(struct qvmid_kvmi *k)
{
	for (unsigned int i = 0; i < k->ncpu; i++) {
		struct kvcpu *c = &k->cpu[i];

		if (k->stepping && k->step_vcpu == i)
			continue;
		if (c->pauses && !c->ev_pending) {
			c->pauses--;
			qvmid_kvmi_send_event(k, i, QVMI_KVMI_EV_PAUSE_VCPU,
					      NULL, 0);
		}
	}
}

/* Continue the VM once nothing of ours keeps it stopped. */
static void maybe_resume(struct qvmid_kvmi *k)
{
	int err;

	for (unsigned int i = 0; i < k->ncpu; i++)
		if (k->cpu[i].ev_pending || k->cpu[i].pauses)
			return;
	if (k->mgmt_paused) { /* management's to continue */
		k->mgmt_paused = false;
		qvmid_kvmi_state_flush(k);
		return;
	}
	if ((!k->we_paused && !k->bp_stopped) || k->stepping)
		return;
	if (!k->we_paused) { /* stopped at a breakpoint or a step */
		qvmid_kvmi_bp_release(k);
		return;
	}
	k->bp_stopped = false;
	qvmid_kvmi_state_flush(k);
	k->we_paused = false;
	err = qvmi_vm_resume(k->ctx);
	if (err)
		qvmid_kvmi_log(k, QVMI_LOG_WARN, "kvmi: resume: %s",
			       qvmi_errmsg(k->ctx));
}

static int cmd_pause(struct qvmid_kvmi *k, const uint8_t *p)
{
	enum qvmi_vm_state st;
	int v = vcpu_arg(k, p), err;

	if (v < 0)
		return v;
	if (p[9] || qvmi__kvmi_u16(p + 10) || qvmi__kvmi_u32(p + 12) ||
	    p[8] > 1)
		return -EINVAL;
	if (!k->we_paused && !k->bp_stopped && !k->mgmt_paused) {
		err = qvmi_vm_state(k->ctx, &st);
		if (!err && st == QVMI_VM_RUNNING) {
			err = qvmi_vm_pause(k->ctx);
			if (err)
				return -EAGAIN;
			k->we_paused = true;
		}
		qvmid_kvmi_state_flush(k);
	}
	k->cpu[v].pauses++;
	return 0;
}

static void cmd_event_reply(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
			    const uint8_t *p)
{
	struct qvmi_kvmi_ev_reply r;
	struct kvcpu *c;

	qvmi__kvmi_ev_reply_decode(p, h->size, &r);
	c = r.vcpu < k->ncpu ? &k->cpu[r.vcpu] : NULL;
	/* The kernel closes on a reply that matches no waiting event. */
	if (!c || !c->ev_pending || h->seq != c->ev_seq ||
	    r.event != c->ev_id || r.spec_len) {
		k->st.bad_frames++;
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: EVENT_REPLY vcpu %u event %u seq %u "
			       "matches no pending event",
			       r.vcpu, r.event, h->seq);
		qvmid_kvmi_close(k, "bad event reply");
		return;
	}
	if (r.action > QVMI_KVMI_RETRY) {
		qvmid_kvmi_close(k, r.action == QVMI_KVMI_CRASH ?
					    "CRASH action (not supported by "
					    "qvmid)" :
					    "unknown event action");
		return;
	}
	k->st.replies++;
	c->ev_pending = false;
	if (qvmid_kvmi_bp_reply(k, r.vcpu, r.event, r.action))
		return; /* stepping, or reported again */
	pause_events(k);
	maybe_resume(k);
}

static int cmd_control_events(struct qvmid_kvmi *k, const uint8_t *p, bool vm)
{
	const uint8_t *q = vm ? p : p + QVMI_KVMI_VCPU_HDR;
	uint16_t ev = qvmi__kvmi_u16(q);
	uint8_t enable = q[2];

	if (!vm && vcpu_arg(k, p) < 0)
		return -EINVAL;
	if (enable > 1 || q[3] || qvmi__kvmi_u32(q + 4) ||
	    ev >= QVMI_KVMI_NUM_EVENTS)
		return -EINVAL;
	if (!ev_allowed(k, ev))
		return -EPERM;
	if (vm) { /* UNHOOK is the only VM event */
		if (ev != QVMI_KVMI_EV_UNHOOK)
			return -EINVAL;
		k->vm_events = enable ? k->vm_events | 1u << ev :
					k->vm_events & ~(1u << ev);
		return 0;
	}
	if (ev == QVMI_KVMI_EV_PAUSE_VCPU)
		return 0; /* always delivered, as in the kernel */
	if (qvmid_kvmi_ev_supported(k, ev)) {
		struct kvcpu *c = &k->cpu[qvmi__kvmi_vcpu_of(p)];

		c->events = enable ? c->events | 1u << ev :
				     c->events & ~(1u << ev);
		return 0;
	}
	if (!enable && ev_impossible(ev))
		return 0; /* off is the truth */
	if (ev_impossible(ev))
		return accept_unsupported(k, QVMI_KVMI_CONTROL_EVENTS,
					  "CONTROL_EVENTS for CR/MSR/PF/... "
					  "events");
	return -QVMI_KVM_EOPNOTSUPP;
}

static void cmd_get_registers(struct qvmid_kvmi *k,
			      const struct qvmi_kvmi_hdr *h, const uint8_t *p)
{
	unsigned int n = qvmi__kvmi_u16(p + 8);
	size_t len = QVMI_KVMI_REGS_FIXED + (size_t)n * QVMI_KVMI_MSR_ENTRY;
	size_t off = QVMI_KVMI_HDR + QVMI_KVMI_ERR;
	int v = vcpu_arg(k, p), err = 0;
	uint8_t *b;

	if (v < 0 || n > QVMI_KVMI_MAX_MSRS || qvmi__kvmi_u16(p + 10) ||
	    qvmi__kvmi_u32(p + 12))
		err = -EINVAL;
	if (err || k->replies_off) {
		qvmid_kvmi_reply(k, h, err, NULL, 0);
		return;
	}
	b = qvmid_kvmi_reserve(k, off + len);
	if (!b)
		return;
	err = qvmid_kvmi_get_registers(k, (unsigned int)v, p + 16, n, b + off);
	/* the fixed header/err code after the data is built */
	qvmi__kvmi_reply_encode(b, h->id, h->seq, err, len);
	qvmid_kvmi_commit(k, off + (err ? 0 : len));
}

/* 0 < size <= 4096 and within one page (kvmi-v7 kvmi_cmd_read_physical). */
static bool phys_ok(uint64_t gpa, uint64_t size)
{
	return size && size <= QVMI_KVMI_PAGE &&
	       (gpa & (QVMI_KVMI_PAGE - 1)) + size <= QVMI_KVMI_PAGE;
}

static void cmd_read_physical(struct qvmid_kvmi *k,
			      const struct qvmi_kvmi_hdr *h, const uint8_t *p)
{
	uint64_t gpa = qvmi__kvmi_u64(p), size = qvmi__kvmi_u64(p + 8);
	size_t off = QVMI_KVMI_HDR + QVMI_KVMI_ERR;
	uint8_t *b;
	int err;

	if (!phys_ok(gpa, size) || k->replies_off) {
		qvmid_kvmi_reply(k, h, phys_ok(gpa, size) ? 0 : -EINVAL, NULL,
				 0);
		return;
	}
	b = qvmid_kvmi_reserve(k, off + size);
	if (!b)
		return;
	err = qvmi_read_pa(k->ctx, gpa, b + off, size) ? -EFAULT : 0;
	qvmi__kvmi_reply_encode(b, h->id, h->seq, err, size);
	qvmid_kvmi_commit(k, off + (err ? 0 : size));
}

static int cmd_write_physical(struct qvmid_kvmi *k, const uint8_t *p)
{
	uint64_t gpa = qvmi__kvmi_u64(p), size = qvmi__kvmi_u64(p + 8);
	int err;

	if (!phys_ok(gpa, size))
		return -EINVAL;
	/* an int3 planted or restored (kvmi-bp.c) */
	if (size == 1 && qvmid_kvmi_bp_write(k, gpa, p[16], &err))
		return err ? -EFAULT : 0;
	return qvmi_write_pa(k->ctx, gpa, p + 16, size) ? -EFAULT : 0;
}

static int cmd_max_gfn(struct qvmid_kvmi *k, uint8_t out[8])
{
	uint64_t end = 0;

	for (size_t i = 0; i < qvmi_ram_count(k->ctx); i++) {
		struct qvmi_ram_range r;

		if (!qvmi_ram_get(k->ctx, i, &r) && r.gpa + r.size > end)
			end = r.gpa + r.size;
	}
	if (!end)
		return -ENOENT;
	qvmi__kvmi_put64(out, (end + QVMI_KVMI_PAGE - 1) / QVMI_KVMI_PAGE);
	return 0;
}

static int cmd_translate(struct qvmid_kvmi *k, const uint8_t *p, uint8_t out[8])
{
	const struct qvmi_kvmi_arch *a;
	uint64_t gpa;
	int v = vcpu_arg(k, p), err;

	if (v < 0)
		return v;
	err = qvmid_kvmi_vcpu_state(k, (unsigned int)v, &a);
	if (err)
		return err == -EOPNOTSUPP ? -QVMI_KVM_EOPNOTSUPP : -EAGAIN;
	/* kvm_mmu_gva_to_gpa_system: UNMAPPED_GVA (~0), not an error */
	if (qvmi_translate(k->ctx, a->sregs.cr3, qvmi__kvmi_u64(p + 8), &gpa))
		gpa = ~0ull;
	qvmi__kvmi_put64(out, gpa);
	return 0;
}

static void cmd_response(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
			 const uint8_t *p)
{
	if (p[0] > 1 || p[1] > 1 || qvmi__kvmi_u16(p + 2) ||
	    qvmi__kvmi_u32(p + 4)) {
		qvmid_kvmi_reply(k, h, -EINVAL, NULL, 0);
		return;
	}
	/* now == 1: the new setting covers this command's own reply */
	if (p[1])
		k->replies_off = !p[0];
	qvmid_kvmi_reply(k, h, 0, NULL, 0);
	if (!p[1])
		k->replies_off = !p[0];
}

static int simple_cmd(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
		      const uint8_t *p, uint8_t *out, size_t *out_len)
{
	switch (h->id) {
	case QVMI_KVMI_GET_VERSION: /* features (spp, vmfunc, eptp, ve) 0 */
		memset(out, 0, 16);
		qvmi__kvmi_put32(out, QVMI_KVMI_VERSION);
		*out_len = 16;
		return 0;
	case QVMI_KVMI_CHECK_COMMAND:
	case QVMI_KVMI_CHECK_EVENT:
		return check_cmd(k, p, h->id == QVMI_KVMI_CHECK_EVENT);
	case QVMI_KVMI_GET_GUEST_INFO: {
		int n = qvmi_vcpu_count(k->ctx);

		memset(out, 0, 16);
		qvmi__kvmi_put32(out, n > 0 ? (uint32_t)n : 0);
		*out_len = 16;
		return n > 0 ? 0 : -EAGAIN;
	}
	case QVMI_KVMI_PAUSE_VCPU:
		return cmd_pause(k, p);
	case QVMI_KVMI_CONTROL_EVENTS:
	case QVMI_KVMI_CONTROL_VM_EVENTS:
		return cmd_control_events(k, p,
					  h->id == QVMI_KVMI_CONTROL_VM_EVENTS);
	case QVMI_KVMI_WRITE_PHYSICAL:
		return cmd_write_physical(k, p);
	case QVMI_KVMI_GET_MAX_GFN:
		*out_len = 8;
		return cmd_max_gfn(k, out);
	case QVMI_KVMI_VCPU_TRANSLATE_GVA:
		*out_len = 8;
		return cmd_translate(k, p, out);
	case QVMI_KVMI_CONTROL_CR:
	case QVMI_KVMI_CONTROL_MSR:
		if (!p[8]) /* disabling: nothing ever fires */
			return 0;
		return accept_unsupported(k, h->id,
					  h->id == QVMI_KVMI_CONTROL_CR ?
						  "CONTROL_CR" :
						  "CONTROL_MSR");
	case QVMI_KVMI_SET_PAGE_ACCESS:
		return accept_unsupported(k, h->id, "SET_PAGE_ACCESS");
	case QVMI_KVMI_SET_REGISTERS: {
		int v = vcpu_arg(k, p);

		return v < 0 ? v :
			       qvmid_kvmi_set_registers(k, (unsigned int)v,
							p + QVMI_KVMI_VCPU_HDR);
	}
	case QVMI_KVMI_GET_VCPU_INFO: {
		int v = vcpu_arg(k, p);
		uint64_t tsc = 0;
		int err =
			v < 0 ? v :
				qvmid_kvmi_tsc_speed(k, (unsigned int)v, &tsc);

		qvmi__kvmi_put64(out, tsc);
		*out_len = 8;
		return err;
	}
	case QVMI_KVMI_VCPU_CONTROL_SINGLESTEP: {
		int v = vcpu_arg(k, p);

		if (v < 0)
			return v;
		if (p[8] > 1 || p[9] || qvmi__kvmi_u16(p + 10) ||
		    qvmi__kvmi_u32(p + 12))
			return -EINVAL;
		return qvmid_kvmi_singlestep(k, (unsigned int)v, p[8]);
	}
	}
	k->st.unsupported++;
	return -QVMI_KVM_EOPNOTSUPP;
}

void qvmid_kvmi_command(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
			const uint8_t *p)
{
	uint8_t out[16];
	size_t out_len = 0;
	int err;

	if (!cmd_allowed(k, h->id)) {
		k->st.denied++;
		qvmid_kvmi_reply(k, h, -EPERM, NULL, 0);
		return;
	}
	switch (h->id) {
	case QVMI_KVMI_EVENT_REPLY:
		cmd_event_reply(k, h, p);
		return;
	case QVMI_KVMI_CONTROL_CMD_RESPONSE:
		cmd_response(k, h, p);
		return;
	case QVMI_KVMI_GET_REGISTERS:
		cmd_get_registers(k, h, p);
		return;
	case QVMI_KVMI_READ_PHYSICAL:
		cmd_read_physical(k, h, p);
		return;
	}
	err = simple_cmd(k, h, p, out, &out_len);
	qvmid_kvmi_reply(k, h, err, out, out_len);
	if (h->id == QVMI_KVMI_PAUSE_VCPU && !err)
		pause_events(k); /* after the reply, as the vCPU would */
}

void qvmid_kvmi_release(struct qvmid_kvmi *k)
{
	bool paused = k->we_paused;

	for (unsigned int i = 0; i < k->ncpu; i++) {
		k->cpu[i].ev_pending = false;
		k->cpu[i].pauses = 0;
		k->cpu[i].events = 0;
	}
	k->vm_events = 0;
	k->mgmt_paused = false;
	qvmid_kvmi_bp_drop(k);
	if (paused)
		qvmid_kvmi_log(k, QVMI_LOG_INFO,
			       "kvmi: the connection ends with the VM stopped "
			       "by it: continuing it");
	maybe_resume(k);
}
