// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86 paging over page tables built here in C: every mode and page size,
 * present/reserved checks at every level, flags, canonical addresses,
 * PSE-36, LA57, a self-map, a cycle, MAXPHYADDR, PCID bits; virtual reads;
 * qvmi_pages; and the translation cache with a counting source.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qvmi.h"
#include "arch/x86-paging.h"
#include "core/internal.h"

enum {
	P = 1,
	RW = 2,
	US = 4,
	PS = 0x80,
	MEM_SIZE = 4 << 20,
};
#define NX (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull
#define SZ_4K 0x1000ull
#define SZ_2M 0x200000ull
#define SZ_4M 0x400000ull
#define SZ_1G 0x40000000ull

/* Guest memory [0, MEM_SIZE) at GPA 0; page tables are bump-allocated
 * from 0x1000, data lives from 0x200000 on. */
struct pt {
	struct qvmi_ctx *ctx;
	uint8_t *mem;
	uint64_t next;
};

static uint64_t rd64(struct pt *p, uint64_t pa)
{
	uint64_t v;

	memcpy(&v, p->mem + pa, 8);
	return v;
}

static void wr64(struct pt *p, uint64_t pa, uint64_t v)
{
	memcpy(p->mem + pa, &v, 8);
}

static uint32_t rd32(struct pt *p, uint64_t pa)
{
	uint32_t v;

	memcpy(&v, p->mem + pa, 4);
	return v;
}

static void wr32(struct pt *p, uint64_t pa, uint32_t v)
{
	memcpy(p->mem + pa, &v, 4);
}

static uint64_t pt_new(struct pt *p)
{
	uint64_t pa = p->next;

	CHECK(pa + SZ_4K <= 0x200000);
	memset(p->mem + pa, 0, SZ_4K);
	p->next += SZ_4K;
	return pa;
}

static void pt_init(struct pt *p, enum qvmi_paging_mode mode)
{
	struct qvmi_source *s;

	memset(p, 0, sizeof(*p));
	p->mem = calloc(1, MEM_SIZE);
	CHECK(p->mem);
	p->next = SZ_4K;
	CHECK_OK(qvmi_ctx_create(&p->ctx));
	CHECK_OK(qvmi_source_testmem_create(p->ctx, p->mem, MEM_SIZE, 1, &s));
	CHECK_OK(qvmi_map_add(p->ctx, s, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi_set_paging_mode(p->ctx, mode));
}

static void pt_fini(struct pt *p)
{
	qvmi_ctx_destroy(p->ctx);
	free(p->mem);
}

/* pa of the entry used at walk step "step" (0 = top) for va, IA-32e. */
static uint64_t ent_long(struct pt *p, int levels, uint64_t cr3, uint64_t va,
			 int step)
{
	uint64_t table = cr3 & ADDR_MASK;
	int shift = levels == 5 ? 48 : 39;

	for (int i = 0; i < step; i++, shift -= 9)
		table = rd64(p, table + ((va >> shift) & 511) * 8) & ADDR_MASK;
	return table + ((va >> shift) & 511) * 8;
}

/* Map one page of size sz in IA-32e paging; returns the leaf entry's pa. */
static uint64_t map_long(struct pt *p, int levels, uint64_t cr3, uint64_t va,
			 uint64_t pa, uint64_t sz, uint64_t flags)
{
	uint64_t table = cr3 & ADDR_MASK, ea, e;
	int shift = levels == 5 ? 48 : 39;
	int stop = sz == SZ_1G ? 30 : sz == SZ_2M ? 21 : 12;

	for (; shift > stop; shift -= 9) {
		ea = table + ((va >> shift) & 511) * 8;
		e = rd64(p, ea);
		if (!(e & P)) {
			e = pt_new(p) | P | RW | US;
			wr64(p, ea, e);
		}
		table = e & ADDR_MASK;
	}
	ea = table + ((va >> stop) & 511) * 8;
	wr64(p, ea, pa | flags | P | (stop > 12 ? PS : 0));
	return ea;
}

/* PAE: cr3 points at 4 PDPTEs (32-byte aligned). */
static uint64_t map_pae(struct pt *p, uint64_t cr3, uint64_t va, uint64_t pa,
			uint64_t sz, uint64_t flags)
{
	uint64_t ea = (cr3 & 0xffffffe0u) + ((va >> 30) & 3) * 8, e, table;

	e = rd64(p, ea);
	if (!(e & P)) {
		e = pt_new(p) | P;
		wr64(p, ea, e);
	}
	table = e & ADDR_MASK;
	ea = table + ((va >> 21) & 511) * 8;
	if (sz == SZ_2M) {
		wr64(p, ea, pa | flags | P | PS);
		return ea;
	}
	e = rd64(p, ea);
	if (!(e & P)) {
		e = pt_new(p) | P | RW | US;
		wr64(p, ea, e);
	}
	ea = (e & ADDR_MASK) + ((va >> 12) & 511) * 8;
	wr64(p, ea, pa | flags | P);
	return ea;
}

/* 32-bit: 4 KiB pages, or 4 MiB ones with pse36 = PA bits 39:32. */
static uint64_t map_32(struct pt *p, uint64_t cr3, uint64_t va, uint64_t pa,
		       uint64_t sz, uint32_t flags)
{
	uint64_t ea = (cr3 & 0xfffff000u) + ((va >> 22) & 1023) * 4;
	uint32_t e;

	if (sz == SZ_4M) {
		wr32(p, ea,
		     (uint32_t)(pa & 0xffc00000u) |
			     (uint32_t)(((pa >> 32) & 0xff) << 13) | flags | P |
			     PS);
		return ea;
	}
	e = rd32(p, ea);
	if (!(e & P)) {
		e = (uint32_t)pt_new(p) | P | RW | US;
		wr32(p, ea, e);
	}
	ea = (e & 0xfffff000u) + ((va >> 12) & 1023) * 4;
	wr32(p, ea, (uint32_t)pa | flags | P);
	return ea;
}

static struct qvmi_translation xl(struct pt *p, uint64_t cr3, uint64_t va)
{
	struct qvmi_translation t;

	memset(&t, 0xee, sizeof(t));
	CHECK_OK(qvmi_translate_ex(p->ctx, cr3, va, &t));
	CHECK_U64(t.va, ==, va);
	return t;
}

static void expect_fault(struct pt *p, uint64_t cr3, uint64_t va,
			 const char *needle)
{
	struct qvmi_translation t;

	CHECK_INT(qvmi_translate_ex(p->ctx, cr3, va, &t), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(p->ctx), ==, va);
	CHECK_MSG(strstr(qvmi_errmsg(p->ctx), needle),
		  "message \"%s\" lacks %s", qvmi_errmsg(p->ctx), needle);
}

/* ---- mode selection ------------------------------------------------------ */

static void test_mode_from_regs(void)
{
	struct qvmi_regs_x86 r = { .valid = QVMI_REGS_CR };
	enum qvmi_paging_mode m;

	CHECK_OK(qvmi_paging_mode_from_regs(&r, &m));
	CHECK_INT(m, ==, QVMI_PAGING_NONE);
	r.cr0 = 0x80000011;
	CHECK_OK(qvmi_paging_mode_from_regs(&r, &m));
	CHECK_INT(m, ==, QVMI_PAGING_32);
	r.cr4 = 0x20;
	CHECK_OK(qvmi_paging_mode_from_regs(&r, &m));
	CHECK_INT(m, ==, QVMI_PAGING_PAE);
	r.efer = 0xd01; /* SCE, LME, LMA, NXE */
	CHECK_OK(qvmi_paging_mode_from_regs(&r, &m));
	CHECK_INT(m, ==, QVMI_PAGING_4LEVEL);
	r.cr4 = 0x751ef0; /* QEMU 7.2 -cpu max, see QEMU-FACTS.md */
	CHECK_OK(qvmi_paging_mode_from_regs(&r, &m));
	CHECK_INT(m, ==, QVMI_PAGING_5LEVEL);
	r.efer = 0x100; /* LME without LMA: PG is on, so long mode */
	r.cr4 = 0x20;
	CHECK_OK(qvmi_paging_mode_from_regs(&r, &m));
	CHECK_INT(m, ==, QVMI_PAGING_4LEVEL);
	r.cr4 = 0; /* long mode without PAE cannot exist */
	CHECK_INT(qvmi_paging_mode_from_regs(&r, &m), ==, -EINVAL);
	r.valid = QVMI_REGS_GPR;
	CHECK_INT(qvmi_paging_mode_from_regs(&r, &m), ==, -EINVAL);
	CHECK_STR(qvmi_paging_mode_name(QVMI_PAGING_PAE), "pae");
}

/* ---- IA-32e --------------------------------------------------------------- */

static void test_4level_pages(void)
{
	struct pt p;
	uint64_t cr3, va4k = 0x00007f1234567abcull,
		      va2m = 0xffff888000312345ull;
	uint64_t va1g = 0xffff888140001234ull;
	struct qvmi_translation t;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va4k, 0x345000, SZ_4K, RW | US);
	map_long(&p, 4, cr3, va2m, 0x40200000, SZ_2M, RW);
	map_long(&p, 4, cr3, va1g, 0x1c0000000ull, SZ_1G, 0);
	t = xl(&p, cr3, va4k);
	CHECK_U64(t.pa, ==, 0x345abc);
	CHECK_U64(t.page_size, ==, SZ_4K);
	CHECK_INT(t.levels, ==, 4);
	CHECK_INT(t.flags, ==, QVMI_PTE_W | QVMI_PTE_U);
	CHECK_U64(t.leaf, ==, 0x345000 | P | RW | US);
	t = xl(&p, cr3, va2m);
	CHECK_U64(t.pa, ==, 0x40312345);
	CHECK_U64(t.page_size, ==, SZ_2M);
	CHECK_INT(t.levels, ==, 3);
	CHECK_INT(t.flags, ==, QVMI_PTE_W);
	t = xl(&p, cr3, va1g);
	CHECK_U64(t.pa, ==, 0x1c0001234ull);
	CHECK_U64(t.page_size, ==, SZ_1G);
	CHECK_INT(t.levels, ==, 2);
	CHECK_INT(t.flags, ==, 0);
	/* plain qvmi_translate agrees */
	CHECK_OK(qvmi_translate(p.ctx, cr3, va4k + 1, &t.pa));
	CHECK_U64(t.pa, ==, 0x345abd);
	pt_fini(&p);
}

static void test_4level_not_present(void)
{
	static const char *const names[] = { "PML4E", "PDPTE", "PDE", "PTE" };
	uint64_t va = 0xffffc90000403000ull, cr3;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	for (int step = 3; step >= 0; step--) {
		uint64_t ea = ent_long(&p, 4, cr3, va, step), e = rd64(&p, ea);
		char want[64];

		wr64(&p, ea, e & ~(uint64_t)P);
		snprintf(want, sizeof(want), "%s not present", names[step]);
		expect_fault(&p, cr3, va, want);
		wr64(&p, ea, e);
		CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	}
	pt_fini(&p);
}

static void test_4level_reserved(void)
{
	uint64_t va = 0x400000000ull, va2m = 0x80000000ull, cr3, ea, e;
	struct qvmi_regs_x86 r = { .cr0 = 0x80000011,
				   .cr4 = 0x20,
				   .efer = 0x500,
				   .valid = QVMI_REGS_CR };
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	/* PS in a PML4E is reserved */
	ea = ent_long(&p, 4, cr3, va, 0);
	e = rd64(&p, ea);
	wr64(&p, ea, e | PS);
	expect_fault(&p, cr3, va, "PML4E has reserved bits set");
	wr64(&p, ea, e);
	/* a 2 MiB page with bit 13 set */
	ea = map_long(&p, 4, cr3, va2m, 0x600000, SZ_2M, RW);
	CHECK_U64(xl(&p, cr3, va2m + 5).pa, ==, 0x600005);
	wr64(&p, ea, rd64(&p, ea) | (1u << 13));
	expect_fault(&p, cr3, va2m, "PDE has reserved bits set");
	/* bit 12 of a large page is PAT, not address */
	wr64(&p, ea, 0x600000 | P | RW | PS | (1u << 12));
	CHECK_U64(xl(&p, cr3, va2m + 5).pa, ==, 0x600005);
	/* bits 62:52 are ignored in IA-32e paging (Linux keeps software
	 * bits there) */
	ea = ent_long(&p, 4, cr3, va, 3);
	wr64(&p, ea, rd64(&p, ea) | (0x7ffull << 52));
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	/* XD with EFER.NXE = 0 is reserved */
	wr64(&p, ea, 0x300000 | P | NX);
	CHECK_INT(xl(&p, cr3, va).flags, ==, QVMI_PTE_NX);
	CHECK_OK(qvmi_set_paging_regs(p.ctx, &r));
	expect_fault(&p, cr3, va, "PTE has reserved bits set");
	pt_fini(&p);
}

static void test_flags_combine(void)
{
	uint64_t va = 0x7f0000001000ull, cr3;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW | US);
	CHECK_INT(xl(&p, cr3, va).flags, ==, QVMI_PTE_W | QVMI_PTE_U);
	/* R/W clear in the PDPTE only: not writable */
	wr64(&p, ent_long(&p, 4, cr3, va, 1),
	     rd64(&p, ent_long(&p, 4, cr3, va, 1)) & ~(uint64_t)RW);
	CHECK_INT(xl(&p, cr3, va).flags, ==, QVMI_PTE_U);
	/* U/S clear in the PML4E only: supervisor */
	wr64(&p, ent_long(&p, 4, cr3, va, 0),
	     rd64(&p, ent_long(&p, 4, cr3, va, 0)) & ~(uint64_t)US);
	CHECK_INT(xl(&p, cr3, va).flags, ==, 0);
	/* XD in the PDE only: no-execute */
	wr64(&p, ent_long(&p, 4, cr3, va, 2),
	     rd64(&p, ent_long(&p, 4, cr3, va, 2)) | NX);
	CHECK_INT(xl(&p, cr3, va).flags, ==, QVMI_PTE_NX);
	pt_fini(&p);
}

static void test_canonical(void)
{
	struct pt p;
	uint64_t cr3;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, 0x00007ffffffff000ull, 0x300000, SZ_4K, RW);
	map_long(&p, 4, cr3, 0xffff800000000000ull, 0x301000, SZ_4K, RW);
	CHECK_U64(xl(&p, cr3, 0x00007fffffffffffull).pa, ==, 0x300fff);
	CHECK_U64(xl(&p, cr3, 0xffff800000000000ull).pa, ==, 0x301000);
	expect_fault(&p, cr3, 0x0000800000000000ull, "non-canonical");
	expect_fault(&p, cr3, 0xfeff800000000000ull, "non-canonical");
	expect_fault(&p, cr3, 0xffff7fffffffffffull, "non-canonical");
	/* 57-bit canonical in 5-level paging */
	CHECK_OK(qvmi_set_paging_mode(p.ctx, QVMI_PAGING_5LEVEL));
	expect_fault(&p, cr3, 0x0000800000000000ull, "PML5E not present");
	expect_fault(&p, cr3, 0x0100000000000000ull, "non-canonical");
	expect_fault(&p, cr3, 0xfe00000000000000ull, "non-canonical");
	/* 32-bit paging has no addresses above 4 GiB */
	CHECK_OK(qvmi_set_paging_mode(p.ctx, QVMI_PAGING_PAE));
	expect_fault(&p, cr3, 0x100000000ull, "above 4 GiB");
	pt_fini(&p);
}

static void test_5level(void)
{
	/* LA57 direct map, as QEMU-FACTS.md saw it: 0xff3a... */
	uint64_t va = 0xff3a123456789abcull, va2 = 0x00ff000000001000ull;
	uint64_t cr3, ea;
	struct pt p;

	pt_init(&p, QVMI_PAGING_5LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 5, cr3, va, 0x1200000ull, SZ_2M, RW);
	map_long(&p, 5, cr3, va2, 0x302000, SZ_4K, RW | US);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x1200000ull | (va & (SZ_2M - 1)));
	CHECK_INT(xl(&p, cr3, va).levels, ==, 4);
	CHECK_INT(xl(&p, cr3, va2).levels, ==, 5);
	CHECK_U64(xl(&p, cr3, va2 + 8).pa, ==, 0x302008);
	ea = ent_long(&p, 5, cr3, va, 0);
	wr64(&p, ea, rd64(&p, ea) & ~(uint64_t)P);
	expect_fault(&p, cr3, va, "PML5E not present");
	wr64(&p, ea, rd64(&p, ea) | P | PS);
	expect_fault(&p, cr3, va, "PML5E has reserved bits set");
	/* the same tables read as 4-level give other answers */
	CHECK_OK(qvmi_set_paging_mode(p.ctx, QVMI_PAGING_4LEVEL));
	expect_fault(&p, cr3, 0x1000, "not present");
	pt_fini(&p);
}

/* ---- PAE and 32-bit ------------------------------------------------------ */

static void test_pae(void)
{
	uint64_t cr3, ea;
	struct pt p;

	pt_init(&p, QVMI_PAGING_PAE);
	/* PDPT at a 32-byte aligned, not page aligned, address; low CR3
	 * bits (PWT, PCD) are not address. */
	cr3 = pt_new(&p) + 0x20;
	map_pae(&p, cr3, 0xc0001000, 0x305000, SZ_4K, RW);
	map_pae(&p, cr3, 0x00400000, 0x800000, SZ_2M, RW | US | 0);
	map_pae(&p, cr3, 0x80600000, 0x1a00000, SZ_2M, NX);
	CHECK_U64(xl(&p, cr3 | 0x18, 0xc0001234).pa, ==, 0x305234);
	CHECK_INT(xl(&p, cr3, 0xc0001234).levels, ==, 3);
	CHECK_U64(xl(&p, cr3, 0x00412345).pa, ==, 0x812345);
	CHECK_U64(xl(&p, cr3, 0x00412345).page_size, ==, SZ_2M);
	CHECK_INT(xl(&p, cr3, 0x00412345).flags, ==, QVMI_PTE_W | QVMI_PTE_U);
	CHECK_INT(xl(&p, cr3, 0x80600000).flags, ==, QVMI_PTE_NX);
	/* PDPTE not present, and reserved bits 2:1 */
	expect_fault(&p, cr3, 0x40000000, "PDPTE not present");
	ea = cr3 + 3 * 8;
	wr64(&p, ea, rd64(&p, ea) | RW);
	expect_fault(&p, cr3, 0xc0001000, "PDPTE has reserved bits set");
	wr64(&p, ea, rd64(&p, ea) & ~(uint64_t)RW);
	/* ... but the accessed bit QEMU's TCG sets there is accepted */
	wr64(&p, ea, rd64(&p, ea) | 0x20);
	CHECK_U64(xl(&p, cr3, 0xc0001234).pa, ==, 0x305234);
	/* PAE reserves bits 62:52 too, unlike IA-32e */
	ea = map_pae(&p, cr3, 0xc0002000, 0x306000, SZ_4K, RW);
	wr64(&p, ea, rd64(&p, ea) | (1ull << 60));
	expect_fault(&p, cr3, 0xc0002000, "PTE has reserved bits set");
	pt_fini(&p);
}

static void test_32bit(void)
{
	struct qvmi_regs_x86 r = { .cr0 = 0x80000011,
				   .cr4 = 0,
				   .valid = QVMI_REGS_CR };
	uint64_t cr3, ea;
	struct pt p;

	pt_init(&p, QVMI_PAGING_32);
	cr3 = pt_new(&p);
	map_32(&p, cr3, 0xc0101000, 0x307000, SZ_4K, RW);
	ea = map_32(&p, cr3, 0xc0800000, 0x01400000, SZ_4M, RW | US);
	map_32(&p, cr3, 0x08000000, 0x1200c00000ull, SZ_4M, 0); /* PSE-36 */
	CHECK_U64(xl(&p, cr3, 0xc0101abc).pa, ==, 0x307abc);
	CHECK_INT(xl(&p, cr3, 0xc0101abc).levels, ==, 2);
	CHECK_INT(xl(&p, cr3, 0xc0101abc).flags, ==, QVMI_PTE_W);
	CHECK_U64(xl(&p, cr3, 0xc0923456).pa, ==, 0x01523456);
	CHECK_U64(xl(&p, cr3, 0xc0923456).page_size, ==, SZ_4M);
	CHECK_U64(xl(&p, cr3, 0x08012345).pa, ==, 0x1200c12345ull);
	expect_fault(&p, cr3, 0x00001000, "PDE not present");
	expect_fault(&p, cr3, 0xc0102000, "PTE not present");
	/* bit 21 of a 4 MiB PDE is reserved */
	wr32(&p, ea, rd32(&p, ea) | (1u << 21));
	expect_fault(&p, cr3, 0xc0800000, "PDE has reserved bits set");
	/* MAXPHYADDR 36: PSE-36 bits above PA bit 35 are reserved */
	CHECK_OK(qvmi_set_maxphyaddr(p.ctx, 36));
	expect_fault(&p, cr3, 0x08000000, "PDE has reserved bits set");
	CHECK_OK(qvmi_set_maxphyaddr(p.ctx, 52));
	CHECK_U64(xl(&p, cr3, 0x08000000).pa, ==, 0x1200c00000ull);
	/* without CR4.PSE the PS bit is ignored: the PDE points at a PT */
	CHECK_OK(qvmi_set_paging_regs(p.ctx, &r));
	wr32(&p, ea, 0x2000 | P | RW | PS);
	wr32(&p, 0x2000 + 0x123 * 4, 0x308000 | P);
	CHECK_U64(xl(&p, cr3, 0xc0923456).pa, ==, 0x308456);
	CHECK_U64(xl(&p, cr3, 0xc0923456).page_size, ==, SZ_4K);
	pt_fini(&p);
}

/* ---- hostile hierarchies ------------------------------------------------- */

static void test_self_map(void)
{
	/* Windows-style: PML4[0x1ed] points at the PML4 itself. */
	uint64_t cr3, va, self = 0x1ed, kva = 0xfffff80000123000ull;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, kva, 0x309000, SZ_4K, RW);
	wr64(&p, cr3 + self * 8, cr3 | P | RW);
	/* 4 x self: the PML4 page itself */
	va = 0xffff000000000000ull | self << 39 | self << 30 | self << 21 |
	     self << 12 | 0x8;
	CHECK_U64(xl(&p, cr3, va).pa, ==, cr3 + 8);
	/* 3 x self, then i: the PDPT that PML4[i] points at */
	va = 0xffff000000000000ull | self << 39 | self << 30 | self << 21 |
	     ((kva >> 39) & 511) << 12;
	CHECK_U64(xl(&p, cr3, va).pa, ==,
		  ent_long(&p, 4, cr3, kva, 1) & ~0xfffull);
	/* 1 x self: the PT that maps kva, with kva's PTE inside */
	va = 0xffff000000000000ull | self << 39 | ((kva >> 39) & 511) << 30 |
	     ((kva >> 30) & 511) << 21 | ((kva >> 21) & 511) << 12 |
	     ((kva >> 12) & 511) * 8;
	CHECK_U64(xl(&p, cr3, va).pa, ==, ent_long(&p, 4, cr3, kva, 3));
	CHECK_U64(xl(&p, cr3, kva).pa, ==, 0x309000);
	pt_fini(&p);
}

static void test_cycle(void)
{
	/* Two tables whose entry 0 points at each other: a walk is four
	 * steps, so it ends on T1 (as the leaf page) whatever the depth. */
	uint64_t t1, t2;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	t1 = pt_new(&p);
	t2 = pt_new(&p);
	wr64(&p, t1, t2 | P | RW);
	wr64(&p, t2, t1 | P | RW);
	CHECK_U64(xl(&p, t1, 0x10).pa, ==, t1 + 0x10);
	CHECK_U64(xl(&p, t2, 0x10).pa, ==, t2 + 0x10);
	CHECK_OK(qvmi_set_paging_mode(p.ctx, QVMI_PAGING_5LEVEL));
	CHECK_U64(xl(&p, t1, 0x10).pa, ==, t2 + 0x10);
	pt_fini(&p);
}

static void test_maxphyaddr_and_pcid(void)
{
	uint64_t cr3, va = 0xffff888000001000ull, ea, e;
	struct qvmi_tlb_stats st0, st;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	ea = map_long(&p, 4, cr3, va, 0x30a000, SZ_4K, RW);
	/* address bit 40 in the PTE: an address with M = 52 ... */
	e = rd64(&p, ea);
	wr64(&p, ea, e | (1ull << 40));
	CHECK_U64(xl(&p, cr3, va).pa, ==, (1ull << 40) | 0x30a000);
	/* ... a reserved bit with M = 40 */
	CHECK_OK(qvmi_set_maxphyaddr(p.ctx, 40));
	expect_fault(&p, cr3, va, "PTE has reserved bits set");
	CHECK_INT(qvmi_set_maxphyaddr(p.ctx, 31), ==, -EINVAL);
	CHECK_INT(qvmi_set_maxphyaddr(p.ctx, 53), ==, -EINVAL);
	wr64(&p, ea, e);
	/* CR3 bits at or above M, PCID bits 11:0 and bit 63 are not
	 * address */
	CHECK_U64(xl(&p, cr3 | (1ull << 45) | 0xabc | (1ull << 63), va).pa, ==,
		  0x30a000);
	/* PCID variants of one CR3 share translation-cache entries */
	qvmi_cache_set_mode(p.ctx, QVMI_CACHE_TRUST);
	qvmi_tlb_stats(p.ctx, &st0);
	CHECK_U64(xl(&p, cr3 | 1, va).pa, ==, 0x30a000);
	CHECK_U64(xl(&p, cr3 | 2, va).pa, ==, 0x30a000);
	qvmi_tlb_stats(p.ctx, &st);
	CHECK_U64(st.hits - st0.hits, ==, 1);
	CHECK_U64(st.walks - st0.walks, ==, 1);
	pt_fini(&p);
}

/* ---- virtual reads and writes -------------------------------------------- */

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 13);
}

static void test_read_write_va(void)
{
	static uint8_t hi[0x2000]; /* backs the 2 MiB page's last 8 KiB */
	uint64_t cr3, va = 0x7f0000000000ull;
	struct qvmi_source *s;
	uint8_t out[0x3000], exp[0x3000];
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	/* va+0: 4K @0x200000, va+4K: 4K @0x250000 (not contiguous), va+8K:
	 * unmapped; 2M page at va+2M @0x40000000, then 4K @0x260000 */
	fill(p.mem + 0x200000, 0x80000, 3);
	map_long(&p, 4, cr3, va, 0x200000, SZ_4K, RW);
	map_long(&p, 4, cr3, va + SZ_4K, 0x250000, SZ_4K, RW);
	map_long(&p, 4, cr3, va + SZ_2M, 0x40000000, SZ_2M, RW);
	map_long(&p, 4, cr3, va + 2 * SZ_2M, 0x260000, SZ_4K, RW);
	fill(hi, sizeof(hi), 77);
	CHECK_OK(qvmi_source_testmem_create(p.ctx, hi, sizeof(hi), 1, &s));
	CHECK_OK(qvmi_map_add(p.ctx, s, 0x40000000 + SZ_2M - sizeof(hi),
			      sizeof(hi), 0));
	/* across two 4K pages */
	CHECK_OK(qvmi_read_va(p.ctx, cr3, va + 0xf00, out, 0x200));
	CHECK(!memcmp(out, p.mem + 0x200f00, 0x100));
	CHECK(!memcmp(out + 0x100, p.mem + 0x250000, 0x100));
	/* into the unmapped third page: the fault names its first byte */
	CHECK_INT(qvmi_read_va(p.ctx, cr3, va + 0x1f00, out, 0x200), ==,
		  -EFAULT);
	CHECK_U64(qvmi_fault_addr(p.ctx), ==, va + 0x2000);
	/* across the end of the 2M page into a 4K page */
	CHECK_OK(
		qvmi_read_va(p.ctx, cr3, va + 2 * SZ_2M - 0x1800, out, 0x2000));
	memcpy(exp, hi + 0x800, 0x1800);
	memcpy(exp + 0x1800, p.mem + 0x260000, 0x800);
	CHECK(!memcmp(out, exp, 0x2000));
	/* mapped but not backed: fault at the virtual address */
	CHECK_INT(qvmi_read_va(p.ctx, cr3, va + SZ_2M + 0x10, out, 4), ==,
		  -EFAULT);
	CHECK_U64(qvmi_fault_addr(p.ctx), ==, va + SZ_2M + 0x10);
	/* writes cross pages too */
	fill(exp, 0x100, 200);
	CHECK_OK(qvmi_write_va(p.ctx, cr3, va + 0xf80, exp, 0x100));
	CHECK(!memcmp(p.mem + 0x200f80, exp, 0x80));
	CHECK(!memcmp(p.mem + 0x250000, exp + 0x80, 0x80));
	CHECK_INT(qvmi_read_va(p.ctx, cr3, ~0ull - 2, out, 8), ==, -EINVAL);
	CHECK_OK(qvmi_read_va(p.ctx, cr3, va, out, 0));
	pt_fini(&p);
}

static void test_read_scalars(void)
{
	uint64_t cr3, va = 0x7f0000001ffcull, v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, 0x7f0000001000ull, 0x201000, SZ_4K, RW);
	map_long(&p, 4, cr3, 0x7f0000002000ull, 0x203000, SZ_4K, RW);
	memcpy(p.mem + 0x201ffc, "\x11\x22\x33\x44", 4);
	memcpy(p.mem + 0x203000, "\x55\x66\x77\x88", 4);
	CHECK_OK(qvmi_read_u8_va(p.ctx, cr3, va, &v8));
	CHECK_INT(v8, ==, 0x11);
	CHECK_OK(qvmi_read_u16_va(p.ctx, cr3, va + 3, &v16));
	CHECK_INT(v16, ==, 0x5544);
	CHECK_OK(qvmi_read_u32_va(p.ctx, cr3, va + 2, &v32));
	CHECK_U64(v32, ==, 0x66554433);
	CHECK_OK(qvmi_read_u64_va(p.ctx, cr3, va, &v64));
	CHECK_U64(v64, ==, 0x8877665544332211ull);
	CHECK_OK(qvmi_read_addr_va(p.ctx, cr3, va, &v64));
	CHECK_U64(v64, ==, 0x8877665544332211ull);
	pt_fini(&p);
	/* 32-bit: pointers are 4 bytes */
	pt_init(&p, QVMI_PAGING_32);
	cr3 = pt_new(&p);
	map_32(&p, cr3, 0xc0001000, 0x201000, SZ_4K, RW);
	memcpy(p.mem + 0x201010, "\x78\x56\x34\xc2\xff\xff\xff\xff", 8);
	CHECK_OK(qvmi_read_addr_va(p.ctx, cr3, 0xc0001010, &v64));
	CHECK_U64(v64, ==, 0xc2345678);
	pt_fini(&p);
}

static void test_read_str(void)
{
	uint64_t cr3, va = 0x7f0000001000ull;
	static char buf[QVMI_STR_MAX], big[3 * QVMI_STR_MAX];
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x201000, SZ_4K, RW);
	map_long(&p, 4, cr3, va + SZ_4K, 0x205000, SZ_4K, RW);
	strcpy((char *)p.mem + 0x201010, "Linux version 6.1");
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va + 0x10, buf, sizeof(buf)), ==,
		  17);
	CHECK_STR(buf, "Linux version 6.1");
	/* across a page boundary to non-contiguous physical pages */
	memcpy(p.mem + 0x201ffa, "split-", 6);
	strcpy((char *)p.mem + 0x205000, "string");
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va + 0xffa, buf, sizeof(buf)),
		  ==, 12);
	CHECK_STR(buf, "split-string");
	/* truncated: -E2BIG with the prefix, distinct from a fault */
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va + 0x10, buf, 6), ==, -E2BIG);
	CHECK_STR(buf, "Linux");
	/* exactly fits */
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va + 0x10, buf, 18), ==, 17);
	/* no NUL before unmapped memory: -EFAULT with what was read */
	memset(p.mem + 0x205000, 'x', SZ_4K);
	memcpy(p.mem + 0x201ffe, "ab", 2);
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va + 0xffe, big, sizeof(big)),
		  ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(p.ctx), ==, va + 2 * SZ_4K);
	CHECK_INT(strlen(big), ==, 2 + 4096);
	/* ... and with a smaller buffer the bound comes first */
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va + 0xffe, buf, sizeof(buf)),
		  ==, -E2BIG);
	CHECK_INT(strlen(buf), ==, sizeof(buf) - 1);
	CHECK_INT(qvmi_read_str_va(p.ctx, cr3, va, buf, 0), ==, -EINVAL);
	pt_fini(&p);
}

/* ---- qvmi_pages ----------------------------------------------------------- */

struct ranges {
	struct qvmi_page_range r[64];
	int n;
	int stop_after;
};

static int collect(const struct qvmi_page_range *r, void *arg)
{
	struct ranges *rs = arg;

	if (rs->n < 64)
		rs->r[rs->n] = *r;
	rs->n++;
	return rs->stop_after && rs->n >= rs->stop_after ? 42 : 0;
}

static void check_range(const struct qvmi_page_range *r, uint64_t va,
			uint64_t pa, uint64_t size, uint64_t ps, uint32_t flags)
{
	CHECK_U64(r->va, ==, va);
	CHECK_U64(r->pa, ==, pa);
	CHECK_U64(r->size, ==, size);
	CHECK_U64(r->page_size, ==, ps);
	CHECK_INT(r->flags, ==, flags);
}

static void test_pages_4level(void)
{
	const uint32_t WU = QVMI_PTE_W | QVMI_PTE_U;
	struct ranges rs = { 0 };
	uint64_t cr3, ea;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	/* two pages contiguous in va and pa: one range */
	map_long(&p, 4, cr3, 0x400000, 0x300000, SZ_4K, RW | US);
	map_long(&p, 4, cr3, 0x401000, 0x301000, SZ_4K, RW | US);
	/* contiguous va, not pa */
	map_long(&p, 4, cr3, 0x402000, 0x900000, SZ_4K, RW | US);
	/* contiguous va and pa, other flags */
	map_long(&p, 4, cr3, 0x403000, 0x901000, SZ_4K, US);
	/* reserved bits: skipped */
	ea = map_long(&p, 4, cr3, 0x404000, 0x902000, SZ_4K, US);
	wr64(&p, ea, rd64(&p, ea) | (1ull << 51));
	CHECK_OK(qvmi_set_maxphyaddr(p.ctx, 46));
	/* a 2M page */
	map_long(&p, 4, cr3, 0x600000, 0xa00000, SZ_2M, RW | US);
	/* two 1G pages, contiguous, in the kernel half */
	map_long(&p, 4, cr3, 0xffff888000000000ull, 0x0, SZ_1G, RW | NX);
	map_long(&p, 4, cr3, 0xffff888040000000ull, SZ_1G, SZ_1G, RW | NX);
	/* not present: skipped */
	ea = map_long(&p, 4, cr3, 0xffffffff81000000ull, 0x1000000, SZ_2M, RW);
	wr64(&p, ea, rd64(&p, ea) & ~(uint64_t)P);
	map_long(&p, 4, cr3, 0xfffffffffffff000ull, 0x30b000, SZ_4K, 0);
	CHECK_OK(qvmi_pages(p.ctx, cr3, collect, &rs));
	CHECK_INT(rs.n, ==, 6);
	check_range(&rs.r[0], 0x400000, 0x300000, 0x2000, SZ_4K, WU);
	check_range(&rs.r[1], 0x402000, 0x900000, 0x1000, SZ_4K, WU);
	check_range(&rs.r[2], 0x403000, 0x901000, 0x1000, SZ_4K, QVMI_PTE_U);
	check_range(&rs.r[3], 0x600000, 0xa00000, SZ_2M, SZ_2M, WU);
	check_range(&rs.r[4], 0xffff888000000000ull, 0, 2 * SZ_1G, SZ_1G,
		    QVMI_PTE_W | QVMI_PTE_NX);
	check_range(&rs.r[5], 0xfffffffffffff000ull, 0x30b000, SZ_4K, SZ_4K, 0);
	/* the callback's non-zero return stops the walk and is returned */
	memset(&rs, 0, sizeof(rs));
	rs.stop_after = 2;
	CHECK_INT(qvmi_pages(p.ctx, cr3, collect, &rs), ==, 42);
	CHECK_INT(rs.n, ==, 2);
	pt_fini(&p);
}

static void test_pages_other_modes(void)
{
	struct ranges rs = { 0 };
	uint64_t cr3;
	struct pt p;

	pt_init(&p, QVMI_PAGING_32);
	cr3 = pt_new(&p);
	map_32(&p, cr3, 0xc0000000, 0x1000000, SZ_4M, RW);
	map_32(&p, cr3, 0xc0400000, 0x1400000, SZ_4M, RW);
	map_32(&p, cr3, 0x08048000, 0x305000, SZ_4K, RW | US);
	CHECK_OK(qvmi_pages(p.ctx, cr3, collect, &rs));
	CHECK_INT(rs.n, ==, 2);
	check_range(&rs.r[0], 0x08048000, 0x305000, SZ_4K, SZ_4K,
		    QVMI_PTE_W | QVMI_PTE_U);
	check_range(&rs.r[1], 0xc0000000, 0x1000000, 2 * SZ_4M, SZ_4M,
		    QVMI_PTE_W);
	pt_fini(&p);

	memset(&rs, 0, sizeof(rs));
	pt_init(&p, QVMI_PAGING_PAE);
	cr3 = pt_new(&p) + 0x40;
	map_pae(&p, cr3, 0xc0000000, 0x1000000, SZ_2M, RW | NX);
	map_pae(&p, cr3, 0xbffff000, 0x305000, SZ_4K, RW);
	CHECK_OK(qvmi_pages(p.ctx, cr3, collect, &rs));
	CHECK_INT(rs.n, ==, 2);
	check_range(&rs.r[0], 0xbffff000, 0x305000, SZ_4K, SZ_4K, QVMI_PTE_W);
	check_range(&rs.r[1], 0xc0000000, 0x1000000, SZ_2M, SZ_2M,
		    QVMI_PTE_W | QVMI_PTE_NX);
	pt_fini(&p);

	memset(&rs, 0, sizeof(rs));
	pt_init(&p, QVMI_PAGING_5LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 5, cr3, 0xff3a000000000000ull, 0x0, SZ_1G, RW);
	map_long(&p, 5, cr3, 0x00ff000000000000ull, 0x305000, SZ_4K, RW);
	CHECK_OK(qvmi_pages(p.ctx, cr3, collect, &rs));
	CHECK_INT(rs.n, ==, 2);
	check_range(&rs.r[0], 0x00ff000000000000ull, 0x305000, SZ_4K, SZ_4K,
		    QVMI_PTE_W);
	check_range(&rs.r[1], 0xff3a000000000000ull, 0, SZ_1G, SZ_1G,
		    QVMI_PTE_W);
	pt_fini(&p);

	/* paging off: the physical map, identity */
	memset(&rs, 0, sizeof(rs));
	pt_init(&p, QVMI_PAGING_NONE);
	CHECK_OK(qvmi_pages(p.ctx, 0, collect, &rs));
	CHECK_INT(rs.n, ==, 1);
	check_range(&rs.r[0], 0, 0, MEM_SIZE, MEM_SIZE,
		    QVMI_PTE_W | QVMI_PTE_U);
	CHECK_U64(xl(&p, 0, 0x1234).pa, ==, 0x1234);
	pt_fini(&p);
}

static void test_pages_hostile(void)
{
	struct ranges rs = { 0 };
	uint64_t cr3, t2;
	struct pt p;

	/* self-map: the PML4 maps itself at every level below it */
	pt_init(&p, QVMI_PAGING_4LEVEL);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, 0x1000, 0x30c000, SZ_4K, RW);
	wr64(&p, cr3 + 0x1ed * 8, cr3 | P | RW);
	CHECK_OK(qvmi_pages(p.ctx, cr3, collect, &rs));
	/* 0x1000, then inside the self-map region: the PT, PD, PDPT and
	 * PML4 pages, each reached as a leaf */
	CHECK_INT(rs.n, ==, 5);
	check_range(&rs.r[0], 0x1000, 0x30c000, SZ_4K, SZ_4K, QVMI_PTE_W);
	for (int i = 1; i < 5; i++)
		CHECK_U64(rs.r[i].va >> 39 & 511, ==, 0x1ed);
	CHECK_U64(rs.r[4].pa, ==, cr3);
	CHECK_U64(rs.r[4].va, ==, 0xfffff6fb7dbed000ull);
	/* every entry of two tables pointing at the other: 512^3 tables,
	 * stopped by the budget with -ELOOP after a partial result */
	t2 = pt_new(&p);
	for (int i = 0; i < 512; i++) {
		wr64(&p, cr3 + i * 8, t2 | P | RW);
		wr64(&p, t2 + i * 8, cr3 | P | RW);
	}
	memset(&rs, 0, sizeof(rs));
	CHECK_INT(qvmi__pages_walk(p.ctx, cr3, collect, &rs, 100), ==, -ELOOP);
	CHECK(strstr(qvmi_errmsg(p.ctx), "cycle"));
	CHECK_INT(rs.n, >=, 1);
	pt_fini(&p);
}

/* ---- translation cache --------------------------------------------------- */

/* A source over the test memory that counts its reads. */
static int nreads;
static int count_read(struct qvmi_source *s, uint64_t a, void *b, size_t n)
{
	uint8_t *mem = qvmi_source_priv(s);

	nreads++;
	if (a > MEM_SIZE || n > MEM_SIZE - a)
		return -EFAULT;
	memcpy(b, mem + a, n);
	return 0;
}
static int count_write(struct qvmi_source *s, uint64_t a, const void *b,
		       size_t n)
{
	memcpy((uint8_t *)qvmi_source_priv(s) + a, b, n);
	return 0;
}
static const struct qvmi_source_ops count_ops = { "count", count_read,
						  count_write, NULL };

static void counting_init(struct pt *p, unsigned int flags)
{
	struct qvmi_source *s;

	pt_init(p, QVMI_PAGING_4LEVEL);
	CHECK_OK(qvmi_source_create(p->ctx, &count_ops, p->mem, flags, &s));
	CHECK_OK(qvmi_map_add(p->ctx, s, 0, MEM_SIZE, 0));
}

static void test_tlb_hits(void)
{
	uint64_t cr3, va = 0xffff888000200000ull;
	struct qvmi_tlb_stats st;
	struct pt p;
	uint64_t v;

	counting_init(&p, 0);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	map_long(&p, 4, cr3, va + SZ_4K, 0x301000, SZ_4K, RW);
	wr64(&p, 0x300008, 0x1122334455667788ull);
	/* AUTO with no VM control: not known paused, no caching */
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_INT(nreads, ==, 8);
	/* TRUST: the first walk fills, then a hit reads nothing at all */
	qvmi_cache_set_mode(p.ctx, QVMI_CACHE_TRUST);
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va + 5).pa, ==, 0x300005);
	CHECK_INT(nreads, ==, 4); /* four page-table pages */
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va + 9).pa, ==, 0x300009);
	CHECK_INT(nreads, ==, 0);
	/* the neighbour page: a walk served by the page-table cache */
	CHECK_U64(xl(&p, cr3, va + SZ_4K).pa, ==, 0x301000);
	CHECK_INT(nreads, ==, 0);
	/* a virtual read costs just the data read */
	CHECK_OK(qvmi_read_u64_va(p.ctx, cr3, va + 8, &v));
	CHECK_U64(v, ==, 0x1122334455667788ull);
	CHECK_INT(nreads, ==, 1);
	qvmi_tlb_stats(p.ctx, &st);
	CHECK_U64(st.hits, ==, 2);
	CHECK_U64(st.misses, ==, 2);
	CHECK_U64(st.walks, ==, 4);
	CHECK_U64(st.pt_misses, ==, 4);
	CHECK_U64(st.pt_hits, ==, 4);
	/* the caller vouched: a change behind our back is not seen ... */
	wr64(&p, ent_long(&p, 4, cr3, va, 3), 0x302000 | P | RW);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	/* ... until a flush */
	qvmi_tlb_flush(p.ctx);
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x302000);
	CHECK_INT(nreads, ==, 4);
	/* any guest-physical write flushes too */
	wr64(&p, ent_long(&p, 4, cr3, va, 3), 0x303000 | P | RW);
	CHECK_OK(qvmi_write_pa(p.ctx, 0x380000, "x", 1));
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x303000);
	/* and so does qvmi_cache_flush */
	wr64(&p, ent_long(&p, 4, cr3, va, 3), 0x304000 | P | RW);
	qvmi_cache_flush(p.ctx);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x304000);
	/* OFF: nothing cached */
	qvmi_cache_set_mode(p.ctx, QVMI_CACHE_OFF);
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x304000);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x304000);
	CHECK_INT(nreads, ==, 8);
	pt_fini(&p);
}

static void test_tlb_slow_source(void)
{
	uint64_t cr3, va = 0xffff888000200000ull;
	struct qvmi_tlb_stats st;
	struct pt p;

	/* A slow source: the core page cache holds the page-table pages as
	 * well, so a flush of translations alone re-walks for free. */
	counting_init(&p, QVMI_SOURCE_SLOW);
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	qvmi_cache_set_mode(p.ctx, QVMI_CACHE_TRUST);
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_INT(nreads, ==, 4);
	qvmi_tlb_flush(p.ctx);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_INT(nreads, ==, 4);
	qvmi_tlb_stats(p.ctx, &st);
	CHECK_U64(st.walks, ==, 2);
	CHECK_U64(st.flushes, ==, 1);
	/* qvmi_cache_flush empties both */
	qvmi_cache_flush(p.ctx);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_INT(nreads, ==, 8);
	pt_fini(&p);
}

/* A fake control backend: state changes arrive through poll, like QMP
 * events; registers for AUTO mode. */
static enum qvmi_vm_state fake_next;
static int fake_regs_calls, fake_polls;
static struct qvmi_regs_x86 fake_regs;

static void fake_poll(struct qvmi_ctl *c)
{
	fake_polls++;
	if (c->ctx->vm_state != fake_next)
		qvmi__vm_state_changed(c->ctx, fake_next);
}

static int fake_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
			 struct qvmi_regs_x86 *ret)
{
	fake_regs_calls++;
	if (vcpu)
		return -EINVAL;
	*ret = fake_regs;
	return 0;
}

static const struct qvmi_ctl_ops fake_ctl = {
	.name = "fake",
	.get_regs = fake_get_regs,
	.poll = fake_poll,
};

static void test_tlb_pause_resume(void)
{
	uint64_t cr3, va = 0xffff888000200000ull, ea;
	struct qvmi_tlb_stats st;
	struct pt p;

	counting_init(&p, 0);
	CHECK_OK(qvmi__ctl_set(p.ctx, &fake_ctl, NULL));
	cr3 = pt_new(&p);
	ea = map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	/* paused (seen through poll): cached */
	fake_next = QVMI_VM_PAUSED;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	nreads = 0;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_INT(nreads, ==, 0);
	/* another client resumes the VM; the guest remaps va */
	fake_next = QVMI_VM_RUNNING;
	wr64(&p, ea, 0x305000 | P | RW);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x305000);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x305000);
	CHECK_INT(nreads, ==, 8);
	/* while running, nothing was cached: after the next pause the old
	 * mapping is not served */
	wr64(&p, ea, 0x306000 | P | RW);
	fake_next = QVMI_VM_PAUSED;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x306000);
	qvmi_tlb_stats(p.ctx, &st);
	CHECK_U64(st.hits, ==, 1);
	CHECK_INT(st.flushes, >=, 1);
	pt_fini(&p);
}

static void test_tlb_skips_shared_ram(void)
{
	uint64_t cr3, va = 0xffff888000200000ull;
	struct qvmi_tlb_stats st;
	struct qvmi_source *s;
	struct pt p;

	pt_init(&p, QVMI_PAGING_4LEVEL);
	CHECK_OK(qvmi_source_testmem_create(p.ctx, p.mem, MEM_SIZE, 1, &s));
	CHECK_OK(qvmi__map_add_host(p.ctx, s, 0, MEM_SIZE, 0, p.mem));
	CHECK_OK(qvmi__ctl_set(p.ctx, &fake_ctl, NULL));
	cr3 = pt_new(&p);
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	/* AUTO, paused, page tables in shared RAM: walked, and the backend
	 * is not even asked */
	fake_next = QVMI_VM_PAUSED;
	fake_polls = 0;
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_INT(fake_polls, ==, 0);
	qvmi_tlb_stats(p.ctx, &st);
	CHECK_U64(st.walks, ==, 2);
	CHECK_U64(st.hits + st.misses, ==, 0);
	/* TRUST needs no poll: the cache is used */
	qvmi_cache_set_mode(p.ctx, QVMI_CACHE_TRUST);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	qvmi_tlb_stats(p.ctx, &st);
	CHECK_U64(st.walks, ==, 3);
	CHECK_U64(st.hits, ==, 1);
	CHECK_INT(fake_polls, ==, 0);
	pt_fini(&p);
}

static void test_auto_mode(void)
{
	enum qvmi_paging_mode m;
	uint64_t cr3, va = 0x1000;
	struct pt p;

	pt_init(&p, QVMI_PAGING_AUTO);
	cr3 = pt_new(&p);
	/* no registers to derive the mode from */
	CHECK_INT(qvmi_translate(p.ctx, cr3, va, &cr3), ==, -EOPNOTSUPP);
	CHECK(strstr(qvmi_errmsg(p.ctx), "qvmi_set_paging_mode"));
	CHECK_OK(qvmi__ctl_set(p.ctx, &fake_ctl, NULL));
	fake_next = QVMI_VM_UNKNOWN;
	fake_regs = (struct qvmi_regs_x86){ .cr0 = 0x80050033,
					    .cr3 = cr3,
					    .cr4 = 0x3006f0,
					    .efer = 0xd01,
					    .valid = QVMI_REGS_CR };
	fake_regs_calls = 0;
	map_long(&p, 4, cr3, va, 0x300000, SZ_4K, RW);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_U64(xl(&p, cr3, va).pa, ==, 0x300000);
	CHECK_OK(qvmi_get_paging_mode(p.ctx, &m));
	CHECK_INT(m, ==, QVMI_PAGING_4LEVEL);
	CHECK_INT(fake_regs_calls, ==, 1);
	/* a flush (e.g. a resume) re-reads the registers: now LA57 */
	fake_regs.cr4 |= 1u << 12;
	qvmi_cache_flush(p.ctx);
	CHECK_OK(qvmi_get_paging_mode(p.ctx, &m));
	CHECK_INT(m, ==, QVMI_PAGING_5LEVEL);
	CHECK_INT(fake_regs_calls, ==, 2);
	/* a fixed mode never asks */
	CHECK_OK(qvmi_set_paging_mode(p.ctx, QVMI_PAGING_PAE));
	qvmi_cache_flush(p.ctx);
	CHECK_OK(qvmi_get_paging_mode(p.ctx, &m));
	CHECK_INT(m, ==, QVMI_PAGING_PAE);
	CHECK_INT(fake_regs_calls, ==, 2);
	CHECK_INT(qvmi_set_paging_mode(p.ctx, (enum qvmi_paging_mode)9), ==,
		  -EINVAL);
	pt_fini(&p);
}

static const struct qvmi_test paging_tests[] = {
	{ "mode_from_regs", test_mode_from_regs },
	{ "4level_pages", test_4level_pages },
	{ "4level_not_present", test_4level_not_present },
	{ "4level_reserved", test_4level_reserved },
	{ "flags_combine", test_flags_combine },
	{ "canonical", test_canonical },
	{ "5level", test_5level },
	{ "pae", test_pae },
	{ "32bit", test_32bit },
	{ "self_map", test_self_map },
	{ "cycle", test_cycle },
	{ "maxphyaddr_and_pcid", test_maxphyaddr_and_pcid },
	{ "read_write_va", test_read_write_va },
	{ "read_scalars", test_read_scalars },
	{ "read_str", test_read_str },
	{ "pages_4level", test_pages_4level },
	{ "pages_other_modes", test_pages_other_modes },
	{ "pages_hostile", test_pages_hostile },
	{ "tlb_hits", test_tlb_hits },
	{ "tlb_slow_source", test_tlb_slow_source },
	{ "tlb_pause_resume", test_tlb_pause_resume },
	{ "tlb_skips_shared_ram", test_tlb_skips_shared_ram },
	{ "auto_mode", test_auto_mode },
};
QVMI_SUITE(paging, paging_tests);
