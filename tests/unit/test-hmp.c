// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HMP text parsers over outputs captured from QEMU 7.2.22 (Debian
 * 1:7.2+dfsg-7+deb12u18, TCG) in tests/unit/data/hmp/: a pc 512M guest
 * (anonymous RAM and memory-backend-file "ram0"), a q35 4G guest, a pc 1G
 * guest with default devices and a pflash, and a
 * guest held at reset (-S, 16-bit real mode).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "testdata.h"
#include "proto/hmp.h"

static char *fixture(const char *name)
{
	char rel[256];
	char *t;

	snprintf(rel, sizeof(rel), "hmp/%s", name);
	t = qvmi_test_data(rel, NULL);
	CHECK_MSG(t, "fixture %s not found", rel);
	return t;
}

static void check_range(const struct qvmi_mtree_range *r, uint64_t start,
			uint64_t last, const char *kind, const char *name,
			uint64_t off)
{
	CHECK_U64(r->start, ==, start);
	CHECK_U64(r->last, ==, last);
	CHECK_STR(r->kind, kind);
	CHECK_STR(r->name, name);
	CHECK_U64(r->offset, ==, off);
}

static void test_mtree_q35_4g(void)
{
	char *t = fixture("mtree-q35-4g.txt");
	struct qvmi_mtree_range *r;
	size_t n;

	/* Here AS "memory" is FlatView #0. */
	CHECK_OK(qvmi__hmp_parse_mtree(t, &r, &n));
	CHECK_INT(n, ==, 13);
	check_range(&r[0], 0, 0xc2fff, "ram", "pc.ram", 0);
	check_range(&r[1], 0xc3000, 0xe7fff, "rom", "pc.ram", 0xc3000);
	check_range(&r[4], 0x100000, 0x7fffffff, "ram", "pc.ram", 0x100000);
	check_range(&r[5], 0xb0000000, 0xbfffffff, "i/o", "pcie-mmcfg-mmio", 0);
	CHECK_INT(r[6].prio, ==, 1);
	check_range(&r[10], 0xfee00000, 0xfeefffff, "i/o", "apic-msi", 0);
	CHECK_INT(r[10].prio, ==, 4096);
	check_range(&r[11], 0xfffc0000, 0xffffffff, "rom", "pc.bios", 0);
	/* RAM above 4G continues the backend at 2 GiB */
	check_range(&r[12], 0x100000000, 0x17fffffff, "ram", "pc.ram",
		    0x80000000);
	free(r);
	free(t);
}

static void test_mtree_pc(void)
{
	char *t = fixture("mtree-pc-512m.txt");
	struct qvmi_mtree_range *r;
	size_t n;

	/* FlatView #3 here; #2 is "cpu-smm-0" with "root: memory", which
	 * must not be mistaken for AS "memory". */
	CHECK_OK(qvmi__hmp_parse_mtree(t, &r, &n));
	CHECK_INT(n, ==, 9);
	check_range(&r[4], 0x100000, 0x1fffffff, "ram", "pc.ram", 0x100000);
	check_range(&r[8], 0xfffc0000, 0xffffffff, "rom", "pc.bios", 0);
	free(r);
	free(t);

	t = fixture("mtree-pc-file.txt");
	CHECK_OK(qvmi__hmp_parse_mtree(t, &r, &n));
	CHECK_INT(n, ==, 9);
	check_range(&r[0], 0, 0xc2fff, "ram", "ram0", 0);
	check_range(&r[3], 0xf0000, 0xfffff, "rom", "ram0", 0xf0000);
	free(r);
	free(t);
}

static void test_mtree_pc_4g(void)
{
	char *t = fixture("mtree-pc-4g.txt");
	struct qvmi_mtree_range *r;
	size_t n, ram = 0;

	/* pc keeps 3 GiB below 4G; the rest continues the backend at
	 * offset 3 GiB (held at -S: no SeaBIOS shadowing yet) */
	CHECK_OK(qvmi__hmp_parse_mtree(t, &r, &n));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(r[i].kind, "ram"))
			continue;
		if (ram == 1)
			check_range(&r[i], 0x100000, 0xbfffffff, "ram",
				    "pc.ram", 0x100000);
		if (ram == 2)
			check_range(&r[i], 0x100000000, 0x13fffffff, "ram",
				    "pc.ram", 0xc0000000);
		ram++;
	}
	CHECK_INT(ram, ==, 3);
	free(r);
	free(t);
}

static void test_mtree_pflash_vga(void)
{
	char *t = fixture("mtree-pc-pflash-vga.txt");
	struct qvmi_mtree_range *r;
	size_t n;

	/* pc with default devices and a pflash (-S): ROMs shadow pc.ram
	 * below 1M, and the flash is "romd" */
	CHECK_OK(qvmi__hmp_parse_mtree(t, &r, &n));
	CHECK_INT(n, ==, 9);
	check_range(&r[0], 0, 0x9ffff, "ram", "pc.ram", 0);
	check_range(&r[1], 0xa0000, 0xbffff, "i/o", "vga-lowmem", 0);
	check_range(&r[2], 0xc0000, 0xdffff, "rom", "pc.rom", 0);
	CHECK_INT(r[2].prio, ==, 1);
	check_range(&r[3], 0xe0000, 0xfffff, "rom", "isa-bios", 0);
	check_range(&r[4], 0x100000, 0x3fffffff, "ram", "pc.ram", 0x100000);
	check_range(&r[8], 0xfffc0000, 0xffffffff, "romd", "system.flash0", 0);
	free(r);
	free(t);
}

static void test_mtree_variants(void)
{
	/* KVM appends the accelerator name; flash is "romd"; nv- prefix. */
	static const char t[] =
		"FlatView #7\r\n AS \"memory\", root: system\r\n"
		" Root memory region: system\r\n"
		"  0000000000000000-000000007fffffff (prio 0, ram): pc.ram KVM\r\n"
		"  0000000100000000-000000017fffffff (prio 0, ram): pc.ram "
		"@0000000080000000 KVM\r\n"
		"  00000000ffc00000-00000000ffffffff (prio 0, romd): "
		"system.flash0\r\n"
		"  00000000fd000000-00000000fdffffff (prio 1, nv-ram): nvdimm\r\n"
		"\r\nFlatView #8\r\n AS \"memory\", root: system\r\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): other\r\n";
	struct qvmi_mtree_range *r;
	size_t n;

	CHECK_OK(qvmi__hmp_parse_mtree(t, &r, &n));
	CHECK_INT(n, ==, 4);
	check_range(&r[0], 0, 0x7fffffff, "ram", "pc.ram", 0);
	check_range(&r[1], 0x100000000, 0x17fffffff, "ram", "pc.ram",
		    0x80000000);
	check_range(&r[2], 0xffc00000, 0xffffffff, "romd", "system.flash0", 0);
	check_range(&r[3], 0xfd000000, 0xfdffffff, "nv-ram", "nvdimm", 0);
	free(r);
}

static void test_mtree_bad(void)
{
	static const char *const bad[] = {
		"",
		"FlatView #0\n AS \"I/O\", root: io\n"
		"  0000-0007 (prio 0, i/o): dma\n",
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000001000-0000000000000fff (prio 0, ram): x\n",
		"FlatView #0\n AS \"memory\", root: system\n"
		"  00000000000010000-0000000000000fff (prio 0, ram): x\n",
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000-0fff (prio 0, ram): \n",
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000-0fff (prio 0, ram): x @zz\n",
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000-0fff (prio 0 ram): x\n",
	};
	struct qvmi_mtree_range *r = (void *)1;
	size_t n = 99;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++) {
		CHECK_INT(qvmi__hmp_parse_mtree(bad[i], &r, &n), ==, -EBADMSG);
		CHECK(!r);
		CHECK_INT(n, ==, 0);
	}
}

static void test_regs_all_pc(void)
{
	char *t = fixture("regs-a-pc-smp2.txt");
	struct qvmi_regs_x86 r[4];
	size_t n;

	CHECK_OK(qvmi__hmp_parse_registers(t, r, 4, &n));
	CHECK_INT(n, ==, 2);
	CHECK_U64(r[0].rip, ==, 0xffffffff8ac3fc9b);
	CHECK_U64(r[0].rsp, ==, 0xffffce6800003fc0);
	CHECK_U64(r[0].rcx, ==, 0xc0000080);
	CHECK_U64(r[0].r8, ==, 0xffffffffff938aa3);
	CHECK_U64(r[0].r11, ==, 0xffffce6800003ff8);
	CHECK_U64(r[0].rflags, ==, 0x93);
	CHECK_U64(r[0].cs, ==, 0x10);
	CHECK_U64(r[0].ss, ==, 0x18);
	CHECK_U64(r[0].gs_base, ==, 0xffff8bc55f400000);
	CHECK_U64(r[0].gdt_base, ==, 0xfffffe0000001000);
	CHECK_U64(r[0].gdt_limit, ==, 0x7f);
	CHECK_U64(r[0].idt_base, ==, 0xfffffe0000000000);
	CHECK_U64(r[0].idt_limit, ==, 0xfff);
	CHECK_U64(r[0].cr0, ==, 0x80050033);
	CHECK_U64(r[0].cr2, ==, 0xffff8bc559c01000);
	CHECK_U64(r[0].cr3, ==, 0x18210000);
	CHECK_U64(r[0].cr4, ==, 0x6f0);
	CHECK_U64(r[0].efer, ==, 0xd01);
	CHECK_U64(r[0].dr6, ==, 0xffff0ff0);
	CHECK_U64(r[0].dr7, ==, 0x400);
	CHECK_U64(r[0].valid, ==,
		  QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES |
			  QVMI_REGS_CR | QVMI_REGS_TABLES | QVMI_REGS_DR);
	CHECK_U64(r[1].rip, ==, 0xffffffff8b5f77a3);
	CHECK_U64(r[1].rax, ==, 0xd28d7fcce);
	CHECK_U64(r[1].rbp, ==, 0xffffce6800013e10);
	CHECK_U64(r[1].r14, ==, 0x25);
	CHECK_U64(r[1].gs_base, ==, 0xffff8bc55f500000);
	CHECK_U64(r[1].gdt_base, ==, 0xfffffe000003c000);
	CHECK_U64(r[1].cr3, ==, 0x18210000);
	CHECK_U64(r[1].cr4, ==, 0x6e0);
	CHECK_U64(r[2].valid, ==, 0);

	/* max smaller than the vCPU count: the rest is counted, not kept */
	CHECK_OK(qvmi__hmp_parse_registers(t, r, 1, &n));
	CHECK_INT(n, ==, 2);
	CHECK_U64(r[0].rip, ==, 0xffffffff8ac3fc9b);

	CHECK_OK(qvmi__hmp_parse_registers_cpu(t, 1, &r[3]));
	CHECK_U64(r[3].rip, ==, 0xffffffff8b5f77a3);
	CHECK_INT(qvmi__hmp_parse_registers_cpu(t, 2, &r[3]), ==, -ENOENT);
	free(t);
}

static void test_regs_q35_cr3_above_4g(void)
{
	char *t = fixture("regs-a-q35.txt");
	struct qvmi_regs_x86 r;

	CHECK_OK(qvmi__hmp_parse_registers_cpu(t, 0, &r));
	CHECK_U64(r.cr3, ==, 0x11b210000);
	CHECK_U64(r.rip, ==, 0xffffffff9ec3fc9b);
	CHECK_U64(r.gs_base, ==, 0xffff8ec6bbc00000);
	CHECK_U64(r.cr2, ==, 0xffff8ec6bffff000);
	CHECK_OK(qvmi__hmp_parse_registers_cpu(t, 1, &r));
	CHECK_U64(r.cr3, ==, 0x11b210000);
	CHECK_U64(r.rip, ==, 0xffffffff9f5f77a3);
	CHECK_U64(r.gs_base, ==, 0xffff8ec6bbd00000);
	free(t);
}

static void test_regs_single(void)
{
	char *t = fixture("regs-pc.txt"), *hdr;
	struct qvmi_regs_x86 r[2];
	size_t n;

	/* QEMU 7.2 "info registers" prints a CPU#0 header too ... */
	CHECK_OK(qvmi__hmp_parse_registers(t, r, 2, &n));
	CHECK_INT(n, ==, 1);
	CHECK_U64(r[0].rip, ==, 0xffffffff8ac3fc9b);
	/* ... older ones did not: a header-less block is vCPU 0. */
	hdr = strstr(t, "CPU#0\r\n");
	CHECK(hdr);
	memset(hdr, ' ', 5);
	CHECK_OK(qvmi__hmp_parse_registers(t, r, 2, &n));
	CHECK_INT(n, ==, 1);
	CHECK_U64(r[0].rdi, ==, 0xffff8bc55f4198c0);
	CHECK_U64(r[0].cr3, ==, 0x18210000);
	CHECK_OK(qvmi__hmp_parse_registers_cpu(t, 0, &r[1]));
	CHECK_U64(r[1].r9, ==, 0x3d119490);
	free(t);
}

static void test_regs_real_mode(void)
{
	char *t = fixture("regs-reset-32.txt");
	struct qvmi_regs_x86 r;

	/* 16/32-bit layout: EAX.., EIP, EFL, 8-digit bases */
	CHECK_OK(qvmi__hmp_parse_registers_cpu(t, 0, &r));
	CHECK_U64(r.rip, ==, 0xfff0);
	CHECK_U64(r.rdx, ==, 0x60fb1);
	CHECK_U64(r.rflags, ==, 0x2);
	CHECK_U64(r.cs, ==, 0xf000);
	CHECK_U64(r.cr0, ==, 0x60000010);
	CHECK_U64(r.gdt_limit, ==, 0xffff);
	CHECK_U64(r.r8, ==, 0);
	CHECK(r.valid & QVMI_REGS_GPR);
	CHECK(r.valid & QVMI_REGS_CR);
	CHECK(r.valid & QVMI_REGS_SEG);
	free(t);
}

static void test_regs_bad(void)
{
	static const char *const bad[] = {
		"",
		"CPU#3 not available\r\n",
		"invalid char 'x' in expression\r\n",
		"CPU#0\nRAX=zz\n",
		"CPU#0\nRIP=00000000000000001\n",
		"CPU#0\nGS =0000\n",
		"CPU#0\nGDT=     \n",
		"CPU#0\nFCW=037f\n",
		"CPU#99999999\nRIP=0\n",
	};
	struct qvmi_regs_x86 r[2];
	size_t n;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++)
		CHECK_INT(qvmi__hmp_parse_registers(bad[i], r, 2, &n), ==,
			  -EBADMSG);
}

static void test_regs_duplicate_cpu(void)
{
	char *t = fixture("regs-pc.txt");
	size_t len = strlen(t), n;
	char *two = malloc(2 * len + 1);
	struct qvmi_regs_x86 r[2];

	memcpy(two, t, len);
	memcpy(two + len, t, len + 1);
	CHECK_INT(qvmi__hmp_parse_registers(two, r, 2, &n), ==, -EBADMSG);
	free(two);
	free(t);
}

static void test_gpa2hva(void)
{
	char *t;
	uint64_t hva;

	t = fixture("gpa2hva.txt");
	CHECK_OK(qvmi__hmp_parse_gpa2hva(t, &hva));
	CHECK_U64(hva, ==, 0x7fde88e00000);
	free(t);
	t = fixture("gpa2hva-file.txt");
	CHECK_OK(qvmi__hmp_parse_gpa2hva(t, &hva));
	CHECK_U64(hva, ==, 0x7fe114fff000);
	free(t);
	t = fixture("gpa2hva-q35.txt");
	CHECK_OK(qvmi__hmp_parse_gpa2hva(t, &hva));
	CHECK_U64(hva, ==, 0x7f8c6fe00000);
	free(t);
	t = fixture("gpa2hva-err.txt");
	CHECK_INT(qvmi__hmp_parse_gpa2hva(t, &hva), ==, -EFAULT);
	free(t);
	CHECK_INT(qvmi__hmp_parse_gpa2hva("", &hva), ==, -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_gpa2hva("Host virtual address for 0x1 (x) is "
					  "0x",
					  &hva),
		  ==, -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_gpa2hva("Host virtual address for 0x1 (x) is "
					  "0x12 trailing",
					  &hva),
		  ==, -EBADMSG);
	/* a region name that itself contains " is 0x" */
	CHECK_OK(qvmi__hmp_parse_gpa2hva(
		"Host virtual address for 0x1 (a is 0x5) is 0x7000\r\n", &hva));
	CHECK_U64(hva, ==, 0x7000);
}

static void test_xp(void)
{
	char *t = fixture("xp-bios.txt");
	uint8_t b[32];
	size_t done;

	/* The reset vector: "jmp f000:e05b" then the BIOS date "06/23/99" */
	CHECK_OK(qvmi__hmp_parse_xp(t, 0xfffffff0, b, 32));
	CHECK_INT(b[0], ==, 0xea);
	CHECK_INT(b[1], ==, 0x5b);
	CHECK_INT(b[2], ==, 0xe0);
	CHECK(!memcmp(b + 5, "06/23/99", 8));
	CHECK_INT(b[30], ==, 0);
	/* wrong start address, too short a buffer, too long */
	CHECK_INT(qvmi__hmp_parse_xp(t, 0xfffffff8, b, 32), ==, -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_xp(t, 0xfffffff0, b, 31), ==, -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_xp(t, 0xfffffff0, b, 16), ==, -EBADMSG);
	free(t);

	CHECK_INT(qvmi__hmp_parse_xp_partial(
			  "000000001ffffff8: 0x01 0x02 0x03 0x04 0x05 0x06 "
			  "0x07 0x08\r\n0000000020000000: Cannot access "
			  "memory\r\n",
			  0x1ffffff8, b, 20, &done),
		  ==, -EFAULT);
	CHECK_INT(done, ==, 8);
	CHECK_INT(b[7], ==, 8);
	CHECK_INT(qvmi__hmp_parse_xp("0000000000001000: 0x1 0x02\r\n", 0x1000,
				     b, 2),
		  ==, -EBADMSG);
	CHECK_INT(qvmi__hmp_parse_xp("0000000000001000: 0x01 0x02\r\n", 0x1000,
				     b, 2),
		  ==, 0);
	CHECK_INT(qvmi__hmp_parse_xp("", 0, b, 0), ==, 0);
}

static const struct qvmi_test hmp_tests[] = {
	{ "mtree_q35_4g", test_mtree_q35_4g },
	{ "mtree_pc", test_mtree_pc },
	{ "mtree_pc_4g", test_mtree_pc_4g },
	{ "mtree_pflash_vga", test_mtree_pflash_vga },
	{ "mtree_variants", test_mtree_variants },
	{ "mtree_bad", test_mtree_bad },
	{ "regs_all_pc", test_regs_all_pc },
	{ "regs_q35_cr3_above_4g", test_regs_q35_cr3_above_4g },
	{ "regs_single", test_regs_single },
	{ "regs_real_mode", test_regs_real_mode },
	{ "regs_bad", test_regs_bad },
	{ "regs_duplicate_cpu", test_regs_duplicate_cpu },
	{ "gpa2hva", test_gpa2hva },
	{ "xp", test_xp },
};
QVMI_SUITE(hmp, hmp_tests);
