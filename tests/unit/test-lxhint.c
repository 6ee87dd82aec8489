// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel scan's hint walk (kernel.c, qvmi__lx_hint_walk): page tables
 * built here in every mode and page size; its answers must be the arch
 * walker's (qvmi_translate with the mode set), and a hole is -EFAULT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"

enum { P = 1, RW = 2, PS = 0x80, MEM = 4 << 20, TABLES = 0x200000 };
#define ADDR 0x000ffffffffff000ull

struct hpt {
	struct qvmi_ctx *ctx;
	uint8_t *mem;
	uint64_t next; /* bump allocator for tables, below TABLES */
};

static uint64_t rd(struct hpt *p, uint64_t pa, unsigned int sz)
{
	uint64_t v = 0;

	memcpy(&v, p->mem + pa, sz);
	return v;
}

static void wr(struct hpt *p, uint64_t pa, uint64_t v, unsigned int sz)
{
	memcpy(p->mem + pa, &v, sz);
}

static uint64_t table_new(struct hpt *p)
{
	uint64_t pa = p->next;

	CHECK(pa + 4096 <= TABLES);
	p->next += 4096;
	return pa;
}

/* Map va -> pa with a leaf at level shift "leaf" (12, 21, 22, 30); the
 * walk starts at shift top with bits index bits (PAE's PDPT: 2). */
static void map_flags(struct hpt *p, enum qvmi_paging_mode m, uint64_t cr3,
		      uint64_t va, uint64_t pa, unsigned int leaf,
		      uint64_t flags)
{
	bool e32 = m == QVMI_PAGING_32;
	unsigned int esz = e32 ? 4 : 8, step = e32 ? 10 : 9;
	unsigned int shift = m == QVMI_PAGING_5LEVEL ? 48 :
			     m == QVMI_PAGING_PAE    ? 30 :
			     e32		     ? 22 :
						       39;
	unsigned int bits = m == QVMI_PAGING_PAE ? 2 : step;
	uint64_t table = cr3 & (m == QVMI_PAGING_PAE ? 0xffffffe0ull : ADDR);

	for (;; shift -= step, bits = step) {
		uint64_t ea =
			table + ((va >> shift) & ((1ull << bits) - 1)) * esz;
		uint64_t e = rd(p, ea, esz);

		if (shift == leaf) {
			wr(p, ea, pa | flags | P | RW | (leaf > 12 ? PS : 0),
			   esz);
			return;
		}
		if (!(e & P)) {
			/* a PAE PDPTE has no RW bit (reserved there) */
			e = table_new(p) | P |
			    (m == QVMI_PAGING_PAE && shift == 30 ? 0 : RW);
			wr(p, ea, e, esz);
		}
		table = e & (e32 ? 0xfffff000ull : ADDR);
	}
}

static void map(struct hpt *p, enum qvmi_paging_mode m, uint64_t cr3,
		uint64_t va, uint64_t pa, unsigned int leaf)
{
	map_flags(p, m, cr3, va, pa, leaf, 0);
}

static void check_mode(enum qvmi_paging_mode m, uint64_t va_base)
{
	struct hpt p = { NULL, calloc(1, MEM), 0x1000 };
	struct qvmi_source *s;
	uint64_t cr3, got, want;
	/* leaf levels of this mode, and the VAs mapped with them */
	unsigned int leaves[2] = { 12, m == QVMI_PAGING_32 ? 22 : 21 };
	uint64_t va[2] = { va_base + 0x5000, va_base + 0x01c00000 + 0x1234 };
	uint64_t pa[2] = { 0x300000, 0x200000 };

	CHECK(p.mem);
	if (!p.mem)
		return;
	CHECK_OK(qvmi_ctx_create(&p.ctx));
	CHECK_OK(qvmi_source_testmem_create(p.ctx, p.mem, MEM, 1, &s));
	CHECK_OK(qvmi_map_add(p.ctx, s, 0, MEM, 0));
	CHECK_OK(qvmi_set_paging_mode(p.ctx, m));
	cr3 = table_new(&p);
	if (m == QVMI_PAGING_PAE)
		cr3 += 0x20; /* only 32-byte aligned */
	for (int i = 0; i < 2; i++)
		map(&p, m, cr3, va[i], leaves[i] > 12 ? 0x400000 : pa[i],
		    leaves[i]);
	for (int i = 0; i < 2; i++) {
		CHECK_OK(qvmi__lx_hint_walk(p.ctx, m, cr3 | 0x7, va[i], &got,
					    NULL));
		CHECK_OK(qvmi_translate(p.ctx, cr3, va[i], &want));
		CHECK_U64(got, ==, want);
	}
	CHECK_U64(got, ==, 0x400000 + (va[1] & ((1ull << leaves[1]) - 1)));
	/* nothing mapped there: a fault, as the walker says */
	CHECK_INT(qvmi__lx_hint_walk(p.ctx, m, cr3, va_base + 0x40000000u, &got,
				     NULL),
		  ==, -EFAULT);
	CHECK(qvmi_translate(p.ctx, cr3, va_base + 0x40000000u, &want) < 0);
	qvmi_ctx_destroy(p.ctx);
	free(p.mem);
}

#define NX (1ull << 63)
#define SZ_2M 0x200000ull

/* .text 2 MiB pages at T, T+2M, T+4M, .rodata (NX) at T+6M, T+8M; the
 * hint starts at the first NX page (x86_64: .rodata is 2 MiB aligned) or
 * the last executable one (i386); no NX bit (32-bit paging), an NX page
 * at the start, or a hole first: unchanged. */
static void check_skip(enum qvmi_paging_mode m, uint64_t t, uint64_t want)
{
	struct hpt p = { NULL, calloc(1, MEM), 0x1000 };
	struct qvmi_source *s;
	unsigned int leaf = m == QVMI_PAGING_32 ? 22 : 21;
	uint64_t cr3, pa = 7, base = 0x40000000;

	CHECK(p.mem);
	if (!p.mem)
		return;
	CHECK_OK(qvmi_ctx_create(&p.ctx));
	CHECK_OK(qvmi_source_testmem_create(p.ctx, p.mem, MEM, 1, &s));
	CHECK_OK(qvmi_map_add(p.ctx, s, 0, MEM, 0));
	cr3 = table_new(&p);
	for (uint64_t i = 0; i < 5; i++) {
		if (leaf == 22 && (i & 1))
			continue; /* 4 MiB pages */
		map_flags(&p, m, cr3, t + i * SZ_2M, base + i * SZ_2M, leaf,
			  m != QVMI_PAGING_32 && i >= 3 ? NX : 0);
	}
	qvmi__lx_skip_text(p.ctx, m, cr3, t + SZ_2M + 0x1234, &pa);
	CHECK_U64(pa, ==, want);
	/* starting on an NX page, or with a hole before any NX page */
	pa = 7;
	qvmi__lx_skip_text(p.ctx, m, cr3, t + 3 * SZ_2M + 5, &pa);
	if (m != QVMI_PAGING_32)
		CHECK_U64(pa, ==, 7);
	map_flags(&p, m, cr3, t + 0x1000000, base, leaf, 0);
	qvmi__lx_skip_text(p.ctx, m, cr3, t + 0x1000000, &pa);
	CHECK_U64(pa, ==, 7);
	qvmi_ctx_destroy(p.ctx);
	free(p.mem);
}

static void test_skip_text(void)
{
	uint64_t t = 0xffffffff9f000000ull;

	check_skip(QVMI_PAGING_4LEVEL, t, 0x40000000 + 3 * SZ_2M);
	check_skip(QVMI_PAGING_5LEVEL, t, 0x40000000 + 3 * SZ_2M);
	check_skip(QVMI_PAGING_PAE, 0xc1000000u, 0x40000000 + 2 * SZ_2M);
	check_skip(QVMI_PAGING_32, 0xc1000000u, 7);
}

static void test_long_modes(void)
{
	check_mode(QVMI_PAGING_4LEVEL, 0xffffffff80000000ull);
	check_mode(QVMI_PAGING_5LEVEL, 0xffffffff80000000ull);
}

static void test_i386_modes(void)
{
	check_mode(QVMI_PAGING_PAE, 0x80000000u);
	check_mode(QVMI_PAGING_32, 0x80000000u);
}

static void test_no_paging(void)
{
	struct qvmi_ctx *ctx = NULL;
	uint64_t pa = 7;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi__lx_hint_walk(ctx, QVMI_PAGING_NONE, 0, 0x1000, &pa,
				     NULL),
		  ==, -EOPNOTSUPP);
	CHECK_U64(pa, ==, 7);
	/* no memory at all: the first entry cannot be read */
	CHECK_INT(qvmi__lx_hint_walk(ctx, QVMI_PAGING_4LEVEL, 0x1000,
				     0xffffffff81000000ull, &pa, NULL),
		  ==, -EFAULT);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test lxhint_tests[] = {
	{ "long_modes", test_long_modes },
	{ "i386_modes", test_i386_modes },
	{ "no_paging", test_no_paging },
	{ "skip_text", test_skip_text },
};
QVMI_SUITE(lxhint, lxhint_tests);
