// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ELF writer's kernel layout (what crash, drgn, makedumpfile and gdb
 * need), ROM coverage and hole skipping.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/dump.h"
#include "source/sources.h"
#include "dumpcore.h"
#include "fake-kernel.h"
#include "proto/hmp.h"
#include "testdata.h"
#include "os/linux/linux.h"

enum { MEM = 4 << 20 };
#define PO 0xffff888000000000ull
#define KVA 0xffffffff81000000ull
static const char vmci[] = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";

static struct qvmi_ctx *ram_ctx(uint8_t *m)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *a;

	for (size_t i = 0; i < MEM; i++)
		m[i] = pat(9, i);
	CHECK_OK(qvmi_source_testmem_create(ctx, m, MEM, 1, &a));
	CHECK_OK(qvmi_map_add(ctx, a, 0, MEM, 0));
	CHECK_OK(qvmi__ram_add(ctx, 0, MEM));
	return ctx;
}

/* The file's program headers (after the ELF header) into ph[]. */
static int read_phdrs(const char *path, Elf64_Ehdr *eh, Elf64_Phdr *ph,
		      size_t max)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, eh, sizeof(*eh), 0);
	if (n == sizeof(*eh) && eh->e_phnum <= max)
		n = pread(fd, ph, eh->e_phnum * sizeof(*ph), eh->e_phoff);
	close(fd);
	return n > 0 && eh->e_phnum <= max ? eh->e_phnum : -1;
}

static const struct qvmi_dump_vrange parts[] = {
	{ KVA, 0x100000, 0x2000 },
	{ KVA + 0x4000, 0x104000, 0x1000 },
};

/* Expected PT_LOADs: direct map, image, direct map, image, direct map. */
static const struct {
	uint64_t pa, size, va;
} want[] = {
	{ 0, 0x100000, PO },
	{ 0x100000, 0x2000, KVA },
	{ 0x102000, 0x2000, PO + 0x102000 },
	{ 0x104000, 0x1000, KVA + 0x4000 },
	{ 0x105000, MEM - 0x105000, PO + 0x105000 },
};

static void check_loads(const Elf64_Phdr *ph, int n)
{
	CHECK_INT(n, ==, 6);
	CHECK_INT(ph[0].p_type, ==, PT_NOTE);
	for (int i = 1; i < n && i <= 5; i++) {
		CHECK_INT(ph[i].p_type, ==, PT_LOAD);
		CHECK_U64(ph[i].p_paddr, ==, want[i - 1].pa);
		CHECK_U64(ph[i].p_filesz, ==, want[i - 1].size);
		CHECK_U64(ph[i].p_vaddr, ==, want[i - 1].va);
		CHECK_U64(ph[i].p_offset % 4096, ==, 0);
		/* the notes come before the first data page */
		CHECK_U64(ph[i].p_offset, >=, ph[0].p_offset + ph[0].p_filesz);
	}
}

static void test_kernel_layout(void)
{
	uint8_t *m = malloc(MEM), *out = malloc(MEM);
	struct qvmi_dump_vrange img[2];
	struct qvmi_dump_kernel k = { 0 };
	struct qvmi_ctx *ctx, *back;
	Elf64_Phdr ph[16];
	Elf64_Ehdr eh;
	char path[128];

	CHECK(m && out);
	memcpy(img, parts, sizeof(img));
	k.image = img;
	k.nimage = 2;
	k.page_offset = PO;
	k.vmcoreinfo = (char *)vmci;
	k.vmcoreinfo_len = strlen(vmci);
	ctx = ram_ctx(m);
	tmp_path(path, sizeof(path), "kernel.elf");
	QVMI_OPTS(qvmi_dump_write_opts, o, .kernel = &k);
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	check_loads(ph, read_phdrs(path, &eh, ph, 16));
	/* makedumpfile reads the headers at sizeof(Elf64_Ehdr) */
	CHECK_U64(eh.e_phoff, ==, sizeof(Elf64_Ehdr));
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_STR(qvmi_vmcoreinfo(back), vmci);
	CHECK_OK(qvmi_read_pa(back, 0, out, MEM));
	CHECK(!memcmp(out, m, MEM));
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(m);
	free(out);
}

static void test_kernel_bad(void)
{
	uint8_t *m = malloc(MEM);
	struct qvmi_dump_vrange img[2];
	struct qvmi_dump_kernel k = { .image = img,
				      .nimage = 2,
				      .page_offset = PO };
	struct qvmi_ctx *ctx;
	char path[128];

	CHECK(m);
	ctx = ram_ctx(m);
	tmp_path(path, sizeof(path), "kbad.elf");
	QVMI_OPTS(qvmi_dump_write_opts, o, .kernel = &k);
	/* overlapping parts */
	memcpy(img, parts, sizeof(img));
	img[1].pa = 0x101000;
	CHECK_INT(qvmi_dump_write(ctx, path, &o), ==, -EINVAL);
	/* not sorted */
	memcpy(img, parts, sizeof(img));
	img[0] = parts[1], img[1] = parts[0];
	CHECK_INT(qvmi_dump_write(ctx, path, &o), ==, -EINVAL);
	/* unaligned, empty, wrapping */
	memcpy(img, parts, sizeof(img));
	img[0].va += 8;
	CHECK_INT(qvmi_dump_write(ctx, path, &o), ==, -EINVAL);
	memcpy(img, parts, sizeof(img));
	img[1].size = 0;
	CHECK_INT(qvmi_dump_write(ctx, path, &o), ==, -EINVAL);
	memcpy(img, parts, sizeof(img));
	img[1].pa = 0xfffffffffffff000ull;
	img[1].size = 0x2000;
	CHECK_INT(qvmi_dump_write(ctx, path, &o), ==, -EINVAL);
	/* a VMCOREINFO of 0 bytes */
	memcpy(img, parts, sizeof(img));
	k.vmcoreinfo = (char *)vmci;
	CHECK_INT(qvmi_dump_write(ctx, path, &o), ==, -EINVAL);
	/* a kernel layout is for ELF */
	k.vmcoreinfo = NULL;
	QVMI_OPTS(qvmi_dump_write_opts, r, .kernel = &k,
		  .format = QVMI_DUMP_RAW);
	CHECK_INT(qvmi_dump_write(ctx, path, &r), ==, -EINVAL);
	CHECK_INT(access(path, F_OK), ==, -1);
	/* no parts: all of it in the direct map */
	k.nimage = 0;
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(m);
}

/* Mapped ranges below 4 GiB that are not RAM (ROM, the BIOS shadow, the
 * BIOS) are written, as QEMU does; one above 4 GiB is not. */
static void test_rom_ranges(void)
{
	static uint8_t rom[0x40000], hi[0x1000];
	uint8_t *m = malloc(MEM), x[16];
	struct qvmi_ctx *ctx, *back;
	struct qvmi_source *r, *h;
	char path[128];

	CHECK(m);
	ctx = ram_ctx(m);
	for (size_t i = 0; i < sizeof(rom); i++)
		rom[i] = pat(3, i);
	memset(hi, 0x5a, sizeof(hi));
	CHECK_OK(qvmi_source_testmem_create(ctx, rom, sizeof(rom), 1, &r));
	CHECK_OK(qvmi_source_testmem_create(ctx, hi, sizeof(hi), 1, &h));
	CHECK_OK(qvmi_map_add(ctx, r, 0xfffc0000, sizeof(rom), 0));
	CHECK_OK(qvmi_map_add(ctx, h, 0x200000000ull, sizeof(hi), 0));
	tmp_path(path, sizeof(path), "rom.elf");
	CHECK_OK(qvmi_dump_write(ctx, path, NULL));
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_read_pa(back, 0xfffffff0, x, sizeof(x)));
	CHECK(!memcmp(x, rom + 0x3fff0, sizeof(x)));
	CHECK_INT(qvmi_read_pa(back, 0x200000000ull, x, 1), ==, -EFAULT);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(m);
}

struct ticks {
	int calls;
	uint64_t last;
};

static void on_tick(uint64_t done, uint64_t total, void *arg)
{
	struct ticks *t = arg;

	(void)total;
	t->calls++;
	t->last = done;
}

/* A sparse RAM file of 64 MiB holding two pages: the holes are skipped
 * in steps of their size, not read in 1 MiB chunks (64 progress calls). */
static void test_holes_skipped(void)
{
	enum { SZ = 64 << 20 };
	int fd = memfd_create("qvmi-sparse", 0), dfd;
	struct qvmi_ctx *ctx = new_ctx(), *back;
	struct ticks t = { 0 };
	struct qvmi_source *src;
	uint8_t page[4096], x[4096];
	struct stat st;
	char path[128];

	CHECK(fd >= 0 && !ftruncate(fd, SZ));
	memset(page, 0xa5, sizeof(page));
	CHECK(pwrite(fd, page, sizeof(page), 0x123000) == sizeof(page));
	CHECK(pwrite(fd, page, sizeof(page), SZ - 0x3000) == sizeof(page));
	dfd = dup(fd);
	CHECK_OK(qvmi__source_shm_create(ctx, dfd, false, &src));
	CHECK_OK(
		qvmi__map_add_host(ctx, src, 0, SZ, 0, qvmi__shm_host(src, 0)));
	CHECK_OK(qvmi__ram_add(ctx, 0, SZ));
	tmp_path(path, sizeof(path), "sparse.elf");
	QVMI_OPTS(qvmi_dump_write_opts, o, .progress = on_tick,
		  .progress_arg = &t);
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	CHECK_U64(t.last, ==, SZ);
	CHECK_INT(t.calls, <=, 8);
	CHECK_OK(stat(path, &st));
	CHECK_INT((long long)st.st_blocks * 512, <, 1 << 20);
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_read_pa(back, SZ - 0x3000, x, sizeof(x)));
	CHECK(!memcmp(x, page, sizeof(x)));
	CHECK_OK(qvmi_read_pa(back, 0x122000, x, sizeof(x)));
	CHECK_INT(x[0] | x[4095], ==, 0);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	close(fd);
}

/* ---- qvmi_linux_dump_kernel over the synthetic kernel ------------------- */

enum { NOTE_PA = 0x300000 };

/* A VMCOREINFO note at NOTE_PA (direct map) and vmcoreinfo_note -> it. */
static void put_note(struct fk *k, uint32_t namesz, const char *name,
		     uint32_t type, const char *desc, uint32_t descsz)
{
	uint8_t *p = k->mem + NOTE_PA;
	uint32_t h[3] = { namesz, descsz, type };

	memset(p, 0, 0x3000);
	memcpy(p, h, sizeof(h));
	memcpy(p + 12, name, strlen(name));
	memcpy(p + 24, desc, QVMI_MIN((size_t)descsz, strlen(desc)));
	fk_w64(k, fk_sym(FK_SYM_VMCOREINFO_NOTE), FK_POB + NOTE_PA);
}

static const char fk_vmci[] = "OSRELEASE=6.1.0-fake\nPAGESIZE=4096\n";

static void test_linux_dump_kernel(void)
{
	struct qvmi_dump_kernel d;
	struct fk k;

	CHECK_OK(fk_create(&k, FK_NEW, 4 << 20));
	strcpy(k.lx->release, "6.1.0-fake");
	put_note(&k, 11, "VMCOREINFO", 0, fk_vmci, sizeof(fk_vmci) - 1);
	CHECK_OK(qvmi_linux_dump_kernel(k.lx, &d));
	CHECK_U64(d.vmcoreinfo_len, ==, sizeof(fk_vmci) - 1);
	CHECK_STR(d.vmcoreinfo, fk_vmci);
	CHECK_U64(d.page_offset, ==, FK_POB);
	/* no section symbols: the whole image, _text to _end */
	CHECK_U64(d.nimage, ==, 1);
	CHECK_U64(d.image[0].va, ==, FK_TEXT_VA);
	CHECK_U64(d.image[0].pa, ==, FK_TEXT_PA);
	CHECK_U64(d.image[0].size, ==, 0x100000);
	qvmi_dump_kernel_deinit(&d);
	CHECK(d.vmcoreinfo == NULL && d.image == NULL);
	qvmi_dump_kernel_deinit(NULL);
	fk_destroy(&k);
	free(k.mem);
}

static void test_linux_dump_kernel_bad(void)
{
	struct qvmi_dump_kernel d;
	struct fk k;
	char big[5000];

	CHECK_OK(fk_create(&k, FK_NEW, 4 << 20));
	strcpy(k.lx->release, "6.1.0-fake");
	/* no note yet: vmcoreinfo_note is NULL */
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	CHECK(d.image == NULL && d.vmcoreinfo == NULL);
	put_note(&k, 11, "VMCOREINFX", 0, fk_vmci, sizeof(fk_vmci) - 1);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	put_note(&k, 12, "VMCOREINFO", 0, fk_vmci, sizeof(fk_vmci) - 1);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	put_note(&k, 11, "VMCOREINFO", 1, fk_vmci, sizeof(fk_vmci) - 1);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	put_note(&k, 11, "VMCOREINFO", 0, fk_vmci, 0);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	/* larger than VMCOREINFO_BYTES: refused, not cut */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "OSRELEASE=", 10);
	put_note(&k, 11, "VMCOREINFO", 0, big, 4097);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	/* binary bytes, another kernel's text */
	put_note(&k, 11, "VMCOREINFO", 0, "OSRELEASE=6\001\n", 13);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	put_note(&k, 11, "VMCOREINFO", 0, "PAGESIZE=4096\n", 14);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	put_note(&k, 11, "VMCOREINFO", 0, "OSRELEASE=5.10.0\n", 17);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	/* a release longer than any this kernel can have: not skipped
	 * (fuzz campaign, fuzz/corpus/vmcoreinfo-note/long-osrelease) */
	memset(big, 's', 300);
	memcpy(big, "OSRELEASE=6.1.0-fake", 20);
	memcpy(big + 300, "\nPAGESIZE=4096\n", 16);
	put_note(&k, 11, "VMCOREINFO", 0, big, 315);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(k.ctx), "OSRELEASE"));
	/* a pointer outside guest memory */
	put_note(&k, 11, "VMCOREINFO", 0, fk_vmci, sizeof(fk_vmci) - 1);
	fk_w64(&k, fk_sym(FK_SYM_VMCOREINFO_NOTE), FK_POB + (64ull << 20));
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EFAULT);
	CHECK_INT(qvmi_linux_dump_kernel(NULL, &d), ==, -EINVAL);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, NULL), ==, -EINVAL);
	fk_destroy(&k);
	free(k.mem);
}

/* i386: lowmem at PAGE_OFFSET, the rest at 4 GiB + pa (no 32-bit address
 * reaches it); the note through a 4-byte pointer. */
static void test_linux_dump_kernel32(void)
{
	static const char v32[] = "OSRELEASE=6.1.0-k32\nPAGESIZE=4096\n";
	uint8_t *m = calloc(1, 4 << 20), *note;
	uint32_t h[3] = { 11, sizeof(v32) - 1, 0 };
	struct qvmi_dump_kernel d;
	Elf64_Phdr ph[8];
	Elf64_Ehdr eh;
	char path[128];
	struct fk k;

	CHECK(m);
	CHECK_OK(fk_create_over(&k, FK_I386, m, 4 << 20, NULL, 0));
	strcpy(k.lx->release, "6.1.0-k32");
	/* no high_memory: the end of the linear map is unknown */
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(k.ctx), "high_memory"));
	fk_w32(&k, fk_ksym(&k, FK_SYM_HIGH_MEMORY),
	       (uint32_t)FK32_POB + 0x300000);
	/* no note yet */
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -EBADMSG);
	note = m + 0x280000;
	memcpy(note, h, sizeof(h));
	memcpy(note + 12, "VMCOREINFO", 11);
	memcpy(note + 24, v32, sizeof(v32) - 1);
	fk_w32(&k, fk_ksym(&k, FK_SYM_VMCOREINFO_NOTE),
	       (uint32_t)FK32_POB + 0x280000);
	CHECK_OK(qvmi_linux_dump_kernel(k.lx, &d));
	CHECK_STR(d.vmcoreinfo, v32);
	CHECK_U64(d.nimage, ==, 1);
	CHECK_U64(d.image[0].va, ==, FK32_POB);
	CHECK_U64(d.image[0].pa, ==, 0);
	CHECK_U64(d.image[0].size, ==, 0x300000);
	CHECK_U64(d.page_offset, ==, 1ull << 32);
	/* the ELF: lowmem at PAGE_OFFSET + pa, the rest at 4 GiB + pa */
	tmp_path(path, sizeof(path), "k32.elf");
	{
		QVMI_OPTS(qvmi_dump_write_opts, o, .kernel = &d);
		CHECK_OK(qvmi_dump_write(k.ctx, path, &o));
	}
	CHECK_INT(read_phdrs(path, &eh, ph, 8), ==, 3);
	CHECK_U64(ph[1].p_paddr, ==, 0);
	CHECK_U64(ph[1].p_vaddr, ==, FK32_POB);
	CHECK_U64(ph[1].p_filesz, ==, 0x300000);
	CHECK_U64(ph[2].p_paddr, ==, 0x300000);
	CHECK_U64(ph[2].p_vaddr, ==, (1ull << 32) + 0x300000);
	unlink(path);
	qvmi_dump_kernel_deinit(&d);
	/* a high_memory below PAGE_OFFSET is not believed */
	fk_w32(&k, fk_ksym(&k, FK_SYM_HIGH_MEMORY), 0x300000);
	CHECK_INT(qvmi_linux_dump_kernel(k.lx, &d), ==, -ENOENT);
	fk_destroy(&k);
	free(m);
}

/* ---- segment descriptors in the QEMU notes ------------------------------ */

static void test_hmp_segs(void)
{
	char *q35 = qvmi_test_data("hmp/regs-a-q35.txt", NULL);
	char *r32 = qvmi_test_data("hmp/regs-reset-32.txt", NULL);
	struct qvmi__segs s;

	CHECK(q35 && r32);
	CHECK_OK(qvmi__hmp_parse_segs_cpu(q35, 1, &s));
	CHECK_INT(s.cs.selector, ==, 0x10);
	CHECK_U64(s.cs.limit, ==, 0xffffffff);
	CHECK_U64(s.cs.flags, ==, 0xaf9b00);
	CHECK_INT(s.tr.selector, ==, 0x40);
	CHECK_U64(s.tr.limit, ==, 0x4087);
	CHECK_U64(s.tr.flags, ==, 0x8900);
	CHECK_U64(s.ldt.flags, ==, 0x8200);
	CHECK_U64(s.gs.base, !=, 0);
	/* a 32-bit vCPU at reset: 8-digit bases */
	CHECK_OK(qvmi__hmp_parse_segs_cpu(r32, 0, &s));
	CHECK_INT(s.cs.selector, ==, 0xf000);
	CHECK_U64(s.cs.base, ==, 0xffff0000);
	CHECK_U64(s.tr.flags, ==, 0x8b00);
	CHECK_INT(qvmi__hmp_parse_segs_cpu(r32, 5, &s), ==, -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_segs_cpu("TR =0040 x\n", 0, &s), ==,
		  -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_segs_cpu("", 0, &s), ==, -EBADMSG);
	free(q35);
	free(r32);
}

static int seg_count(struct qvmi_ctl *c)
{
	(void)c;
	return 1;
}

static int seg_regs(struct qvmi_ctl *c, unsigned int vcpu,
		    struct qvmi_regs_x86 *r)
{
	(void)c, (void)vcpu;
	r->rip = 0xffffffff81000000ull;
	r->cs = 0x10;
	r->efer = 0xd01;
	r->valid = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_CR;
	return 0;
}

static int seg_segs(struct qvmi_ctl *c, unsigned int vcpu, struct qvmi__segs *s)
{
	(void)c, (void)vcpu;
	memset(s, 0, sizeof(*s));
	s->cs = (struct qvmi__seg){ 0x10, 0xffffffff, 0xaf9b00, 0 };
	s->tr = (struct qvmi__seg){ 0x40, 0x4087, 0x8900,
				    0xfffffe0000003000ull };
	return 0;
}

static const struct qvmi_ctl_ops seg_ctl = {
	.name = "segs",
	.vcpu_count = seg_count,
	.get_regs = seg_regs,
	.get_segs = seg_segs,
};

/* The writer's QEMU note carries the limits, flags and TR (they were 0). */
static void test_note_segs(void)
{
	uint8_t *m = malloc(MEM), head[4096];
	struct qvmi_qemu_cpustate st;
	struct qvmi_ctx *ctx;
	Elf64_Phdr ph[8];
	Elf64_Ehdr eh;
	char path[128];
	size_t p;
	int fd;

	CHECK(m);
	ctx = ram_ctx(m);
	CHECK_OK(qvmi__ctl_set(ctx, &seg_ctl, NULL));
	tmp_path(path, sizeof(path), "segs.elf");
	CHECK_OK(qvmi_dump_write(ctx, path, NULL));
	CHECK_INT(read_phdrs(path, &eh, ph, 8), ==, 2);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, head, sizeof(head), 0) == sizeof(head));
	close(fd);
	/* CORE (prstatus) first, then QEMU */
	p = ph[0].p_offset + 12 + 8 + sizeof(struct qvmi_prstatus64);
	CHECK(!memcmp(head + p + 12, "QEMU", 5));
	memcpy(&st, head + p + 12 + 8, sizeof(st));
	CHECK_U64(st.cs.limit, ==, 0xffffffff);
	CHECK_U64(st.cs.flags, ==, 0xaf9b00);
	CHECK_U64(st.tr.selector, ==, 0x40);
	CHECK_U64(st.tr.limit, ==, 0x4087);
	CHECK_U64(st.tr.base, ==, 0xfffffe0000003000ull);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(m);
}

static const struct qvmi_test dumpkernel_tests[] = {
	{ "kernel_layout", test_kernel_layout },
	{ "kernel_bad", test_kernel_bad },
	{ "rom_ranges", test_rom_ranges },
	{ "holes_skipped", test_holes_skipped },
	{ "linux_dump_kernel", test_linux_dump_kernel },
	{ "linux_dump_kernel_bad", test_linux_dump_kernel_bad },
	{ "linux_dump_kernel32", test_linux_dump_kernel32 },
	{ "hmp_segs", test_hmp_segs },
	{ "note_segs", test_note_segs },
};

QVMI_SUITE(dumpkernel, dumpkernel_tests);
