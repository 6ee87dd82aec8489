// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ELF cores as written by QMP dump-guest-memory (format "elf"): one PT_LOAD
 * per guest RAM range with the true p_paddr, and a PT_NOTE holding, per
 * vCPU, an NT_PRSTATUS "CORE" note and a "QEMU" note (QEMUCPUState), then
 * a VMCOREINFO note if the guest published one.  Every header field is
 * checked before use (libbpf btf_parse_hdr): the file is hostile input.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/dump.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the dump reader assumes a little-endian host"
#endif

struct elf_core {
	struct qvmi_regs_x86 *qemu; /* from "QEMU" notes, in note order */
	size_t nqemu;
	struct qvmi_regs_x86 *prs; /* from NT_PRSTATUS, in note order */
	size_t nprs;
	char *vmcoreinfo;
};

struct elf_file {
	struct qvmi_ctx *ctx;
	int fd;
	uint64_t size;
	uint64_t phnum;
	Elf64_Phdr *ph;
	uint16_t machine;
	bool is32; /* ELFCLASS32 */
	struct qvmi__dpiece *pc; /* memory, indexed (check_loads) */
	size_t npc;
};

static int bad(struct qvmi_ctx *ctx, const char *what)
{
	return qvmi__err(ctx, -EBADMSG, "ELF core: %s", what);
}

/* Read exactly len bytes at off, which the caller checked lie in the file. */
static int read_at(struct elf_file *f, uint64_t off, void *buf, size_t len)
{
	int err = qvmi__pread_full(f->fd, buf, len, off);

	if (err == -ENODATA)
		return bad(f->ctx, "file shrank while reading");
	return err ? qvmi__err(f->ctx, err, "ELF core: read failed") : 0;
}

/* [off, off + len) lies inside the file, without overflow. */
static bool in_file(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

/* ---- headers ------------------------------------------------------------ */

/* The ELF header fields used here, from either class. */
struct ehdr {
	uint64_t phoff, shoff;
	uint16_t type, machine, phentsize, phnum, shentsize;
	uint32_t version;
};

static int check_ident(struct qvmi_ctx *ctx, const unsigned char *ident,
		       const struct ehdr *eh)
{
	if (memcmp(ident, ELFMAG, SELFMAG))
		return bad(ctx, "bad magic");
	if (ident[EI_CLASS] != ELFCLASS64 && ident[EI_CLASS] != ELFCLASS32)
		return bad(ctx, "bad EI_CLASS");
	if (ident[EI_DATA] != ELFDATA2LSB)
		return bad(ctx, "not little-endian");
	if (ident[EI_VERSION] != EV_CURRENT || eh->version != EV_CURRENT)
		return bad(ctx, "bad ELF version");
	if (eh->type != ET_CORE)
		return bad(ctx, "not a core file (e_type)");
	/* QEMU writes EM_386 when the first vCPU is not in long mode. */
	if (eh->machine != EM_X86_64 && eh->machine != EM_386)
		return qvmi__err(ctx, -EOPNOTSUPP,
				 "ELF core: machine %u is not x86",
				 eh->machine);
	snprintf(ctx->vm_arch, sizeof(ctx->vm_arch), "%s",
		 eh->machine == EM_X86_64 ? "x86_64" : "i386");
	return 0;
}

/*
 * QEMU writes ELFCLASS32 when vCPU 0 is not in long mode and all RAM lies
 * below 4 GiB (arch_dump.c cpu_get_dump_info): a dump taken in the BIOS or
 * of a 32-bit guest.  Widen its header to the fields above.
 */
static int read_ehdr(struct elf_file *f, unsigned char *ident, struct ehdr *ret)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	int err;

	if (f->size < EI_NIDENT)
		return bad(f->ctx, "truncated ELF header");
	err = read_at(f, 0, ident, EI_NIDENT);
	if (err)
		return err;
	f->is32 = ident[EI_CLASS] == ELFCLASS32;
	if (f->size < (f->is32 ? sizeof(e32) : sizeof(e64)))
		return bad(f->ctx, "truncated ELF header");
	if (f->is32) {
		err = read_at(f, 0, &e32, sizeof(e32));
		*ret = (struct ehdr){ e32.e_phoff,     e32.e_shoff,
				      e32.e_type,      e32.e_machine,
				      e32.e_phentsize, e32.e_phnum,
				      e32.e_shentsize, e32.e_version };
	} else {
		err = read_at(f, 0, &e64, sizeof(e64));
		*ret = (struct ehdr){ e64.e_phoff,     e64.e_shoff,
				      e64.e_type,      e64.e_machine,
				      e64.e_phentsize, e64.e_phnum,
				      e64.e_shentsize, e64.e_version };
	}
	return err;
}

/* e_phnum == PN_XNUM: the real count is in section header 0's sh_info
 * (QEMU dump.c does this past 65534 program headers). */
static int read_xnum(struct elf_file *f, const struct ehdr *eh)
{
	size_t shsz = f->is32 ? sizeof(Elf32_Shdr) : sizeof(Elf64_Shdr);
	Elf64_Shdr sh64;
	Elf32_Shdr sh32;
	int err;

	if (!eh->shoff || eh->shentsize != shsz)
		return bad(f->ctx, "PN_XNUM without a section header");
	if (!in_file(f, eh->shoff, shsz))
		return bad(f->ctx, "section header 0 outside the file");
	if (f->is32) {
		err = read_at(f, eh->shoff, &sh32, sizeof(sh32));
		f->phnum = sh32.sh_info;
	} else {
		err = read_at(f, eh->shoff, &sh64, sizeof(sh64));
		f->phnum = sh64.sh_info;
	}
	return err;
}

/* Program headers into f->ph, widened to Elf64_Phdr. */
static int read_phdrs(struct elf_file *f, uint64_t phoff)
{
	Elf32_Phdr *p32;
	size_t i;
	int err;

	f->ph = calloc(f->phnum, sizeof(Elf64_Phdr));
	if (!f->ph)
		return qvmi__err(f->ctx, -ENOMEM, "out of memory");
	if (!f->is32)
		return read_at(f, phoff, f->ph, f->phnum * sizeof(Elf64_Phdr));
	p32 = calloc(f->phnum, sizeof(*p32));
	if (!p32)
		return qvmi__err(f->ctx, -ENOMEM, "out of memory");
	err = read_at(f, phoff, p32, f->phnum * sizeof(*p32));
	for (i = 0; !err && i < f->phnum; i++)
		f->ph[i] = (Elf64_Phdr){ .p_type = p32[i].p_type,
					 .p_offset = p32[i].p_offset,
					 .p_paddr = p32[i].p_paddr,
					 .p_vaddr = p32[i].p_vaddr,
					 .p_filesz = p32[i].p_filesz,
					 .p_memsz = p32[i].p_memsz };
	free(p32);
	return err;
}

static int read_headers(struct elf_file *f)
{
	struct qvmi_ctx *ctx = f->ctx;
	unsigned char ident[EI_NIDENT];
	size_t ehsz, phsz;
	struct ehdr eh = { 0 };
	int err;

	err = read_ehdr(f, ident, &eh);
	if (!err)
		err = check_ident(ctx, ident, &eh);
	if (err)
		return err;
	ehsz = f->is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	phsz = f->is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
	/* e_ehsize is not checked: QEMU 7.2 writes 8 there (it should be
	 * 64), and nothing here depends on it. */
	if (eh.phentsize != phsz)
		return bad(ctx, "bad e_phentsize");
	f->machine = eh.machine;
	f->phnum = eh.phnum;
	if (eh.phnum == PN_XNUM) {
		err = read_xnum(f, &eh);
		if (err)
			return err;
	}
	if (!f->phnum)
		return bad(ctx, "no program headers");
	if (f->phnum > QVMI_DUMP_MAX_PHDRS)
		return bad(ctx, "too many program headers");
	if (eh.phoff < ehsz || !in_file(f, eh.phoff, f->phnum * phsz))
		return bad(ctx, "program headers outside the file");
	return read_phdrs(f, eh.phoff);
}

static int check_load(struct elf_file *f, const Elf64_Phdr *p)
{
	if (p->p_filesz > p->p_memsz)
		return bad(f->ctx, "PT_LOAD with p_filesz > p_memsz");
	if (!in_file(f, p->p_offset, p->p_filesz))
		return qvmi__err(f->ctx, -EBADMSG,
				 "ELF core: PT_LOAD at 0x%" PRIx64
				 " ends past the end of the file (truncated?)",
				 p->p_paddr);
	/* x86 physical addresses have at most 52 bits (MAXPHYADDR); this
	 * also keeps a hostile zero-filled p_memsz from being endless. */
	if (p->p_paddr > QVMI_DUMP_MAX_PADDR ||
	    p->p_memsz > QVMI_DUMP_MAX_PADDR - p->p_paddr)
		return qvmi__err(f->ctx, -EBADMSG,
				 "ELF core: PT_LOAD at 0x%" PRIx64
				 " reaches past 2^52",
				 p->p_paddr);
	return 0;
}

/*
 * Check every PT_LOAD and index them by guest-physical address
 * (qvmi__dump_index): overlapping PT_LOADs (kexec-style, QEMU paging=true)
 * name the same memory.  A PT_LOAD with no file data is left out: QEMU
 * with paging=true writes those for mappings of what is not RAM (dump.c
 * get_offset_range finds no block), so they are not zeros of the guest.
 */
static int check_loads(struct elf_file *f)
{
	uint64_t zero_fill = 0;
	size_t i, n = 0;
	int err = 0;

	f->pc = calloc(2 * f->phnum + 1, sizeof(*f->pc));
	if (!f->pc)
		return qvmi__err(f->ctx, -ENOMEM, "out of memory");
	for (i = 0; i < f->phnum && !err; i++) {
		const Elf64_Phdr *p = &f->ph[i];

		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		err = check_load(f, p);
		if (err || !p->p_filesz)
			continue;
		f->pc[n++] = (struct qvmi__dpiece){ p->p_paddr, p->p_filesz,
						    p->p_offset, (uint32_t)i,
						    false };
		if (p->p_memsz > p->p_filesz)
			f->pc[n++] =
				(struct qvmi__dpiece){ p->p_paddr + p->p_filesz,
						       p->p_memsz - p->p_filesz,
						       0, (uint32_t)i, true };
	}
	if (err)
		return err;
	f->npc = qvmi__dump_index(f->pc, n);
	if (f->npc > QVMI_DUMP_MAX_LOADS)
		return bad(f->ctx, "too many PT_LOADs (after merging)");
	for (i = 0; i < f->npc; i++)
		if (f->pc[i].zero)
			zero_fill += f->pc[i].size; /* < 2^52 each, <= 4096 */
	if (zero_fill > QVMI_DUMP_MAX_ZERO_FILL)
		return bad(f->ctx, "PT_LOADs zero-fill too much memory");
	return 0;
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

static int note_qemu(struct qvmi_ctx *ctx, struct elf_core *core,
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
				 "ELF core: QEMUCPUState version %u unknown",
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

static int note_prstatus(struct qvmi_ctx *ctx, struct elf_core *core,
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

static int note_vmcoreinfo(struct qvmi_ctx *ctx, struct elf_core *core,
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

static int note_one(struct qvmi_ctx *ctx, struct elf_core *core,
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
static int parse_notes(struct qvmi_ctx *ctx, struct elf_core *core,
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

static int read_notes(struct elf_file *f, struct elf_core *core)
{
	uint64_t total = 0;
	size_t i, count = 0;
	int err = 0;

	for (i = 0; i < f->phnum && !err; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		uint8_t *buf;

		if (p->p_type != PT_NOTE || !p->p_filesz)
			continue;
		if (!in_file(f, p->p_offset, p->p_filesz))
			return bad(f->ctx, "PT_NOTE outside the file");
		if (p->p_filesz > QVMI_DUMP_MAX_NOTES_BYTES - total)
			return bad(f->ctx, "notes too large");
		total += p->p_filesz;
		buf = malloc(p->p_filesz);
		if (!buf)
			return qvmi__err(f->ctx, -ENOMEM, "out of memory");
		err = read_at(f, p->p_offset, buf, p->p_filesz);
		if (!err)
			err = parse_notes(f->ctx, core, buf, p->p_filesz,
					  &count);
		free(buf);
	}
	for (i = 0; !err && i < core->nqemu; i++)
		derive_efer(f->machine, &core->qemu[i]);
	if (!err && core->nqemu && core->nprs && core->nqemu != core->nprs)
		qvmi__log(f->ctx, QVMI_LOG_WARN,
			  "ELF core: %zu QEMU notes but %zu NT_PRSTATUS",
			  core->nqemu, core->nprs);
	return err;
}

/* ---- control backend ---------------------------------------------------- */

static void core_free(struct elf_core *core)
{
	if (!core)
		return;
	free(core->qemu);
	free(core->prs);
	free(core->vmcoreinfo);
	free(core);
}

static int elf_vcpu_count(struct qvmi_ctl *c)
{
	struct elf_core *core = c->priv;

	return (int)(core->nqemu ? core->nqemu : core->nprs);
}

static int elf_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
			struct qvmi_regs_x86 *ret)
{
	struct elf_core *core = c->priv;

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
			 elf_vcpu_count(c));
}

static int elf_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	*ret = QVMI_VM_FROZEN;
	return 0;
}

static void elf_ctl_destroy(struct qvmi_ctl *c)
{
	core_free(c->priv);
}

static const struct qvmi_ctl_ops elf_ctl_ops = {
	.name = "elf",
	.vcpu_count = elf_vcpu_count,
	.get_regs = elf_get_regs,
	.state = elf_state,
	.destroy = elf_ctl_destroy,
};

/* ---- memory ------------------------------------------------------------- */

/* The zero tail of a PT_LOAD whose p_memsz exceeds p_filesz. */
static int zero_read(struct qvmi_source *s, uint64_t addr, void *buf,
		     size_t len)
{
	memset(buf, 0, len);
	return 0;
}

static const struct qvmi_source_ops zero_ops = {
	.name = "elf-zero",
	.read = zero_read,
};

static int map_loads(struct elf_file *f, struct qvmi_source *src)
{
	struct qvmi_ctx *ctx = f->ctx;
	struct qvmi_source *zero = NULL;
	size_t i;
	int err = 0;

	for (i = 0; i < f->npc && !err; i++) {
		const struct qvmi__dpiece *p = &f->pc[i];

		if (!p->zero) {
			err = qvmi_map_add(ctx, src, p->pa, p->size, p->off);
		} else {
			if (!zero)
				err = qvmi_source_create(ctx, &zero_ops, NULL,
							 QVMI_SOURCE_FROZEN,
							 &zero);
			if (!err)
				err = qvmi_map_add(ctx, zero, p->pa, p->size,
						   0);
		}
		if (!err)
			err = qvmi__ram_add_merged(ctx, p->pa, p->size);
	}
	return err;
}

int qvmi__attach_elf_fd(struct qvmi_ctx *ctx, int fd)
{
	struct elf_file f = { .ctx = ctx, .fd = fd };
	struct elf_core *core = NULL;
	struct qvmi_source *src;
	struct stat st;
	int err;

	if (fstat(fd, &st) || st.st_size < 0) {
		err = qvmi__err(ctx, -errno, "ELF core: cannot stat the file");
		goto fail;
	}
	f.size = (uint64_t)st.st_size;
	err = read_headers(&f);
	if (!err)
		err = check_loads(&f);
	if (err)
		goto fail;
	core = calloc(1, sizeof(*core));
	if (!core) {
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
		goto fail;
	}
	err = read_notes(&f, core);
	if (err)
		goto fail;
	err = qvmi__source_file_create(ctx, "elf", fd, f.size, &src);
	if (err)
		goto fail;
	fd = -1; /* the source owns it now */
	err = map_loads(&f, src);
	if (err)
		goto fail;
	err = qvmi__ctl_set(ctx, &elf_ctl_ops, core);
	if (err)
		goto fail;
	/* qvmi_vmcoreinfo(): the ctl owns the text until detach */
	ctx->vmcoreinfo = core->vmcoreinfo;
	free(f.ph);
	free(f.pc);
	return 0;
fail:
	core_free(core);
	free(f.ph);
	free(f.pc);
	if (fd >= 0)
		close(fd);
	return err;
}
