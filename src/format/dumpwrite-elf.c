// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ELF core: QEMU dump-guest-memory's layout (PT_NOTE with per-vCPU
 * "CORE" NT_PRSTATUS and "QEMU" notes, then VMCOREINFO; one PT_LOAD per
 * range), program headers right after the ELF header, notes before the
 * first data page, data page-aligned (so the file can stay sparse).
 *
 * With a kernel layout (struct qvmi_dump_kernel) it is also a kernel dump
 * as /proc/vmcore is, which is what crash 8, drgn 0.0.22, makedumpfile
 * 1.7 and gdb 13 need: a VMCOREINFO note, one PT_LOAD for the kernel image
 * at its (KASLR) virtual address, every other range at page_offset +
 * paddr, and no physical page in two PT_LOADs.  makedumpfile reads the
 * program headers at sizeof(Elf64_Ehdr) whatever e_phoff says, and
 * derives PAGE_OFFSET from the first PT_LOAD below __START_KERNEL_map
 * (get_page_offset_x86_64); crash derives phys_base from the image's
 * PT_LOAD (x86_64_calc_phys_base); drgn refuses a QEMU core without
 * VMCOREINFO.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "dumpwrite.h"
#include "source/dump.h"

/* ---- the kernel's layout ---------------------------------------------- */

enum { MAX_IMAGE_PARTS = 4096 };

static bool pg_aligned(uint64_t x)
{
	return !(x % QVMI_PAGE_SIZE);
}

/* image[] sorted by pa, disjoint, page-aligned, no wrap. */
static int check_kernel(struct qvmi_ctx *ctx, const struct qvmi_dump_kernel *k)
{
	size_t i;

	if (k->nimage > MAX_IMAGE_PARTS || (k->nimage && !k->image) ||
	    !pg_aligned(k->page_offset))
		return qvmi__err(ctx, -EINVAL, "dump: bad kernel layout");
	for (i = 0; i < k->nimage; i++) {
		const struct qvmi_dump_vrange *v = &k->image[i];

		if (!v->size || !pg_aligned(v->va) || !pg_aligned(v->pa) ||
		    !pg_aligned(v->size) || v->pa + v->size < v->pa ||
		    v->va + v->size < v->va ||
		    (i && v->pa < k->image[i - 1].pa + k->image[i - 1].size))
			return qvmi__err(ctx, -EINVAL,
					 "dump: bad kernel image part %zu", i);
	}
	return 0;
}

struct pieces {
	struct qvmi__wrange *r;
	size_t n, cap;
};

static int piece(struct qvmi_ctx *ctx, struct pieces *p, uint64_t gpa,
		 uint64_t size, uint64_t va)
{
	if (!size)
		return 0;
	if (p->n == p->cap) {
		size_t c = p->cap ? p->cap * 2 : 16;
		struct qvmi__wrange *nr = realloc(p->r, c * sizeof(*nr));

		if (!nr)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		p->r = nr;
		p->cap = c;
	}
	p->r[p->n++] = (struct qvmi__wrange){ gpa, size, 0, va };
	return 0;
}

/* One range cut at the image parts: those at their image address, the
 * rest in the direct map.  last is inclusive (a range may end at 2^64). */
static int split_one(struct qvmi_ctx *ctx, const struct qvmi_dump_kernel *k,
		     const struct qvmi__wrange *r, struct pieces *p)
{
	uint64_t c = r->gpa, last = r->gpa + (r->size - 1);
	int err = 0;

	for (size_t i = 0; i < k->nimage && !err && c <= last; i++) {
		const struct qvmi_dump_vrange *v = &k->image[i];
		uint64_t vl = v->pa + (v->size - 1), a, b;

		if (vl < c || v->pa > last)
			continue;
		a = QVMI_MAX(c, v->pa);
		b = QVMI_MIN(last, vl);
		err = piece(ctx, p, c, a - c, k->page_offset + c);
		if (!err)
			err = piece(ctx, p, a, b - a + 1, v->va + (a - v->pa));
		if (b == UINT64_MAX)
			return err;
		c = b + 1;
	}
	if (!err && c <= last)
		err = piece(ctx, p, c, last - c + 1, k->page_offset + c);
	return err;
}

/* Split the ranges at the kernel image and give each its p_vaddr. */
static int split_kernel(struct qvmi_ctx *ctx, const struct qvmi_dump_kernel *k,
			struct qvmi__wrange **r, size_t *n)
{
	struct pieces p = { NULL, 0, 0 };
	int err = check_kernel(ctx, k);

	for (size_t i = 0; i < *n && !err; i++)
		err = split_one(ctx, k, &(*r)[i], &p);
	if (err) {
		free(p.r);
		return err;
	}
	free(*r);
	*r = p.r;
	*n = p.n;
	return 0;
}

/* ---- notes ---------------------------------------------------------- */

static size_t al4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t note_len(const char *name, size_t descsz)
{
	return sizeof(Elf64_Nhdr) + al4(strlen(name) + 1) + al4(descsz);
}

static uint8_t *note_put(uint8_t *p, const char *name, uint32_t type,
			 const void *desc, size_t descsz)
{
	Elf64_Nhdr h = { (Elf64_Word)(strlen(name) + 1), (Elf64_Word)descsz,
			 type };

	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, name, h.n_namesz);
	p += al4(h.n_namesz);
	memcpy(p, desc, descsz);
	return p + al4(descsz);
}

/* Registers of every vCPU that has them (and which vCPU each is); none
 * is fine (no notes). */
static int collect_regs(struct qvmi_ctx *ctx, struct qvmi_regs_x86 **ret,
			unsigned int **cpu_ret, size_t *nret)
{
	int i, count = ctx->ctl ? qvmi_vcpu_count(ctx) : 0;
	struct qvmi_regs_x86 *regs;
	unsigned int *cpu;
	size_t n = 0;

	*ret = NULL;
	*cpu_ret = NULL;
	*nret = 0;
	if (count <= 0)
		return 0;
	count = QVMI_MIN(count, QVMI_DUMP_MAX_VCPUS);
	regs = calloc((size_t)count, sizeof(*regs));
	cpu = calloc((size_t)count, sizeof(*cpu));
	if (!regs || !cpu) {
		free(regs);
		free(cpu);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	for (i = 0; i < count; i++) {
		if (qvmi_get_regs(ctx, (unsigned int)i, &regs[n]) ||
		    !(regs[n].valid & QVMI_REGS_GPR)) {
			qvmi__log(ctx, QVMI_LOG_WARN,
				  "dump: no registers for vCPU %d", i);
			continue;
		}
		cpu[n++] = (unsigned int)i;
	}
	*ret = regs;
	*cpu_ret = cpu;
	*nret = n;
	return 0;
}

/* Like QEMU: an x86_64 core (and x86_64 prstatus) when vCPU 0 is in long
 * mode, else EM_386 with i386 prstatus.  Unknown means long mode. */
static bool long_mode(const struct qvmi_regs_x86 *regs, size_t n)
{
	return !n || !(regs[0].valid & QVMI_REGS_CR) ||
	       (regs[0].efer & (1u << 10)); /* EFER.LMA */
}

static uint8_t *put_prstatus(uint8_t *p, const struct qvmi_regs_x86 *r,
			     uint32_t pid, bool lm)
{
	struct qvmi_prstatus64 p64;
	struct qvmi_prstatus32 p32;

	if (lm) {
		qvmi__regs_to_prstatus(r, pid, &p64);
		return note_put(p, "CORE", NT_PRSTATUS, &p64, sizeof(p64));
	}
	qvmi__regs_to_prstatus32(r, pid, &p32);
	return note_put(p, "CORE", NT_PRSTATUS, &p32, sizeof(p32));
}

static void seg_to_note(const struct qvmi__seg *s, struct qvmi_qemu_seg *d)
{
	d->selector = s->selector;
	d->limit = s->limit;
	d->flags = s->flags;
	d->base = s->base;
}

/* Segment limits, flags, LDT and TR of vCPU vcpu, as QEMU's own notes
 * have them (arch_dump.c qemu_get_seg), when the backend can tell. */
static void put_segs(struct qvmi_ctx *ctx, unsigned int vcpu,
		     struct qvmi_qemu_cpustate *st)
{
	struct qvmi__segs s;

	if (!ctx->ctl || !ctx->ctl->ops->get_segs ||
	    ctx->ctl->ops->get_segs(ctx->ctl, vcpu, &s))
		return;
	seg_to_note(&s.cs, &st->cs), seg_to_note(&s.ds, &st->ds);
	seg_to_note(&s.es, &st->es), seg_to_note(&s.fs, &st->fs);
	seg_to_note(&s.gs, &st->gs), seg_to_note(&s.ss, &st->ss);
	seg_to_note(&s.ldt, &st->ldt), seg_to_note(&s.tr, &st->tr);
}

/* The VMCOREINFO text: the caller's (from guest memory), else the one of
 * the dump being read. */
static int vmci_text(struct qvmi__writer *w, const char **ret, size_t *len)
{
	const struct qvmi_dump_kernel *k = w->kernel;

	*ret = NULL;
	*len = 0;
	if (k && k->vmcoreinfo) {
		if (!k->vmcoreinfo_len ||
		    k->vmcoreinfo_len > QVMI_DUMP_MAX_VMCOREINFO)
			return qvmi__err(w->ctx, -EINVAL,
					 "dump: VMCOREINFO of %zu bytes",
					 k->vmcoreinfo_len);
		*ret = k->vmcoreinfo;
		*len = k->vmcoreinfo_len;
	} else if ((*ret = qvmi_vmcoreinfo(w->ctx))) {
		*len = strlen(*ret);
	}
	return 0;
}

/* CORE notes for all vCPUs, then QEMU notes, then VMCOREINFO: QEMU's
 * order (dump.c write_elf64_notes). */
int qvmi__dump_notes(struct qvmi__writer *w, struct qvmi__notes *ret)
{
	struct qvmi_regs_x86 *regs;
	unsigned int *cpu = NULL;
	size_t i, n, len, vlen;
	const char *vmci;
	uint8_t *buf, *p;
	bool lm;
	int err;

	err = vmci_text(w, &vmci, &vlen);
	if (!err)
		err = collect_regs(w->ctx, &regs, &cpu, &n);
	if (err)
		return err;
	lm = long_mode(regs, n);
	len = n * (note_len("CORE", lm ? sizeof(struct qvmi_prstatus64) :
					 sizeof(struct qvmi_prstatus32)) +
		   note_len("QEMU", sizeof(struct qvmi_qemu_cpustate)));
	if (vmci)
		len += note_len("VMCOREINFO", vlen);
	buf = calloc(1, len ? len : 1);
	if (!buf) {
		free(regs);
		free(cpu);
		return qvmi__err(w->ctx, -ENOMEM, "out of memory");
	}
	p = buf;
	for (i = 0; i < n; i++)
		p = put_prstatus(p, &regs[i], (uint32_t)i + 1, lm);
	for (i = 0; i < n; i++) {
		struct qvmi_qemu_cpustate st;

		qvmi__regs_to_cpustate(&regs[i], &st);
		put_segs(w->ctx, cpu[i], &st);
		p = note_put(p, "QEMU", 0, &st, sizeof(st));
	}
	ret->vmci_off = 0;
	if (vmci) {
		ret->vmci_off = (size_t)(p - buf) + sizeof(Elf64_Nhdr) +
				al4(sizeof("VMCOREINFO"));
		note_put(p, "VMCOREINFO", 0, vmci, vlen);
	}
	ret->nvcpus = n;
	free(regs);
	free(cpu);
	ret->buf = buf;
	ret->len = len;
	ret->machine = lm ? EM_X86_64 : EM_386;
	return 0;
}

/* ---- headers ------------------------------------------------------------ */

static void fill_ehdr(Elf64_Ehdr *eh, size_t phnum, uint16_t machine)
{
	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_CORE;
	eh->e_machine = machine;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)phnum;
}

/* Header, program headers and notes in one buffer; sets each range's file
 * offset and the file's total size. */
static int build_head(struct qvmi__writer *w, struct qvmi__wrange *r, size_t n,
		      uint8_t **ret, size_t *lenret, uint64_t *fsize)
{
	struct qvmi__notes nt = { NULL, 0, EM_X86_64, 0 };
	size_t phnum, head, i;
	Elf64_Phdr *ph;
	uint8_t *buf;
	uint64_t off;
	int err;

	err = qvmi__dump_notes(w, &nt);
	if (err)
		return err;
	phnum = n + (nt.len ? 1 : 0);
	if (phnum >= PN_XNUM) {
		free(nt.buf);
		return qvmi__err(w->ctx, -E2BIG, "dump: %zu ranges is too many",
				 n);
	}
	head = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr) + nt.len;
	buf = calloc(1, head);
	if (!buf) {
		free(nt.buf);
		return qvmi__err(w->ctx, -ENOMEM, "out of memory");
	}
	fill_ehdr((Elf64_Ehdr *)buf, phnum, nt.machine);
	ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
	if (nt.len) {
		*ph++ = (Elf64_Phdr){ .p_type = PT_NOTE,
				      .p_offset = head - nt.len,
				      .p_filesz = nt.len,
				      .p_memsz = nt.len };
		memcpy(buf + head - nt.len, nt.buf, nt.len);
	}
	free(nt.buf);
	off = (head + QVMI_PAGE_SIZE - 1) & ~(uint64_t)(QVMI_PAGE_SIZE - 1);
	for (i = 0; i < n; i++, ph++) {
		r[i].off = off;
		*ph = (Elf64_Phdr){
			.p_type = PT_LOAD,
			.p_flags = PF_R | PF_W | PF_X,
			.p_offset = off,
			.p_vaddr = r[i].va, /* paddr without a kernel layout */
			.p_paddr = r[i].gpa,
			.p_filesz = r[i].size,
			.p_memsz = r[i].size
		};
		off += r[i].size;
	}
	*ret = buf;
	*lenret = head;
	*fsize = off;
	return 0;
}

int qvmi__dump_write_elf(struct qvmi__writer *w, struct qvmi__wrange **r,
			 size_t *n)
{
	uint8_t *head = NULL;
	size_t len = 0;
	uint64_t fsize = 0;
	int err = 0;

	if (w->kernel)
		err = split_kernel(w->ctx, w->kernel, r, n);
	if (!err)
		err = build_head(w, *r, *n, &head, &len, &fsize);
	if (err)
		return err;
	err = qvmi__dump_put(w, head, len, 0);
	free(head);
	return err ? err : qvmi__dump_copy_all(w, *r, *n, fsize);
}
