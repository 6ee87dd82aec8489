// SPDX-License-Identifier: LGPL-2.1-or-later
/* Writing dumps: ELF and raw round trips through the dump reader. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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

/* ---- writing dumps -------------------------------------------------------- */

/* Three vCPUs; vCPU 1 cannot give registers, so the dump holds two.
 * fake_legacy: vCPU 0 is not in long mode (EFER.LMA clear). */
static bool fake_legacy;

static int fake_count(struct qvmi_ctl *c)
{
	return 3;
}

static int fake_regs(struct qvmi_ctl *c, unsigned int vcpu,
		     struct qvmi_regs_x86 *r)
{
	if (vcpu == 1)
		return qvmi__err(c->ctx, -EIO, "vCPU 1 is gone");
	r->rax = 0x1111 * (vcpu + 1);
	r->r13 = 0xd00d + vcpu;
	r->rsp = 0xffffc90000010000ull + vcpu;
	r->rip = rip_of((int)vcpu);
	r->rflags = 0x246;
	r->cs = 0x10, r->ss = 0x18;
	r->gs_base = 0xffff88801f400000ull + vcpu;
	r->kernel_gs_base = 0x7ff0 + vcpu;
	r->cr0 = 0x80050033, r->cr3 = cr3_of((int)vcpu), r->cr4 = 0x6f0;
	r->cr2 = 0xdead000;
	r->efer = fake_legacy ? 0 : 0xd01;
	r->idt_base = 0xfffffe0000000000ull, r->idt_limit = 0xfff;
	r->gdt_base = 0xfffffe0000001000ull, r->gdt_limit = 0x7f;
	r->valid = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES |
		   QVMI_REGS_CR | QVMI_REGS_TABLES | QVMI_REGS_KGS;
	return 0;
}

static const struct qvmi_ctl_ops fake_ctl = {
	.name = "fake",
	.vcpu_count = fake_count,
	.get_regs = fake_regs,
};

/* 1 MiB + 8 KiB at 0 (a zero MiB in the middle) and 64 KiB at 4 GiB. */
enum { LO_SIZE = (1 << 20) + 0x2000, HI_SIZE = 0x10000 };
#define HI_GPA 0x100000000ull

static struct qvmi_ctx *mem_ctx(uint8_t *lo, uint8_t *hi, bool ram)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *a, *b;

	for (size_t i = 0; i < LO_SIZE; i++)
		lo[i] = i >= 0x1000 && i < 0x101000 ? 0 : pat(5, i);
	for (size_t i = 0; i < HI_SIZE; i++)
		hi[i] = pat(6, i);
	CHECK_OK(qvmi_source_testmem_create(ctx, lo, LO_SIZE, 1, &a));
	CHECK_OK(qvmi_source_testmem_create(ctx, hi, HI_SIZE, 1, &b));
	CHECK_OK(qvmi_map_add(ctx, a, 0, LO_SIZE, 0));
	CHECK_OK(qvmi_map_add(ctx, b, HI_GPA, HI_SIZE, 0));
	if (ram) {
		CHECK_OK(qvmi__ram_add(ctx, HI_GPA, HI_SIZE));
		CHECK_OK(qvmi__ram_add(ctx, 0, LO_SIZE));
	}
	return ctx;
}

static void check_same_mem(struct qvmi_ctx *ctx, const uint8_t *lo,
			   const uint8_t *hi)
{
	uint8_t *out = malloc(LO_SIZE);

	CHECK(out);
	CHECK_OK(qvmi_read_pa(ctx, 0, out, LO_SIZE));
	CHECK(!memcmp(out, lo, LO_SIZE));
	CHECK_OK(qvmi_read_pa(ctx, HI_GPA, out, HI_SIZE));
	CHECK(!memcmp(out, hi, HI_SIZE));
	free(out);
}

struct progress {
	uint64_t last, total;
	int calls;
	bool monotonic;
};

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	struct progress *p = arg;

	if (done < p->last || done > total)
		p->monotonic = false;
	p->last = done;
	p->total = total;
	p->calls++;
}

static void test_write_elf_roundtrip(void)
{
	uint8_t *lo = malloc(LO_SIZE), *hi = malloc(HI_SIZE);
	struct progress pr = { .monotonic = true };
	struct qvmi_ctx *ctx, *back;
	struct qvmi_regs_x86 r;
	struct stat st;
	char path[128];

	CHECK(lo && hi);
	ctx = mem_ctx(lo, hi, true);
	CHECK_OK(qvmi__ctl_set(ctx, &fake_ctl, NULL));
	tmp_path(path, sizeof(path), "rt.elf");
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_ELF,
		  .progress = on_progress, .progress_arg = &pr);
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	CHECK(pr.monotonic && pr.calls >= 3);
	CHECK_U64(pr.last, ==, LO_SIZE + HI_SIZE);
	CHECK_U64(pr.total, ==, LO_SIZE + HI_SIZE);
	CHECK_OK(stat(path, &st));
	CHECK_INT(st.st_mode & 0777, ==, 0600);
	/* the zero MiB is a hole: far less than the data is allocated */
	CHECK_INT((long long)st.st_blocks * 512, <, (long long)st.st_size / 2);
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	check_same_mem(back, lo, hi);
	CHECK_INT(qvmi_ram_count(back), ==, 2);
	CHECK_INT(qvmi_vcpu_count(back), ==, 2);
	CHECK_OK(qvmi_get_regs(back, 1, &r)); /* was vCPU 2 */
	CHECK_U64(r.rip, ==, rip_of(2));
	CHECK_U64(r.cr3, ==, cr3_of(2));
	CHECK_U64(r.rax, ==, 0x3333);
	CHECK_U64(r.r13, ==, 0xd00f);
	CHECK_U64(r.cr2, ==, 0xdead000);
	CHECK_U64(r.gs_base, ==, 0xffff88801f400002ull);
	CHECK_U64(r.kernel_gs_base, ==, 0x7ff2);
	CHECK_U64(r.idt_limit, ==, 0xfff);
	CHECK(r.valid & QVMI_REGS_KGS);
	CHECK_U64(r.efer, ==, 0xd00); /* SCE is not carried */
	CHECK(qvmi_vmcoreinfo(back) == NULL);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(lo);
	free(hi);
}

/* vCPU 0 not in long mode: EM_386 and i386 prstatus, as QEMU writes. */
static void test_write_elf_legacy(void)
{
	uint8_t *lo = malloc(LO_SIZE), *hi = malloc(HI_SIZE), head[512];
	struct qvmi_ctx *ctx, *back;
	struct qvmi_regs_x86 r;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	Elf64_Nhdr nh;
	char path[128];
	int fd;

	CHECK(lo && hi);
	ctx = mem_ctx(lo, hi, true);
	CHECK_OK(qvmi__ctl_set(ctx, &fake_ctl, NULL));
	tmp_path(path, sizeof(path), "legacy.elf");
	fake_legacy = true;
	CHECK_OK(qvmi_dump_write(ctx, path, NULL));
	fake_legacy = false;
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(read(fd, head, sizeof(head)) == sizeof(head));
	close(fd);
	memcpy(&eh, head, sizeof(eh));
	CHECK_INT(eh.e_machine, ==, EM_386);
	memcpy(&ph, head + eh.e_phoff, sizeof(ph));
	CHECK_INT(ph.p_type, ==, PT_NOTE);
	CHECK(ph.p_offset + sizeof(nh) <= sizeof(head));
	memcpy(&nh, head + ph.p_offset, sizeof(nh));
	CHECK_INT(nh.n_descsz, ==, sizeof(struct qvmi_prstatus32));
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_get_regs(back, 0, &r));
	/* the QEMU note keeps all 64 bits; no LMA in an EM_386 core */
	CHECK_U64(r.rsp, ==, 0xffffc90000010000ull);
	CHECK_U64(r.efer, ==, 0x800);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(lo);
	free(hi);
}

static void test_write_raw_roundtrip(void)
{
	uint8_t *lo = malloc(LO_SIZE), *hi = malloc(HI_SIZE), z[64], zero[64];
	struct qvmi_ctx *ctx, *back;
	struct stat st;
	char path[128];

	CHECK(lo && hi);
	/* no RAM list: the mapped segments are written */
	ctx = mem_ctx(lo, hi, false);
	tmp_path(path, sizeof(path), "rt.raw");
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_RAW);
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	CHECK_OK(stat(path, &st));
	CHECK_U64(st.st_size, ==, HI_GPA + HI_SIZE);
	CHECK_INT((long long)st.st_blocks * 512, <, 1 << 20);
	back = new_ctx();
	QVMI_OPTS(qvmi_dump_opts, raw, .format = "raw");
	CHECK_OK(qvmi_attach_dump(back, path, &raw));
	check_same_mem(back, lo, hi);
	/* between the ranges: a hole, read as zeros */
	memset(zero, 0, sizeof(zero));
	CHECK_OK(qvmi_read_pa(back, 0x80000000, z, sizeof(z)));
	CHECK(!memcmp(z, zero, sizeof(z)));
	qvmi_ctx_destroy(back);
	/* with a map: only the two ranges */
	back = new_ctx();
	QVMI_OPTS(qvmi_dump_opts, m,
		  .raw_map = "0:0x102000@0,0x100000000:0x10000@0x100000000");
	CHECK_OK(qvmi_attach_dump(back, path, &m));
	check_same_mem(back, lo, hi);
	CHECK_INT(qvmi_read_pa(back, 0x80000000, z, 1), ==, -EFAULT);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	free(lo);
	free(hi);
}

/* ELF -> ELF keeps the registers, the layout and VMCOREINFO. */
static void test_write_elf_from_elf(void)
{
	struct qvmi_ctx *ctx = new_ctx(), *back = new_ctx();
	struct qvmi_regs_x86 a, b;
	uint8_t x[0x20], y[0x20];
	char path[128];
	struct tcore c;

	std_core(&c);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	tmp_path(path, sizeof(path), "rt2.elf");
	CHECK_OK(qvmi_dump_write(ctx, path, NULL));
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_STR(qvmi_vmcoreinfo(back), vmci_text);
	CHECK_INT(qvmi_ram_count(back), ==, 3);
	CHECK_OK(qvmi_read_pa(ctx, 0xfffc0ff0, x, sizeof(x)));
	CHECK_OK(qvmi_read_pa(back, 0xfffc0ff0, y, sizeof(y)));
	CHECK(!memcmp(x, y, sizeof(x)));
	for (unsigned int v = 0; v < 2; v++) {
		CHECK_OK(qvmi_get_regs(ctx, v, &a));
		CHECK_OK(qvmi_get_regs(back, v, &b));
		CHECK(!memcmp(&a, &b, sizeof(a)));
	}
	qvmi_ctx_destroy(back);
	qvmi_ctx_destroy(ctx);
	unlink(path);
	free(c.buf);
}

/* Files named "<path>.XXXXXX" (the writer's temporaries). */
static int count_tmp(const char *path)
{
	char pattern[160];
	int n = 0;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s.??????", path);
	if (!glob(pattern, 0, NULL, &g))
		n = (int)g.gl_pathc;
	globfree(&g);
	return n;
}

/* Writing over the dump being read: the reader keeps the old inode. */
static void test_write_over_source(void)
{
	struct qvmi_ctx *ctx = new_ctx(), *back = new_ctx();
	uint8_t x[0x20], y[0x20];
	char path[128];
	struct tcore c;
	int fd;

	std_core(&c);
	tmp_path(path, sizeof(path), "self.elf");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, c.buf, c.len) == (ssize_t)c.len);
	close(fd);
	CHECK_OK(qvmi_attach_dump(ctx, path, NULL));
	CHECK_OK(qvmi_dump_write(ctx, path, NULL));
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, x, sizeof(x)));
	CHECK_INT(x[5], ==, pat(2, 5));
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_read_pa(back, 0x100000, y, sizeof(y)));
	CHECK(!memcmp(x, y, sizeof(x)));
	CHECK_INT(count_tmp(path), ==, 0);
	qvmi_ctx_destroy(back);
	qvmi_ctx_destroy(ctx);
	unlink(path);
	free(c.buf);
}

static void test_write_errors(void)
{
	uint8_t *lo = malloc(LO_SIZE), *hi = malloc(HI_SIZE);
	struct qvmi_ctx *ctx;
	char path[128];
	struct stat st;
	int fd;

	CHECK(lo && hi);
	ctx = mem_ctx(lo, hi, true);
	CHECK_INT(qvmi_dump_write(ctx, "/nonexistent/dir/x.elf", NULL), ==,
		  -ENOENT);
	CHECK_INT(qvmi_dump_write(ctx, "/tmp", NULL), ==, -EINVAL);
	CHECK_INT(qvmi_dump_write(ctx, "/dev/null", NULL), ==, -EINVAL);
	CHECK_INT(qvmi_dump_write(ctx, "", NULL), ==, -EINVAL);
	QVMI_OPTS(qvmi_dump_write_opts, bad, .format = 7);
	tmp_path(path, sizeof(path), "err.elf");
	CHECK_INT(qvmi_dump_write(ctx, path, &bad), ==, -EINVAL);
	/* RAM that nothing backs: the read fails, no file is left */
	CHECK_OK(qvmi__ram_add(ctx, 0x200000000ull, 0x1000));
	CHECK_INT(qvmi_dump_write(ctx, path, NULL), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x200000000ull);
	CHECK_INT(access(path, F_OK), ==, -1);
	/* an existing file is left as it was, and no temporary remains */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "keep", 4) == 4);
	close(fd);
	CHECK_INT(qvmi_dump_write(ctx, path, NULL), ==, -EFAULT);
	CHECK_OK(stat(path, &st));
	CHECK_INT(st.st_size, ==, 4);
	CHECK_INT(count_tmp(path), ==, 0);
	unlink(path);
	qvmi_ctx_destroy(ctx);
	/* nothing at all to write */
	ctx = new_ctx();
	CHECK_INT(qvmi_dump_write(ctx, path, NULL), ==, -ENOENT);
	CHECK_INT(access(path, F_OK), ==, -1);
	qvmi_ctx_destroy(ctx);
	free(lo);
	free(hi);
}

static const struct qvmi_test dumpwrite_tests[] = {
	{ "write_elf_roundtrip", test_write_elf_roundtrip },
	{ "write_elf_legacy", test_write_elf_legacy },
	{ "write_raw_roundtrip", test_write_raw_roundtrip },
	{ "write_elf_from_elf", test_write_elf_from_elf },
	{ "write_over_source", test_write_over_source },
	{ "write_errors", test_write_errors },
};

QVMI_SUITE(dumpwrite, dumpwrite_tests);
