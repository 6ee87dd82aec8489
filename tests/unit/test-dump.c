// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading dump files: ELF cores built in C the way QMP dump-guest-memory
 * writes them (dumpcore.h), raw images with and without a memory map, and
 * broken, truncated and oversized variants.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/dump.h"
#include "dumpcore.h"

/* ---- ELF: good cores ------------------------------------------------------ */

static void test_elf_reads(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_cache_stats cs0, cs1;
	struct qvmi_ram_range rr;
	struct qvmi_vm_info info;
	enum qvmi_vm_state st;
	struct tcore c;
	uint8_t out[0x2000];

	std_core(&c);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_OK(qvmi_read_pa(ctx, 0x1ff0, out, 0x20));
	for (int i = 0; i < 0x20; i++)
		CHECK_INT(out[i], ==, pat(1, 0x1ff0 + (uint64_t)i));
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, out, 0x2000));
	CHECK_INT(out[0x1fff], ==, pat(2, 0x1fff));
	/* a gap right after the first range */
	CHECK_INT(qvmi_read_pa(ctx, 0x2ff0, out, 0x20), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x3000);
	CHECK_INT(qvmi_read_pa(ctx, 0x102000, out, 1), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x102000);
	/* p_memsz > p_filesz: the tail reads as zeros */
	CHECK_OK(qvmi_read_pa(ctx, 0xfffc0ff0, out, 0x20));
	CHECK_INT(out[0xf], ==, pat(3, 0xfff));
	CHECK_INT(out[0x10], ==, 0);
	CHECK_INT(out[0x1f], ==, 0);
	CHECK_INT(qvmi_read_pa(ctx, 0xfffc2000, out, 1), ==, -EFAULT);
	CHECK_INT(qvmi_ram_count(ctx), ==, 3);
	CHECK_OK(qvmi_ram_get(ctx, 2, &rr));
	CHECK_U64(rr.gpa, ==, 0xfffc0000);
	CHECK_U64(rr.size, ==, 0x2000);
	CHECK_OK(qvmi_vm_info(ctx, &info));
	CHECK_STR(info.backend, "elf");
	CHECK_INT(info.vcpus, ==, 2);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_FROZEN);
	CHECK_INT(qvmi_vm_pause(ctx), ==, -EOPNOTSUPP);
	CHECK_INT(qvmi_write_pa(ctx, 0, out, 1), ==, -EOPNOTSUPP);
	CHECK_STR(qvmi_vmcoreinfo(ctx), vmci_text);
	/* frozen pages are cached: the second small read is a hit */
	qvmi_cache_stats(ctx, &cs0);
	CHECK_OK(qvmi_read_pa(ctx, 0x1008, out, 8));
	CHECK_OK(qvmi_read_pa(ctx, 0x1010, out, 8));
	qvmi_cache_stats(ctx, &cs1);
	CHECK_U64(cs1.hits, >=, cs0.hits + 1);
	CHECK_INT(out[0], ==, pat(1, 0x1010));
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

static void test_elf_qemu_regs(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_regs_x86 r;
	struct tcore c;

	std_core(&c);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
	for (int i = 0; i < 2; i++) {
		CHECK_OK(qvmi_get_regs(ctx, (unsigned int)i, &r));
		/* the QEMU note wins over prstatus (whose rip is +1) */
		CHECK_U64(r.rip, ==, rip_of(i));
		CHECK_U64(r.cr3, ==, cr3_of(i));
		CHECK_U64(r.rax, ==, 0xaa00 + (uint64_t)i);
		CHECK_U64(r.r15, ==, 0xff00 + (uint64_t)i);
		CHECK_U64(r.cr0, ==, 0x80050033);
		CHECK_U64(r.cr4, ==, 0x6f0);
		CHECK_U64(r.cs, ==, 0x10);
		CHECK_U64(r.gs_base, ==,
			  0xffff88801f400000ull + ((uint64_t)i << 20));
		CHECK_U64(r.idt_base, ==, 0xfffffe0000000000ull);
		CHECK_U64(r.gdt_limit, ==, 0x7f);
		CHECK_U64(r.kernel_gs_base, ==, 0x7f00000000ull + (uint64_t)i);
		/* not in the note: LME|LMA|NXE from EM_X86_64 + PG + PAE */
		CHECK_U64(r.efer, ==, 0xd00);
		CHECK_U64(r.valid, ==,
			  QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES |
				  QVMI_REGS_CR | QVMI_REGS_TABLES |
				  QVMI_REGS_KGS);
	}
	CHECK_INT(qvmi_get_regs(ctx, 2, &r), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

/* QEMU <= 7.0 wrote QEMUCPUState without kernel_gs_base (size 432). */
static void test_elf_old_qemu_note(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_qemu_cpustate s;
	struct qvmi_regs_x86 r;
	uint8_t *notes = NULL;
	size_t nl = 0;
	struct tcore c;

	cpustate(0, &s);
	s.size = QVMI_QEMU_CPUSTATE_MIN;
	note_add(&notes, &nl, "QEMU", 0, &s, QVMI_QEMU_CPUSTATE_MIN);
	make_core(&c, std_loads, 1, notes, nl);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.cr3, ==, cr3_of(0));
	CHECK(!(r.valid & QVMI_REGS_KGS));
	CHECK_U64(r.kernel_gs_base, ==, 0);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
	free(notes);
}

/* EM_386 core (vCPU 0 not in long mode): no LMA; paging off: no EFER. */
static void test_elf_efer_derived(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_qemu_cpustate s;
	struct qvmi_regs_x86 r;
	uint8_t *notes = NULL;
	size_t nl = 0;
	struct tcore c;

	cpustate(0, &s);
	note_add(&notes, &nl, "QEMU", 0, &s, sizeof(s));
	cpustate(1, &s);
	s.cr[0] = 0x10; /* PG clear */
	note_add(&notes, &nl, "QEMU", 0, &s, sizeof(s));
	make_core(&c, std_loads, 1, notes, nl);
	EH(&c)->e_machine = EM_386;
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.efer, ==, 0x800);
	CHECK_OK(qvmi_get_regs(ctx, 1, &r));
	CHECK_U64(r.efer, ==, 0);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
	free(notes);
}

/* An ELFCLASS32 core, as QEMU writes when vCPU 0 is not in long mode and
 * RAM ends below 4 GiB: ehdr | PT_NOTE, PT_LOAD | notes | data. */
static void test_elf_class32(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_qemu_cpustate s;
	struct qvmi_prstatus32 p;
	struct qvmi_regs_x86 r;
	uint8_t *notes = NULL, *buf, out[4];
	size_t nl = 0, off, len;
	Elf32_Ehdr eh = { .e_type = ET_CORE,
			  .e_machine = EM_386,
			  .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf32_Ehdr),
			  .e_ehsize = sizeof(Elf32_Ehdr),
			  .e_phentsize = sizeof(Elf32_Phdr),
			  .e_phnum = 2 };
	Elf32_Phdr ph[2] = { { .p_type = PT_NOTE }, { .p_type = PT_LOAD } };

	memset(&p, 0, sizeof(p));
	p.eip = 0xfff0;
	note_add(&notes, &nl, "CORE", NT_PRSTATUS, &p, sizeof(p));
	cpustate(0, &s);
	s.cr[0] = 0x11; /* protected mode, no paging */
	note_add(&notes, &nl, "QEMU", 0, &s, sizeof(s));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	off = sizeof(eh) + sizeof(ph);
	ph[0].p_offset = (Elf32_Off)off;
	ph[0].p_filesz = ph[0].p_memsz = (Elf32_Word)nl;
	ph[1].p_offset = (Elf32_Off)(off + nl);
	ph[1].p_paddr = 0xa0000;
	ph[1].p_filesz = ph[1].p_memsz = 0x1000;
	len = off + nl + 0x1000;
	buf = calloc(1, len);
	CHECK(buf);
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	memcpy(buf + off, notes, nl);
	memset(buf + off + nl, 0x5a, 0x1000);
	CHECK_OK(attach_buf(ctx, buf, len, NULL));
	CHECK_OK(qvmi_read_pa(ctx, 0xa0ffc, out, 4));
	CHECK_INT(out[3], ==, 0x5a);
	CHECK_INT(qvmi_read_pa(ctx, 0xa1000, out, 1), ==, -EFAULT);
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 1);
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.rip, ==, rip_of(0)); /* from the QEMU note */
	CHECK_U64(r.cr0, ==, 0x11);
	CHECK_U64(r.efer, ==, 0);
	qvmi_ctx_destroy(ctx);
	/* a 32-bit core with 64-bit program header size is refused */
	ctx = new_ctx();
	((Elf32_Ehdr *)buf)->e_phentsize = sizeof(Elf64_Phdr);
	CHECK_INT(attach_buf(ctx, buf, len, NULL), ==, -EBADMSG);
	/* truncated inside its 52-byte header */
	CHECK_INT(attach_buf(ctx, buf, 40, NULL), ==, -EBADMSG);
	qvmi_ctx_destroy(ctx);
	free(buf);
	free(notes);
}

/* The i386 NT_PRSTATUS layout (144 bytes). */
static void test_elf_prstatus32(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_prstatus32 p;
	struct qvmi_regs_x86 r;
	uint8_t *notes = NULL;
	size_t nl = 0;
	struct tcore c;

	memset(&p, 0, sizeof(p));
	p.pid = 1;
	p.eax = 0x11223344, p.esp = 0xc0ffee00, p.eip = 0xc1000000;
	p.eflags = 0x202, p.cs = 0x60, p.ss = 0x68, p.fs = 0xd8;
	note_add(&notes, &nl, "CORE", NT_PRSTATUS, &p, sizeof(p));
	make_core(&c, std_loads, 1, notes, nl);
	EH(&c)->e_machine = EM_386;
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 1);
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.rax, ==, 0x11223344);
	CHECK_U64(r.rsp, ==, 0xc0ffee00);
	CHECK_U64(r.rip, ==, 0xc1000000);
	CHECK_U64(r.cs, ==, 0x60);
	CHECK_U64(r.fs, ==, 0xd8);
	CHECK_U64(r.valid, ==, QVMI_REGS_GPR | QVMI_REGS_SEG);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
	free(notes);
}

static void test_elf_prstatus_only(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_regs_x86 r;
	struct tcore c;
	size_t nl;
	uint8_t *notes = std_notes(&nl, 3, 0, false);

	make_core(&c, std_loads, 2, notes, nl);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 3);
	CHECK_OK(qvmi_get_regs(ctx, 2, &r));
	CHECK_U64(r.rip, ==, rip_of(2) + 1);
	CHECK_U64(r.rax, ==, 0xbb02);
	CHECK_U64(r.r15, ==, 0xee02);
	CHECK_U64(r.rflags, ==, 0x202);
	CHECK_U64(r.gs_base, ==, 0xffff88801f400000ull);
	CHECK_U64(r.valid, ==, QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES);
	CHECK_U64(r.cr3, ==, 0);
	CHECK(qvmi_vmcoreinfo(ctx) == NULL);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
	free(notes);
}

static void test_elf_no_notes(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_regs_x86 r;
	struct tcore c;

	make_core(&c, std_loads, 2, NULL, 0);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 0);
	CHECK_INT(qvmi_get_regs(ctx, 0, &r), ==, -EINVAL);
	CHECK(qvmi_vmcoreinfo(ctx) == NULL);
	CHECK_INT(qvmi_map_count(ctx), ==, 2);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

/* e_phnum == PN_XNUM: the count lives in section header 0's sh_info. */
static void test_elf_xnum(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct tcore c;
	Elf64_Ehdr *eh;
	Elf64_Shdr sh = { .sh_info = 3 };
	uint8_t *buf, b;

	make_core(&c, std_loads, 3, NULL, 0);
	buf = realloc(c.buf, c.len + sizeof(sh));
	CHECK(buf);
	memcpy(buf + c.len, &sh, sizeof(sh));
	eh = (Elf64_Ehdr *)buf;
	eh->e_phnum = PN_XNUM;
	eh->e_shoff = c.len;
	eh->e_shentsize = sizeof(sh);
	eh->e_shnum = 0;
	CHECK_OK(attach_buf(ctx, buf, c.len + sizeof(sh), NULL));
	CHECK_INT(qvmi_ram_count(ctx), ==, 3);
	CHECK_OK(qvmi_read_pa(ctx, 0xfffc0000, &b, 1));
	CHECK_INT(b, ==, pat(3, 0));
	qvmi_ctx_destroy(ctx);
	/* and without a section header it is refused */
	ctx = new_ctx();
	eh->e_shoff = 0;
	CHECK_INT(attach_buf(ctx, buf, c.len + sizeof(sh), NULL), ==, -EBADMSG);
	qvmi_ctx_destroy(ctx);
	free(buf);
}

static void test_attach_errors(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	char fifo[128];
	struct tcore c;

	CHECK_INT(qvmi_attach_dump(ctx, "/nonexistent/x.elf", NULL), ==,
		  -ENOENT);
	CHECK(strstr(qvmi_errmsg(ctx), "/nonexistent/x.elf"));
	/* a directory, a FIFO (must not block), a character device */
	CHECK_INT(qvmi_attach_dump(ctx, "/tmp", NULL), ==, -EINVAL);
	tmp_path(fifo, sizeof(fifo), "fifo");
	unlink(fifo);
	CHECK_OK(mkfifo(fifo, 0600));
	CHECK_INT(qvmi_attach_dump(ctx, fifo, NULL), ==, -EINVAL);
	unlink(fifo);
	CHECK_INT(qvmi_attach_dump(ctx, "/dev/zero", NULL), ==, -EINVAL);
	std_core(&c);
	QVMI_OPTS(qvmi_dump_opts, bad_fmt, .format = "qcow2");
	CHECK_INT(attach_buf(ctx, c.buf, c.len, &bad_fmt), ==, -EINVAL);
	QVMI_OPTS(qvmi_dump_opts, elf_map, .raw_map = "0:0x1000");
	CHECK_INT(attach_buf(ctx, c.buf, c.len, &elf_map), ==, -EINVAL);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(attach_buf(ctx, c.buf, c.len, NULL), ==, -EBUSY);
	/* the first attach is untouched */
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
	qvmi_ctx_destroy(ctx);
	/* forcing "raw" on an ELF file reads it as bytes */
	ctx = new_ctx();
	QVMI_OPTS(qvmi_dump_opts, raw, .format = "raw");
	CHECK_OK(attach_buf(ctx, c.buf, c.len, &raw));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 0);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

/* ---- ELF: broken cores ---------------------------------------------------- */

/* std_core: PH 0 is the PT_NOTE, 1..3 the loads.  Notes: 2 CORE of
 * 12 + 8 + 336 bytes, then 2 QEMU of 12 + 8 + 440. */
#define NOTE(c, i) ((Elf64_Nhdr *)((c)->buf + (c)->notes_off + 356 * (i)))
/* The first QEMU note's descriptor is only 4-byte aligned: poke it with
 * memcpy. */
static void qnote_set(struct tcore *c, size_t field, uint32_t v)
{
	memcpy(c->buf + c->notes_off + 712 + 20 + field, &v, sizeof(v));
}

static void m_magic(struct tcore *c)
{
	c->buf[1] = 'X';
}
static void m_class32(struct tcore *c)
{
	c->buf[EI_CLASS] = ELFCLASS32;
}
static void m_class7(struct tcore *c)
{
	c->buf[EI_CLASS] = 7;
}
static void m_msb(struct tcore *c)
{
	c->buf[EI_DATA] = ELFDATA2MSB;
}
static void m_eiver(struct tcore *c)
{
	c->buf[EI_VERSION] = 0;
}
static void m_ever(struct tcore *c)
{
	EH(c)->e_version = 2;
}
static void m_type(struct tcore *c)
{
	EH(c)->e_type = ET_EXEC;
}
static void m_machine(struct tcore *c)
{
	EH(c)->e_machine = EM_AARCH64;
}
static void m_phentsize(struct tcore *c)
{
	EH(c)->e_phentsize = 32;
}
static void m_phnum0(struct tcore *c)
{
	EH(c)->e_phnum = 0;
}
static void m_phnum_big(struct tcore *c)
{
	EH(c)->e_phnum = 0xfff0;
}
static void m_phoff_end(struct tcore *c)
{
	EH(c)->e_phoff = c->len;
}
static void m_phoff_wrap(struct tcore *c)
{
	EH(c)->e_phoff = UINT64_MAX - 8;
}
static void m_phoff0(struct tcore *c)
{
	EH(c)->e_phoff = 0;
}
static void m_xnum_huge(struct tcore *c)
{
	/* section header 0 overlays the phdrs: sh_info at +44 */
	EH(c)->e_phnum = PN_XNUM;
	EH(c)->e_shoff = c->phoff;
	EH(c)->e_shentsize = sizeof(Elf64_Shdr);
	*(uint32_t *)(c->buf + c->phoff + 44) = 1u << 21;
}
static void m_filesz_gt_memsz(struct tcore *c)
{
	PH(c, 1)->p_filesz++;
}
static void m_load_off_end(struct tcore *c)
{
	PH(c, 2)->p_offset = c->len;
}
static void m_load_off_wrap(struct tcore *c)
{
	PH(c, 2)->p_offset = UINT64_MAX - 0x100;
}
static void m_load_huge(struct tcore *c)
{
	PH(c, 1)->p_filesz = PH(c, 1)->p_memsz = 1ull << 62;
}
static void m_paddr_wrap(struct tcore *c)
{
	PH(c, 3)->p_paddr = UINT64_MAX - 0x10;
}
static void m_paddr_52(struct tcore *c)
{
	PH(c, 3)->p_paddr = 1ull << 52;
}
static void m_memsz_huge(struct tcore *c)
{
	PH(c, 3)->p_memsz = 1ull << 53;
}
static void m_note_off(struct tcore *c)
{
	PH(c, 0)->p_offset = c->len - 4;
}
static void m_note_size(struct tcore *c)
{
	PH(c, 0)->p_filesz = 1ull << 40;
}
static void m_namesz(struct tcore *c)
{
	NOTE(c, 0)->n_namesz = 0xffffffff;
}
static void m_descsz(struct tcore *c)
{
	NOTE(c, 1)->n_descsz = 0xfffffff0;
}
static void m_prs_size(struct tcore *c)
{
	NOTE(c, 0)->n_descsz = 200;
}
static void m_qemu_ver(struct tcore *c)
{
	qnote_set(c, offsetof(struct qvmi_qemu_cpustate, version), 2);
}
static void m_qemu_size_small(struct tcore *c)
{
	qnote_set(c, offsetof(struct qvmi_qemu_cpustate, size), 16);
}
static void m_qemu_size_big(struct tcore *c)
{
	qnote_set(c, offsetof(struct qvmi_qemu_cpustate, size), 4096);
}
static void m_qemu_short(struct tcore *c)
{
	NOTE(c, 2)->n_descsz = 100;
}

static const struct mutation {
	const char *what;
	void (*fn)(struct tcore *c);
	int err;
} mutations[] = {
	{ "magic", m_magic, -EBADMSG },
	{ "class32", m_class32, -EBADMSG }, /* e_phentsize then */
	{ "class7", m_class7, -EBADMSG },
	{ "msb", m_msb, -EBADMSG },
	{ "ei_version", m_eiver, -EBADMSG },
	{ "e_version", m_ever, -EBADMSG },
	{ "e_type", m_type, -EBADMSG },
	{ "e_machine", m_machine, -EOPNOTSUPP },
	{ "e_phentsize", m_phentsize, -EBADMSG },
	{ "e_phnum 0", m_phnum0, -EBADMSG },
	{ "e_phnum big", m_phnum_big, -EBADMSG },
	{ "e_phoff end", m_phoff_end, -EBADMSG },
	{ "e_phoff wrap", m_phoff_wrap, -EBADMSG },
	{ "e_phoff 0", m_phoff0, -EBADMSG },
	{ "xnum huge", m_xnum_huge, -EBADMSG },
	{ "filesz > memsz", m_filesz_gt_memsz, -EBADMSG },
	{ "load offset end", m_load_off_end, -EBADMSG },
	{ "load offset wrap", m_load_off_wrap, -EBADMSG },
	{ "load huge", m_load_huge, -EBADMSG },
	{ "paddr wrap", m_paddr_wrap, -EBADMSG },
	{ "paddr 2^52", m_paddr_52, -EBADMSG },
	{ "memsz huge", m_memsz_huge, -EBADMSG },
	{ "note offset", m_note_off, -EBADMSG },
	{ "note size", m_note_size, -EBADMSG },
	{ "namesz", m_namesz, -EBADMSG },
	{ "descsz", m_descsz, -EBADMSG },
	{ "prstatus size", m_prs_size, -EBADMSG },
	{ "QEMUCPUState version", m_qemu_ver, -EBADMSG },
	{ "QEMUCPUState size small", m_qemu_size_small, -EBADMSG },
	{ "QEMUCPUState size big", m_qemu_size_big, -EBADMSG },
	{ "QEMU note short", m_qemu_short, -EBADMSG },
};

/* A failed attach leaves the context clean and usable. */
static void check_failed_clean(struct qvmi_ctx *ctx, const struct tcore *good)
{
	CHECK(qvmi_errmsg(ctx)[0]);
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	CHECK_INT(qvmi_ram_count(ctx), ==, 0);
	CHECK_INT(qvmi_vcpu_count(ctx), ==, -EOPNOTSUPP);
	CHECK_OK(attach_buf(ctx, good->buf, good->len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
}

static void test_elf_corrupt_fields(void)
{
	QVMI_OPTS(qvmi_dump_opts, elf, .format = "elf");
	struct tcore good, c;
	size_t i;

	std_core(&good);
	for (i = 0; i < QVMI_ARRAY_SIZE(mutations); i++) {
		struct qvmi_ctx *ctx = new_ctx();
		int err;

		std_core(&c);
		mutations[i].fn(&c);
		err = attach_buf(ctx, c.buf, c.len, &elf);
		CHECK_MSG(err == mutations[i].err, "%s: got %d (%s), want %d",
			  mutations[i].what, err, qvmi_errmsg(ctx),
			  mutations[i].err);
		check_failed_clean(ctx, &good);
		qvmi_ctx_destroy(ctx);
		free(c.buf);
	}
	free(good.buf);
}

static void test_elf_truncated(void)
{
	QVMI_OPTS(qvmi_dump_opts, elf, .format = "elf");
	struct qvmi_ctx *ctx = new_ctx();
	struct tcore c;
	size_t cut, head;

	std_core(&c);
	head = c.notes_off + c.notes_len + 64;
	for (cut = 0; cut < c.len; cut += cut < head ? 1 : 97) {
		int err = attach_buf(ctx, c.buf, cut, &elf);

		CHECK_MSG(err == -EBADMSG, "cut at %zu: %d (%s)", cut, err,
			  qvmi_errmsg(ctx));
		CHECK_INT(qvmi_map_count(ctx), ==, 0);
	}
	/* detected by content: 3 bytes are no dump format */
	CHECK_INT(attach_buf(ctx, c.buf, 0, NULL), ==, -EBADMSG);
	CHECK_INT(attach_buf(ctx, c.buf, 3, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "unknown dump format"));
	QVMI_OPTS(qvmi_dump_opts, raw, .format = "raw");
	CHECK_OK(attach_buf(ctx, c.buf, 3, &raw));
	qvmi_ctx_destroy(ctx);
	ctx = new_ctx();
	CHECK_INT(attach_buf(ctx, c.buf, c.len - 1, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "truncated"));
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

/* n copies of one note, built in one buffer (note_add would realloc n
 * times, which is quadratic). */
static uint8_t *repeat_note(const char *name, uint32_t type, const void *desc,
			    size_t descsz, size_t n, size_t *len)
{
	uint8_t *one = NULL, *buf;
	size_t l1 = 0;

	note_add(&one, &l1, name, type, desc, descsz);
	buf = malloc(l1 * n);
	CHECK(buf);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * l1, one, l1);
	free(one);
	*len = l1 * n;
	return buf;
}

static void test_elf_huge_counts(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_prstatus64 p;
	uint8_t *notes, empty = 0;
	struct tcore c;
	size_t nl;

	/* more notes than the budget */
	notes = repeat_note("", 7, &empty, 0, QVMI_DUMP_MAX_NOTES + 1, &nl);
	make_core(&c, std_loads, 1, notes, nl);
	CHECK_INT(attach_buf(ctx, c.buf, c.len, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "too many notes"));
	free(c.buf);
	free(notes);
	/* more vCPUs than the budget */
	prstatus(0, &p);
	notes = repeat_note("CORE", NT_PRSTATUS, &p, sizeof(p),
			    QVMI_DUMP_MAX_VCPUS + 1, &nl);
	make_core(&c, std_loads, 1, notes, nl);
	CHECK_INT(attach_buf(ctx, c.buf, c.len, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "too many vCPUs"));
	free(c.buf);
	free(notes);
	/* exactly at the budget is fine */
	notes = repeat_note("CORE", NT_PRSTATUS, &p, sizeof(p),
			    QVMI_DUMP_MAX_VCPUS, &nl);
	make_core(&c, std_loads, 1, notes, nl);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, QVMI_DUMP_MAX_VCPUS);
	free(c.buf);
	free(notes);
	qvmi_ctx_destroy(ctx);
}

/* PT_LOADs: 4096 are fine, 4097 too many; zero fill is bounded. */
static void test_elf_many_loads(void)
{
	struct tload *l = calloc(QVMI_DUMP_MAX_LOADS + 1, sizeof(*l));
	struct qvmi_ctx *ctx = new_ctx();
	struct tcore c;
	uint8_t *buf;
	size_t i, len;

	CHECK(l);
	for (i = 0; i <= QVMI_DUMP_MAX_LOADS; i++)
		l[i] = (struct tload){ (uint64_t)i << 13, 0, 0x1000, 0 };
	/* make_core takes 8 loads: patch a core with 4097 by hand */
	make_core(&c, l, 1, NULL, 0);
	len = sizeof(Elf64_Ehdr) +
	      (QVMI_DUMP_MAX_LOADS + 1) * sizeof(Elf64_Phdr);
	buf = calloc(1, len);
	CHECK(buf);
	memcpy(buf, c.buf, sizeof(Elf64_Ehdr));
	/* each names the same file bytes (the header), none adjacent in
	 * guest-physical space: the index cannot merge them */
	for (i = 0; i <= QVMI_DUMP_MAX_LOADS; i++) {
		Elf64_Phdr ph = { .p_type = PT_LOAD,
				  .p_paddr = l[i].paddr,
				  .p_filesz = 0x40,
				  .p_memsz = 0x40 };

		memcpy(buf + sizeof(Elf64_Ehdr) + i * sizeof(ph), &ph,
		       sizeof(ph));
	}
	((Elf64_Ehdr *)buf)->e_phnum = QVMI_DUMP_MAX_LOADS + 1;
	CHECK_INT(attach_buf(ctx, buf, len, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "too many PT_LOADs"));
	((Elf64_Ehdr *)buf)->e_phnum = QVMI_DUMP_MAX_LOADS;
	CHECK_OK(attach_buf(ctx, buf, len - sizeof(Elf64_Phdr), NULL));
	CHECK_INT(qvmi_ram_count(ctx), ==, QVMI_DUMP_MAX_LOADS);
	qvmi_ctx_destroy(ctx);
	/* 64 GiB + 4 KiB - 0x40 of zero fill */
	ctx = new_ctx();
	((Elf64_Ehdr *)buf)->e_phnum = 2;
	((Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr)))->p_memsz =
		(64ull << 30) + 0x1040;
	CHECK_INT(attach_buf(ctx, buf, len, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "zero-fill"));
	qvmi_ctx_destroy(ctx);
	free(buf);
	free(c.buf);
	free(l);
}

/*
 * PT_LOADs that name one physical page twice: kexec-style (/proc/vmcore:
 * the kernel image's PT_LOAD inside a RAM one) and QEMU paging=true (one
 * PT_LOAD per virtual mapping, all pointing at the same file data).  The
 * reader indexes them by physical address; a PT_LOAD without file data
 * (paging=true, a mapping of what is not RAM) is left out.
 */
static void test_elf_overlapping_loads(void)
{
	static const struct tload l[] = {
		{ 0x100000, 0x2000, 0x2000, 2 }, /* "kernel image" */
		{ 0x0, 0x3000, 0x3000, 1 },
		{ 0x100000, 0x4000, 0x4000, 2 }, /* RAM around the image */
		{ 0xfee00000, 0, 0x1000, 0 }, /* paging=true: the APIC */
	};
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t x[0x4000];
	struct tcore c;
	Elf64_Phdr *ph;

	make_core(&c, l, 4, NULL, 0);
	ph = (Elf64_Phdr *)(c.buf + c.phoff);
	/* the image's PT_LOAD names the RAM PT_LOAD's bytes */
	ph[0].p_offset = c.data_off[2];
	for (size_t i = 0; i < 0x4000; i++)
		c.buf[c.data_off[2] + i] = pat(7, i);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_INT(qvmi_map_count(ctx), ==, 2);
	CHECK_INT(qvmi_ram_count(ctx), ==, 2);
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, x, sizeof(x)));
	CHECK(!memcmp(x, c.buf + c.data_off[2], sizeof(x)));
	CHECK_INT(qvmi_read_pa(ctx, 0xfee00000, x, 4), ==, -EFAULT);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

/* Deterministic random damage to headers and notes: never a crash. */
static void test_elf_random_damage(void)
{
	struct tcore good;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int ok = 0, failed = 0;

	std_core(&good);
	for (int iter = 0; iter < 3000; iter++) {
		struct qvmi_ctx *ctx = new_ctx();
		size_t head = good.notes_off + good.notes_len;
		struct qvmi_regs_x86 r;
		uint8_t *b = malloc(good.len), out[64];
		int err;

		CHECK(b);
		memcpy(b, good.buf, good.len);
		for (int k = 0; k < 1 + iter % 4; k++) {
			seed = seed * 6364136223846793005ull +
			       1442695040888963407ull;
			b[(seed >> 33) % head] ^=
				(uint8_t)(1u << ((seed >> 20) & 7));
		}
		err = attach_buf(ctx, b, good.len, NULL);
		if (!err) {
			ok++;
			qvmi_read_pa(ctx, 0x1000, out, sizeof(out));
			for (int v = 0; v < qvmi_vcpu_count(ctx); v++)
				CHECK_OK(qvmi_get_regs(ctx, (unsigned int)v,
						       &r));
		} else {
			failed++;
			CHECK(err < 0 && qvmi_errmsg(ctx)[0]);
		}
		qvmi_ctx_destroy(ctx);
		free(b);
	}
	/* both outcomes happen: the damage is not all in ignored bytes */
	CHECK(ok > 100 && failed > 100);
	free(good.buf);
}

/* ---- raw images ----------------------------------------------------------- */

static uint8_t *raw_image(size_t len)
{
	uint8_t *b = malloc(len);

	CHECK(b);
	for (size_t i = 0; i < len; i++)
		b[i] = pat(9, i);
	return b;
}

static void test_raw_whole(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t *img = raw_image(0x5000), out[16];
	struct qvmi_vm_info info;
	struct qvmi_regs_x86 r;
	enum qvmi_vm_state st;

	QVMI_OPTS(qvmi_dump_opts, raw, .format = "raw");

	/* no BIOS vector table at 0: not taken for a raw image unasked */
	CHECK_INT(attach_buf(ctx, img, 0x5000, NULL), ==, -EBADMSG);
	CHECK_OK(attach_buf(ctx, img, 0x5000, &raw));
	CHECK_OK(qvmi_read_pa(ctx, 0x1234, out, 16));
	CHECK(!memcmp(out, img + 0x1234, 16));
	CHECK_INT(qvmi_read_pa(ctx, 0x4ff8, out, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x5000);
	CHECK_INT(qvmi_ram_count(ctx), ==, 1);
	CHECK_OK(qvmi_vm_info(ctx, &info));
	CHECK_STR(info.backend, "raw");
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 0);
	CHECK_INT(qvmi_get_regs(ctx, 0, &r), ==, -EOPNOTSUPP);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_FROZEN);
	qvmi_ctx_destroy(ctx);
	free(img);
}

/* The image's identity (profile.c trusts its own hash of an image with
 * the same id): the same unchanged file twice is one image; the file
 * rewritten in place, or another file, is another. */
static void test_mem_id(void)
{
	uint8_t *img = raw_image(0x5000);
	char path[80], id1[160], id2[160];
	struct qvmi_ctx *ctx = new_ctx();
	FILE *f;

	QVMI_OPTS(qvmi_dump_opts, raw, .format = "raw");
	tmp_path(path, sizeof(path), "memid");
	CHECK((f = fopen(path, "w")) && fwrite(img, 0x5000, 1, f) == 1);
	fclose(f);
	CHECK_OK(qvmi_attach_dump(ctx, path, &raw));
	snprintf(id1, sizeof(id1), "%s", ctx->mem_id);
	CHECK(strstr(id1, " file "));
	qvmi_ctx_destroy(ctx);
	ctx = new_ctx();
	CHECK_OK(qvmi_attach_dump(ctx, path, &raw));
	CHECK_STR(ctx->mem_id, id1);
	qvmi_ctx_destroy(ctx);
	/* the same size and bytes, written again: ctime moved */
	usleep(20000);
	CHECK((f = fopen(path, "r+")) && fwrite(img, 0x5000, 1, f) == 1);
	fclose(f);
	ctx = new_ctx();
	CHECK_OK(qvmi_attach_dump(ctx, path, &raw));
	snprintf(id2, sizeof(id2), "%s", ctx->mem_id);
	CHECK(id2[0] && strcmp(id1, id2));
	/* detached: no image */
	qvmi_ctx_destroy(ctx);
	ctx = new_ctx();
	CHECK_INT(qvmi_attach_dump(ctx, "/nonexistent", &raw), <, 0);
	CHECK_STR(ctx->mem_id, "");
	qvmi_ctx_destroy(ctx);
	unlink(path);
	free(img);
}

static void test_raw_map(void)
{
	QVMI_OPTS(qvmi_dump_opts, o,
		  .raw_map = "0:0x1000,0x100000:8192,0x200000:0x1000@0x4000");
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t *img = raw_image(0x5000), out[16];
	struct qvmi_ram_range rr;

	CHECK_OK(attach_buf(ctx, img, 0x5000, &o));
	CHECK_INT(qvmi_map_count(ctx), ==, 3);
	/* the second range follows the first in the file: offset 0x1000 */
	CHECK_OK(qvmi_read_pa(ctx, 0x100010, out, 16));
	CHECK(!memcmp(out, img + 0x1010, 16));
	CHECK_OK(qvmi_read_pa(ctx, 0x200ff0, out, 16));
	CHECK(!memcmp(out, img + 0x4ff0, 16));
	CHECK_INT(qvmi_read_pa(ctx, 0xff8, out, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x1000);
	CHECK_INT(qvmi_ram_count(ctx), ==, 3);
	CHECK_OK(qvmi_ram_get(ctx, 1, &rr));
	CHECK_U64(rr.gpa, ==, 0x100000);
	CHECK_U64(rr.size, ==, 0x2000);
	qvmi_ctx_destroy(ctx);
	free(img);
}

static void test_raw_map_errors(void)
{
	static const struct {
		const char *map;
		int err;
		const char *msg;
	} cases[] = {
		{ "0:0x6000", -EINVAL, "only 0x5000 bytes" },
		{ "0:0x1000@0x4800", -EINVAL, "past the end" },
		{ "0:0x4000,0x100000:0x2000", -EINVAL, "only" },
		{ "0:0x1000,0x800:0x1000", -EINVAL, "overlaps" },
		{ "", -EINVAL, "empty" },
		{ "0:0", -EINVAL, "bad entry" },
		{ "0x:10", -EINVAL, "bad entry" },
		{ "10", -EINVAL, "bad entry" },
		{ "0:0x1000;", -EINVAL, "bad entry" },
		{ "-1:0x1000", -EINVAL, "bad entry" },
		{ "0:0x1000,", -EINVAL, NULL },
		{ "0xffffffffffffffff:2", -EINVAL, "bad entry" },
		{ "0:2@0xffffffffffffffff", -EINVAL, "bad entry" },
		{ "0:1@0xffffffffffffffff", -EINVAL, "past the end" },
		{ "99999999999999999999:1", -EINVAL, "bad entry" },
	};
	uint8_t *img = raw_image(0x5000);
	size_t i;

	for (i = 0; i < QVMI_ARRAY_SIZE(cases); i++) {
		QVMI_OPTS(qvmi_dump_opts, o, .raw_map = cases[i].map);
		struct qvmi_ctx *ctx = new_ctx();
		int err = attach_buf(ctx, img, 0x5000, &o);

		if (!strcmp(cases[i].map, "0:0x1000,")) {
			/* a trailing comma is tolerated */
			CHECK_OK(err);
		} else {
			CHECK_MSG(err == cases[i].err, "\"%s\": %d (%s)",
				  cases[i].map, err, qvmi_errmsg(ctx));
			CHECK_MSG(strstr(qvmi_errmsg(ctx), cases[i].msg),
				  "\"%s\": %s", cases[i].map, qvmi_errmsg(ctx));
			CHECK_INT(qvmi_map_count(ctx), ==, 0);
		}
		qvmi_ctx_destroy(ctx);
	}
	free(img);
}

static void test_raw_map_too_many(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	size_t n = QVMI_DUMP_MAX_RAW_MAP + 1, i, len = 0;
	char *map = malloc(n * 24);
	uint8_t *img = raw_image(0x5000);

	CHECK(map);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(map + len, "%zu:1@0,", i);
	QVMI_OPTS(qvmi_dump_opts, o, .raw_map = map);
	CHECK_INT(attach_buf(ctx, img, 0x5000, &o), ==, -E2BIG);
	qvmi_ctx_destroy(ctx);
	free(map);
	free(img);
}

static const struct qvmi_test dump_tests[] = {
	{ "elf_overlapping_loads", test_elf_overlapping_loads },
	{ "elf_reads", test_elf_reads },
	{ "elf_qemu_regs", test_elf_qemu_regs },
	{ "elf_old_qemu_note", test_elf_old_qemu_note },
	{ "elf_efer_derived", test_elf_efer_derived },
	{ "elf_prstatus32", test_elf_prstatus32 },
	{ "elf_class32", test_elf_class32 },
	{ "elf_prstatus_only", test_elf_prstatus_only },
	{ "elf_no_notes", test_elf_no_notes },
	{ "elf_xnum", test_elf_xnum },
	{ "attach_errors", test_attach_errors },
	{ "elf_corrupt_fields", test_elf_corrupt_fields },
	{ "elf_truncated", test_elf_truncated },
	{ "elf_huge_counts", test_elf_huge_counts },
	{ "elf_many_loads", test_elf_many_loads },
	{ "elf_random_damage", test_elf_random_damage },
	{ "raw_whole", test_raw_whole },
	{ "raw_map", test_raw_map },
	{ "mem_id", test_mem_id },
	{ "raw_map_errors", test_raw_map_errors },
	{ "raw_map_too_many", test_raw_map_too_many },
};

QVMI_SUITE(dump, dump_tests);
