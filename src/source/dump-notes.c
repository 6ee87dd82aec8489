// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ELF notes of a dump, as QMP dump-guest-memory, makedumpfile and
 * qvmi write them into an ELF core's PT_NOTE and into a kdump's
 * sub-header (offset_note, size_note): per vCPU an NT_PRSTATUS "CORE"
 * note and a "QEMU" note (QEMUCPUState), and VMCOREINFO.  They give the
 * vCPU registers of both readers (dump-elf.c, dump-kdump.c) and the
 * control backend of a dump (state FROZEN).  Every note is checked
 * against its buffer before use: the file is hostile input.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "source/dump.h"

static int bad(struct qvmi_ctx *ctx, const char *what)
{
	return qvmi__err(ctx, -EBADMSG, "ELF notes: %s", what);
}

/* ---- registers from notes ----------------------------------------------- */

static void cpustate_to_regs(const struct qvmi_qemu_cpustate *s,
			     struct qvmi_regs_x86 *r)
{
	r->rax = s->rax, r->rbx = s->rbx, r->rcx = s->rcx, r->rdx = s->rdx;
	r->rsi = s->rsi, r->rdi = s->rdi, r->rbp = s->rbp, r->rsp = s->rsp;
	r->r8 = s->r8, r->r9 = s->r9, r->r10 = s->r10, r->r11 = s->r11;
	r->r12 = s->r12, r->r13 = s->r13, r->r14 = s->r14, r->r15 = s->r15;
	r->rip = s->rip, r->rflags = s->rflags;
	r->cs = s->cs.selector, r->ss = s->ss.selector;
	r->ds = s->ds.selector, r->es = s->es.selector;
	r->fs = s->fs.selector, r->gs = s->gs.selector;
	r->fs_base = s->fs.base, r->gs_base = s->gs.base;
	/* QEMUCPUState has no EFER or CR8: see derive_efer(). */
	r->cr0 = s->cr[0], r->cr2 = s->cr[2], r->cr3 = s->cr[3];
	r->cr4 = s->cr[4];
	r->gdt_base = s->gdt.base, r->gdt_limit = s->gdt.limit;
	r->idt_base = s->idt.base, r->idt_limit = s->idt.limit;
	r->valid = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES |
		   QVMI_REGS_CR | QVMI_REGS_TABLES;
	if (s->size >= QVMI_QEMU_CPUSTATE_KGS) {
		r->kernel_gs_base = s->kernel_gs_base;
		r->valid |= QVMI_REGS_KGS;
	}
}

enum {
	CR0_PG = 1u << 31,
	CR4_PAE = 1u << 5,
	EFER_LME = 1u << 8,
	EFER_LMA = 1u << 10,
	EFER_NXE = 1u << 11,
};

/*
 * EFER is not in QEMU's notes, yet a page walker needs LMA and NXE.  QEMU
 * writes EM_X86_64 only when vCPU 0 is in long mode (arch_dump.c
 * cpu_get_dump_info), and long mode means paging with PAE, so a vCPU with
 * CR0.PG and CR4.PAE in such a core has LME and LMA.  NXE cannot be known:
 * assume it with PAE, because a walker that wrongly allows bit 63 only
 * accepts entries the CPU would refuse, while one that wrongly forbids it
 * refuses every NX mapping.  SCE is lost.  On QEMU 7.2 / Linux 6.1 the
 * true value was 0xd01 and this gives 0xd00.
 */
static void derive_efer(uint16_t machine, struct qvmi_regs_x86 *r)
{
	if (!(r->cr0 & CR0_PG) || !(r->cr4 & CR4_PAE))
		return;
	r->efer = EFER_NXE;
	if (machine == EM_X86_64)
		r->efer |= EFER_LME | EFER_LMA;
}

static void prstatus64_to_regs(const struct qvmi_prstatus64 *p,
			       struct qvmi_regs_x86 *r)
{
	r->rax = p->rax, r->rbx = p->rbx, r->rcx = p->rcx, r->rdx = p->rdx;
	r->rsi = p->rsi, r->rdi = p->rdi, r->rbp = p->rbp, r->rsp = p->rsp;
	r->r8 = p->r8, r->r9 = p->r9, r->r10 = p->r10, r->r11 = p->r11;
	r->r12 = p->r12, r->r13 = p->r13, r->r14 = p->r14, r->r15 = p->r15;
	r->rip = p->rip, r->rflags = p->eflags;
	r->cs = p->cs, r->ss = p->ss, r->ds = p->ds, r->es = p->es;
	r->fs = p->fs, r->gs = p->gs;
	r->fs_base = p->fs_base, r->gs_base = p->gs_base;
	r->valid = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES;
}

static void prstatus32_to_regs(const struct qvmi_prstatus32 *p,
			       struct qvmi_regs_x86 *r)
{
	r->rax = p->eax, r->rbx = p->ebx, r->rcx = p->ecx, r->rdx = p->edx;
	r->rsi = p->esi, r->rdi = p->edi, r->rbp = p->ebp, r->rsp = p->esp;
	r->rip = p->eip, r->rflags = p->eflags;
	r->cs = p->cs, r->ss = p->ss, r->ds = p->ds, r->es = p->es;
	r->fs = p->fs, r->gs = p->gs;
	r->valid = QVMI_REGS_GPR | QVMI_REGS_SEG;
}

void qvmi__regs_to_cpustate(const struct qvmi_regs_x86 *r,
			    struct qvmi_qemu_cpustate *s)
{
	memset(s, 0, sizeof(*s));
	s->version = QVMI_QEMU_CPUSTATE_VERSION;
	s->size = sizeof(*s);
	s->rax = r->rax, s->rbx = r->rbx, s->rcx = r->rcx, s->rdx = r->rdx;
	s->rsi = r->rsi, s->rdi = r->rdi, s->rsp = r->rsp, s->rbp = r->rbp;
	s->r8 = r->r8, s->r9 = r->r9, s->r10 = r->r10, s->r11 = r->r11;
	s->r12 = r->r12, s->r13 = r->r13, s->r14 = r->r14, s->r15 = r->r15;
	s->rip = r->rip, s->rflags = r->rflags;
	s->cs.selector = (uint32_t)r->cs, s->ss.selector = (uint32_t)r->ss;
	s->ds.selector = (uint32_t)r->ds, s->es.selector = (uint32_t)r->es;
	s->fs.selector = (uint32_t)r->fs, s->gs.selector = (uint32_t)r->gs;
	s->fs.base = r->fs_base, s->gs.base = r->gs_base;
	s->gdt.base = r->gdt_base, s->gdt.limit = (uint32_t)r->gdt_limit;
	s->idt.base = r->idt_base, s->idt.limit = (uint32_t)r->idt_limit;
	s->cr[0] = r->cr0, s->cr[2] = r->cr2, s->cr[3] = r->cr3;
	s->cr[4] = r->cr4;
	s->kernel_gs_base = r->kernel_gs_base;
}

void qvmi__regs_to_prstatus(const struct qvmi_regs_x86 *r, uint32_t pid,
			    struct qvmi_prstatus64 *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->rax = r->rax, p->rbx = r->rbx, p->rcx = r->rcx, p->rdx = r->rdx;
	p->rsi = r->rsi, p->rdi = r->rdi, p->rbp = r->rbp, p->rsp = r->rsp;
	p->r8 = r->r8, p->r9 = r->r9, p->r10 = r->r10, p->r11 = r->r11;
	p->r12 = r->r12, p->r13 = r->r13, p->r14 = r->r14, p->r15 = r->r15;
	p->rip = r->rip, p->eflags = r->rflags;
	p->cs = r->cs, p->ss = r->ss, p->ds = r->ds, p->es = r->es;
	p->fs = r->fs, p->gs = r->gs;
	p->fs_base = r->fs_base, p->gs_base = r->gs_base;
}

void qvmi__regs_to_prstatus32(const struct qvmi_regs_x86 *r, uint32_t pid,
			      struct qvmi_prstatus32 *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->eax = (uint32_t)r->rax, p->ebx = (uint32_t)r->rbx;
	p->ecx = (uint32_t)r->rcx, p->edx = (uint32_t)r->rdx;
	p->esi = (uint32_t)r->rsi, p->edi = (uint32_t)r->rdi;
	p->ebp = (uint32_t)r->rbp, p->esp = (uint32_t)r->rsp;
	p->eip = (uint32_t)r->rip, p->eflags = (uint32_t)r->rflags;
	p->cs = (uint16_t)r->cs, p->ss = (uint16_t)r->ss;
	p->ds = (uint16_t)r->ds, p->es = (uint16_t)r->es;
	p->fs = (uint16_t)r->fs, p->gs = (uint16_t)r->gs;
}

/* ---- notes -------------------------------------------------------------- */

static struct qvmi_regs_x86 *regs_push(struct qvmi_regs_x86 **arr, size_t *n)
{
	struct qvmi_regs_x86 *a = *arr;

	if (*n >= QVMI_DUMP_MAX_VCPUS)
		return NULL;
	/* Grow at powers of two. */
	if (!(*n & (*n - 1)) || *n == 0) {
		a = realloc(a, (*n ? *n * 2 : 1) * sizeof(*a));
		if (!a)
			return NULL;
		*arr = a;
	}
	memset(&a[*n], 0, sizeof(*a));
	return &a[(*n)++];
}

static int note_qemu(struct qvmi_ctx *ctx, struct qvmi__dnotes *core,
		     const uint8_t *desc, uint32_t descsz)
{
	struct qvmi_qemu_cpustate s;
	struct qvmi_regs_x86 *r;

	memset(&s, 0, sizeof(s));
	if (descsz < QVMI_QEMU_CPUSTATE_MIN)
		return bad(ctx, "QEMU note too short");
	memcpy(&s, desc, QVMI_MIN((size_t)descsz, sizeof(s)));
	if (s.version != QVMI_QEMU_CPUSTATE_VERSION)
		return qvmi__err(ctx, -EBADMSG,
				 "ELF notes: QEMUCPUState version %u unknown",
				 s.version);
	if (s.size < QVMI_QEMU_CPUSTATE_MIN || s.size > descsz)
		return bad(ctx, "QEMUCPUState size does not fit its note");
	r = regs_push(&core->qemu, &core->nqemu);
	if (!r)
		return core->nqemu >= QVMI_DUMP_MAX_VCPUS ?
			       bad(ctx, "too many vCPUs") :
			       qvmi__err(ctx, -ENOMEM, "out of memory");
	cpustate_to_regs(&s, r);
	return 0;
}

static int note_prstatus(struct qvmi_ctx *ctx, struct qvmi__dnotes *core,
			 const uint8_t *desc, uint32_t descsz)
{
	struct qvmi_regs_x86 *r;

	if (descsz != sizeof(struct qvmi_prstatus64) &&
	    descsz != sizeof(struct qvmi_prstatus32))
		return bad(ctx, "NT_PRSTATUS of unknown size");
	r = regs_push(&core->prs, &core->nprs);
	if (!r)
		return core->nprs >= QVMI_DUMP_MAX_VCPUS ?
			       bad(ctx, "too many vCPUs") :
			       qvmi__err(ctx, -ENOMEM, "out of memory");
	if (descsz == sizeof(struct qvmi_prstatus64)) {
		struct qvmi_prstatus64 p;

		memcpy(&p, desc, sizeof(p));
		prstatus64_to_regs(&p, r);
	} else {
		struct qvmi_prstatus32 p;

		memcpy(&p, desc, sizeof(p));
		prstatus32_to_regs(&p, r);
	}
	return 0;
}

static int note_vmcoreinfo(struct qvmi_ctx *ctx, struct qvmi__dnotes *core,
			   const uint8_t *desc, uint32_t descsz)
{
	size_t len = strnlen((const char *)desc, descsz);

	if (core->vmcoreinfo) {
		qvmi__log(ctx, QVMI_LOG_WARN,
			  "ELF core: second VMCOREINFO note ignored");
		return 0;
	}
	if (descsz > QVMI_DUMP_MAX_VMCOREINFO)
		return bad(ctx, "VMCOREINFO note too large");
	core->vmcoreinfo = malloc(len + 1);
	if (!core->vmcoreinfo)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	memcpy(core->vmcoreinfo, desc, len);
	core->vmcoreinfo[len] = '\0';
	return 0;
}

static bool name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	size_t n = strlen(want) + 1;

	return namesz == n && !memcmp(name, want, n);
}

static int note_one(struct qvmi_ctx *ctx, struct qvmi__dnotes *core,
		    const Elf64_Nhdr *h, const uint8_t *name,
		    const uint8_t *desc)
{
	if (name_is(name, h->n_namesz, "CORE") && h->n_type == NT_PRSTATUS)
		return note_prstatus(ctx, core, desc, h->n_descsz);
	if (name_is(name, h->n_namesz, "QEMU") && h->n_type == 0)
		return note_qemu(ctx, core, desc, h->n_descsz);
	if (name_is(name, h->n_namesz, "VMCOREINFO") && h->n_type == 0)
		return note_vmcoreinfo(ctx, core, desc, h->n_descsz);
	return 0; /* other notes (NT_PRPSINFO, ...) are not needed */
}

/* Walk one PT_NOTE segment: 4-byte aligned names and descriptors. */
int qvmi__dnotes_parse(struct qvmi_ctx *ctx, struct qvmi__dnotes *core,
		       const uint8_t *buf, size_t len, size_t *count)
{
	size_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr h;
		const uint8_t *name, *desc;
		size_t name_al;
		int err;

		if (++*count > QVMI_DUMP_MAX_NOTES)
			return bad(ctx, "too many notes");
		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h);
		name_al = ((size_t)h.n_namesz + 3) & ~(size_t)3;
		if (name_al > len - off)
			return bad(ctx, "note name runs past its segment");
		name = buf + off;
		off += name_al;
		if (h.n_descsz > len - off)
			return bad(ctx,
				   "note descriptor runs past its segment");
		desc = buf + off;
		/* The last note may lack its padding. */
		off += QVMI_MIN(((size_t)h.n_descsz + 3) & ~(size_t)3,
				len - off);
		err = note_one(ctx, core, &h, name, desc);
		if (err)
			return err;
	}
	return 0;
}

void qvmi__dnotes_finish(struct qvmi_ctx *ctx, struct qvmi__dnotes *core,
			 uint16_t machine)
{
	for (size_t i = 0; i < core->nqemu; i++)
		derive_efer(machine, &core->qemu[i]);
	if (core->nqemu && core->nprs && core->nqemu != core->nprs)
		qvmi__log(ctx, QVMI_LOG_WARN,
			  "dump: %zu QEMU notes but %zu NT_PRSTATUS",
			  core->nqemu, core->nprs);
}

/* ---- control backend ---------------------------------------------------- */

void qvmi__dnotes_free(struct qvmi__dnotes *core)
{
	if (!core)
		return;
	free(core->qemu);
	free(core->prs);
	free(core->vmcoreinfo);
	free(core);
}

static int notes_vcpu_count(struct qvmi_ctl *c)
{
	struct qvmi__dnotes *core = c->priv;

	return (int)(core->nqemu ? core->nqemu : core->nprs);
}

static int notes_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
			  struct qvmi_regs_x86 *ret)
{
	struct qvmi__dnotes *core = c->priv;

	/* The QEMU note is a superset of prstatus; prstatus is the fallback
	 * for cores written by other tools. */
	if (core->nqemu) {
		if (vcpu < core->nqemu) {
			*ret = core->qemu[vcpu];
			return 0;
		}
	} else if (vcpu < core->nprs) {
		*ret = core->prs[vcpu];
		return 0;
	}
	return qvmi__err(c->ctx, -EINVAL, "no vCPU %u in this dump (%d)", vcpu,
			 notes_vcpu_count(c));
}

static int notes_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	*ret = QVMI_VM_FROZEN;
	return 0;
}

static void notes_ctl_destroy(struct qvmi_ctl *c)
{
	qvmi__dnotes_free(c->priv);
}

const struct qvmi_ctl_ops qvmi__dnotes_ctl_ops = {
	.name = "dump",
	.vcpu_count = notes_vcpu_count,
	.get_regs = notes_get_regs,
	.state = notes_state,
	.destroy = notes_ctl_destroy,
};
