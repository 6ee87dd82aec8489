// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vCPU state for KVMi: struct kvm_regs, kvm_sregs and the event's MSRs,
 * from what stock QEMU 7.2 shows.  One HMP "info registers N" gives the
 * general registers, control registers, EFER and every segment with its
 * cached base, limit and attributes (proto/kvmi-sregs.c).  What it does
 * not show, and what is answered instead (docs/KVMI.md "Fidelity"):
 *  - CR8 and apic_base: 0 (no stock read path); interrupt_bitmap: 0.
 *  - STAR, LSTAR, CSTAR, SYSENTER_CS/ESP/EIP, PAT, KERNEL_GS_BASE: no
 *    stock read path in QMP, HMP or the gdbstub (k_gs_base is in the
 *    gdbstub's XML, but qvmid's KVMi front-end does not attach it).  In
 *    GET_REGISTERS they answer -KVM_EINVAL (as the kernel does for an MSR
 *    it cannot read) unless the operator chose --kvmi-unknown-msr zero;
 *    in the event's arch part they read 0, and qvmid logs that once per
 *    connection.
 * The state is cached per vCPU while this connection keeps the VM
 * stopped: it cannot change then, and LibVMI asks for it five times per
 * process list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kvmi-int.h"
#include "attach/qvmid.h"
#include "proto/hmp.h"
#include "proto/kvmi-sregs.h"
#include "proto/qmp.h"

enum {
	MSR_SYSENTER_CS = 0x174,
	MSR_SYSENTER_ESP = 0x175,
	MSR_SYSENTER_EIP = 0x176,
	MSR_PAT = 0x277,
	MSR_EFER = 0xc0000080,
	MSR_STAR = 0xc0000081,
	MSR_LSTAR = 0xc0000082,
	MSR_CSTAR = 0xc0000083,
	MSR_FS_BASE = 0xc0000100,
	MSR_GS_BASE = 0xc0000101,
	MSR_KERNEL_GS_BASE = 0xc0000102,
};

static void fill_regs(struct kvm_regs *k, const struct qvmi_regs_x86 *r)
{
	k->rax = r->rax, k->rbx = r->rbx, k->rcx = r->rcx, k->rdx = r->rdx;
	k->rsi = r->rsi, k->rdi = r->rdi, k->rsp = r->rsp, k->rbp = r->rbp;
	k->r8 = r->r8, k->r9 = r->r9, k->r10 = r->r10, k->r11 = r->r11;
	k->r12 = r->r12, k->r13 = r->r13, k->r14 = r->r14, k->r15 = r->r15;
	k->rip = r->rip, k->rflags = r->rflags;
}

/* KVMi's mode (kvmi-v7 arch/x86/kvm/kvmi.c, kvmi_vcpu_mode): 8 in long
 * mode with CS.L, 4 in protected mode with CS.DB, else 2. */
static uint8_t vcpu_mode(const struct kvm_sregs *s)
{
	if (!(s->cr0 & 1))
		return 2;
	if ((s->efer & (1u << 10)) && s->cs.l)
		return 8;
	return s->cs.db ? 4 : 2;
}

/* What the gdbstub adds to either path: CR8 and KERNEL_GS_BASE. */
static void from_gdb(struct kvcpu *c, struct qvmi_kvmi_arch *a,
		     const struct qvmi_regs_x86 *r)
{
	if (r->valid & QVMI_REGS_CR8)
		a->sregs.cr8 = r->cr8;
	c->kgs_ok = r->valid & QVMI_REGS_KGS;
	a->msrs.shadow_gs = c->kgs_ok ? r->kernel_gs_base : 0;
}

/*
 * With the gdbstub: one 'g' (~0.5 ms, QEMU 7.2 TCG) instead of HMP
 * (~1.2 ms), when the six selectors, CR0 and EFER are those of this
 * vCPU's last HMP read.  A loaded selector's hidden part is the GDT (or
 * LDT) entry it names, which Linux does not rewrite for loaded kernel or
 * user selectors; FS and GS bases come from the stub.  LDTR and TR are
 * not in the stub's registers and are taken as they were (Linux loads TR
 * once per CPU; an LDT change needs modify_ldt).  1: use HMP instead.
 */
static int read_state_gdb(struct qvmid_kvmi *k, unsigned int vcpu,
			  struct qvmi_kvmi_arch *a)
{
	struct kvcpu *c = &k->cpu[vcpu];
	const struct kvm_sregs *s = &c->segs;
	uint64_t need = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_CR |
			QVMI_REGS_BASES;
	struct qvmi_regs_x86 r;
	int err;

	if (!qvmid_kvmi_gdb_usable(k) || !c->segs_ok)
		return 1;
	err = qvmi_get_regs(k->ctx, vcpu, &r);
	if (err)
		return err;
	if ((r.valid & need) != need || r.cs != s->cs.selector ||
	    r.ss != s->ss.selector || r.ds != s->ds.selector ||
	    r.es != s->es.selector || r.fs != s->fs.selector ||
	    r.gs != s->gs.selector || r.cr0 != s->cr0 || r.efer != s->efer)
		return 1;
	memset(a, 0, sizeof(*a));
	a->sregs = *s;
	a->sregs.fs.base = r.fs_base, a->sregs.gs.base = r.gs_base;
	a->sregs.cr2 = r.cr2, a->sregs.cr3 = r.cr3, a->sregs.cr4 = r.cr4;
	fill_regs(&a->regs, &r);
	a->mode = vcpu_mode(&a->sregs);
	a->msrs.efer = r.efer;
	from_gdb(c, a, &r);
	return 0;
}

static int read_state(struct qvmid_kvmi *k, unsigned int vcpu,
		      struct qvmi_kvmi_arch *a)
{
	struct qvmi_regs_x86 r;
	char cmd[40], *text = NULL;
	int err = read_state_gdb(k, vcpu, a);

	if (err <= 0)
		return err;

	if (!qvmi__ctx_qmp(k->ctx))
		return -EOPNOTSUPP;
	snprintf(cmd, sizeof(cmd), "info registers %u", vcpu);
	err = qvmi__qmp_hmp(qvmi__ctx_qmp(k->ctx), cmd, &text);
	if (!err)
		err = qvmi__hmp_parse_registers_cpu(text, vcpu, &r);
	if (!err)
		err = qvmi__kvmi_parse_sregs(text, vcpu, &a->sregs);
	free(text);
	if (err)
		return err;
	memset(a, 0, offsetof(struct qvmi_kvmi_arch, sregs));
	fill_regs(&a->regs, &r);
	a->sregs.cr0 = r.cr0, a->sregs.cr2 = r.cr2, a->sregs.cr3 = r.cr3;
	a->sregs.cr4 = r.cr4, a->sregs.efer = r.efer;
	a->mode = vcpu_mode(&a->sregs);
	memset(&a->msrs, 0, sizeof(a->msrs));
	a->msrs.efer = r.efer;
	k->cpu[vcpu].segs = a->sregs;
	k->cpu[vcpu].segs_ok = true;
	k->cpu[vcpu].kgs_ok = false; /* only the stub has it */
	if (qvmid_kvmi_gdb_usable(k) && !qvmi_get_regs(k->ctx, vcpu, &r))
		from_gdb(&k->cpu[vcpu], a, &r);
	return 0;
}

int qvmid_kvmi_ncpus(struct qvmid_kvmi *k)
{
	int n;

	if (k->cpu)
		return (int)k->ncpu;
	n = qvmi_vcpu_count(k->ctx);
	if (n <= 0)
		return n ? n : -ENOENT;
	if (n > KV_MAX_VCPUS)
		n = KV_MAX_VCPUS;
	k->cpu = calloc((size_t)n, sizeof(*k->cpu));
	if (!k->cpu)
		return -ENOMEM;
	k->ncpu = (unsigned int)n;
	return n;
}

int qvmid_kvmi_vcpu_state(struct qvmid_kvmi *k, unsigned int vcpu,
			  const struct qvmi_kvmi_arch **ret)
{
	int n = qvmid_kvmi_ncpus(k);
	struct kvcpu *c;
	int err;

	if (n < 0)
		return n;
	if (vcpu >= k->ncpu)
		return -ENOENT;
	c = &k->cpu[vcpu];
	if (!c->state_ok ||
	    (!k->we_paused && !k->bp_stopped && !k->mgmt_paused)) {
		err = read_state(k, vcpu, &c->arch);
		if (err)
			return err;
		c->state_ok = k->we_paused || k->bp_stopped || k->mgmt_paused;
	}
	*ret = &c->arch;
	return 0;
}

void qvmid_kvmi_state_flush(struct qvmid_kvmi *k)
{
	for (unsigned int i = 0; i < k->ncpu; i++)
		k->cpu[i].state_ok = false;
}

/* One requested MSR: 0 and *ret, or -EINVAL when stock QEMU has no
 * read path for it. */
static int msr_value(struct qvmid_kvmi *k, unsigned int vcpu,
		     const struct qvmi_kvmi_arch *a, uint32_t idx,
		     uint64_t *ret)
{
	switch (idx) {
	case MSR_EFER:
		*ret = a->sregs.efer;
		return 0;
	case MSR_FS_BASE:
		*ret = a->sregs.fs.base;
		return 0;
	case MSR_GS_BASE:
		*ret = a->sregs.gs.base;
		return 0;
	case MSR_KERNEL_GS_BASE: /* the gdbstub's k_gs_base */
		if (!k->cpu[vcpu].kgs_ok)
			break;
		*ret = a->msrs.shadow_gs;
		return 0;
	}
	if (!k->o.unknown_msr_zero)
		return -EINVAL;
	if (!k->warned_msr)
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: MSR 0x%x (and others stock QEMU does not "
			       "show) answered 0 (--kvmi-unknown-msr zero)",
			       idx);
	k->warned_msr = true;
	*ret = 0;
	return 0;
}

int qvmid_kvmi_get_registers(struct qvmid_kvmi *k, unsigned int vcpu,
			     const uint8_t *idx, unsigned int n, uint8_t *buf)
{
	const struct qvmi_kvmi_arch *a;
	int err = qvmid_kvmi_vcpu_state(k, vcpu, &a);
	uint8_t *m;

	if (err)
		return err;
	/* {u32 mode; u32 pad}, kvm_regs, kvm_sregs, {u32 nmsrs; u32 pad} */
	memset(buf, 0, QVMI_KVMI_REGS_FIXED);
	qvmi__kvmi_put32(buf, a->mode);
	memcpy(buf + 8, &a->regs, sizeof(a->regs));
	memcpy(buf + 8 + sizeof(a->regs), &a->sregs, sizeof(a->sregs));
	qvmi__kvmi_put32(buf + QVMI_KVMI_REGS_FIXED - 8, n);
	m = buf + QVMI_KVMI_REGS_FIXED;
	for (unsigned int i = 0; i < n; i++, m += QVMI_KVMI_MSR_ENTRY) {
		uint32_t id = qvmi__kvmi_u32(idx + 4 * i);
		uint64_t v;

		err = msr_value(k, vcpu, a, id, &v);
		if (err) {
			qvmid_kvmi_log(k, QVMI_LOG_INFO,
				       "kvmi: GET_REGISTERS: MSR 0x%x has no "
				       "read path on stock QEMU: -KVM_EINVAL",
				       id);
			return err;
		}
		qvmi__kvmi_put32(m, id);
		qvmi__kvmi_put32(m + 4, 0);
		qvmi__kvmi_put64(m + 8, v);
	}
	return 0;
}

/* A VM event (UNHOOK): the header and vCPU 0's state, nothing waited
 * for. */
/* SET_REGISTERS: kvm_regs through the gdbstub, with the vCPU stopped for
 * this connection (a pause or an event), as KVMi allows it only there. */
int qvmid_kvmi_set_registers(struct qvmid_kvmi *k, unsigned int vcpu,
			     const uint8_t *p)
{
	struct kvm_regs kr;
	struct qvmi_regs_x86 r = { .valid = QVMI_REGS_GPR };
	int err;

	if (!k->gdb)
		return -QVMI_KVM_EOPNOTSUPP;
	if (!k->we_paused && !k->bp_stopped)
		return -EBUSY;
	memcpy(&kr, p, sizeof(kr));
	r.rax = kr.rax, r.rbx = kr.rbx, r.rcx = kr.rcx, r.rdx = kr.rdx;
	r.rsi = kr.rsi, r.rdi = kr.rdi, r.rsp = kr.rsp, r.rbp = kr.rbp;
	r.r8 = kr.r8, r.r9 = kr.r9, r.r10 = kr.r10, r.r11 = kr.r11;
	r.r12 = kr.r12, r.r13 = kr.r13, r.r14 = kr.r14, r.r15 = kr.r15;
	r.rip = kr.rip, r.rflags = kr.rflags;
	err = qvmi_set_regs(k->ctx, vcpu, &r);
	k->cpu[vcpu].state_ok = false; /* read back, not assumed */
	if (err)
		qvmid_kvmi_log(k, QVMI_LOG_WARN, "kvmi: SET_REGISTERS: %s",
			       qvmi_errmsg(k->ctx));
	return err ? -EINVAL : 0;
}

/* GET_VCPU_INFO: the vCPU's QOM tsc-frequency, which QEMU fills from KVM
 * (target/i386/kvm); 0 under TCG means unknown: -KVM_EOPNOTSUPP, never a
 * made-up speed. */
int qvmid_kvmi_tsc_speed(struct qvmid_kvmi *k, unsigned int vcpu, uint64_t *ret)
{
	struct json_object *cpus = NULL, *c, *path, *args, *r = NULL;
	int err = -QVMI_KVM_EOPNOTSUPP;

	if (!qvmi__ctx_qmp(k->ctx) ||
	    qvmi__qmp_execute(qvmi__ctx_qmp(k->ctx), "query-cpus-fast", NULL,
			      &cpus) ||
	    !json_object_is_type(cpus, json_type_array) ||
	    vcpu >= json_object_array_length(cpus))
		goto out;
	c = json_object_array_get_idx(cpus, vcpu);
	if (!json_object_object_get_ex(c, "qom-path", &path))
		goto out;
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_get(path));
	json_object_object_add(args, "property",
			       json_object_new_string("tsc-frequency"));
	if (!qvmi__qmp_execute(qvmi__ctx_qmp(k->ctx), "qom-get", args, &r) &&
	    json_object_is_type(r, json_type_int) &&
	    json_object_get_int64(r) > 0) {
		*ret = (uint64_t)json_object_get_int64(r);
		err = 0;
	}
	json_object_put(args);
out:
	json_object_put(r);
	json_object_put(cpus);
	return err;
}

bool qvmid_kvmi_send_vm_event(struct qvmid_kvmi *k, uint8_t ev)
{
	size_t cap = QVMI_KVMI_HDR + QVMI_KVMI_EV_SIZE;
	struct qvmi_kvmi_arch zero;
	const struct qvmi_kvmi_arch *a = &zero;
	uint8_t *b;

	memset(&zero, 0, sizeof(zero));
	if (qvmid_kvmi_vcpu_state(k, 0, &a))
		a = &zero; /* the state is not what a VM event is about */
	b = qvmid_kvmi_reserve(k, cap);
	if (!b)
		return false;
	qvmid_kvmi_commit(k, qvmi__kvmi_event_encode(b, cap, ++k->ev_seq, 0, ev,
						     a, NULL, 0));
	k->st.events++;
	return true;
}

bool qvmid_kvmi_send_event(struct qvmid_kvmi *k, unsigned int vcpu, uint8_t ev,
			   const void *spec, size_t spec_len)
{
	size_t cap = QVMI_KVMI_HDR + QVMI_KVMI_EV_SIZE + 64;
	const struct qvmi_kvmi_arch *a;
	struct kvcpu *c;
	uint8_t *b;
	size_t n;
	int err = qvmid_kvmi_vcpu_state(k, vcpu, &a);

	if (err) {
		qvmid_kvmi_log(k, QVMI_LOG_WARN,
			       "kvmi: vCPU %u state for an event: %s", vcpu,
			       strerror(-err));
		return false;
	}
	b = qvmid_kvmi_reserve(k, cap);
	if (!b)
		return false;
	c = &k->cpu[vcpu];
	c->ev_seq = ++k->ev_seq;
	c->ev_id = ev;
	c->ev_pending = true;
	n = qvmi__kvmi_event_encode(b, cap, c->ev_seq, (uint16_t)vcpu, ev, a,
				    spec, spec_len);
	qvmid_kvmi_commit(k, n);
	k->st.events++;
	return true;
}
