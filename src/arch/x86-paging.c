// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86 page-table walks for the four paging modes (Intel SDM vol. 3A, ch. 4):
 * 32-bit (4 KiB, 4 MiB with CR4.PSE and PSE-36), PAE (4 KiB, 2 MiB),
 * IA-32e 4-level (4 KiB, 2 MiB, 1 GiB) and 5-level (CR4.LA57).
 *
 * A walk is a loop over at most five levels, so a self-referencing entry
 * (the Windows self-map) or a cycle of tables simply gives what the CPU
 * would give after that many steps.  Entries with reserved bits set fail
 * like a #PF with RSVD would.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86-paging.h"

enum {
	CR0_PG = 31,
	CR4_PSE = 4,
	CR4_PAE = 5,
	CR4_LA57 = 12,
	EFER_LME = 8,
	EFER_LMA = 10,
	EFER_NXE = 11,
	PTE_P = 1u << 0,
	PTE_RW = 1u << 1,
	PTE_US = 1u << 2,
	PTE_PS = 1u << 7,
	MAXPHY_DEFAULT = 52,
};

#define BIT(n) (1ull << (n))
/* Bits hi..lo inclusive; empty when lo > hi. */
static inline uint64_t genmask(unsigned int hi, unsigned int lo)
{
	if (hi > 63)
		hi = 63;
	if (lo > hi)
		return 0;
	return (~0ull >> (63 - hi)) & (~0ull << lo);
}

#define L(SHIFT, BITS, ESZ, FMT, LARGE, NAME)                  \
	{                                                      \
		SHIFT, BITS, ESZ, QVMI__FMT_##FMT, LARGE, NAME \
	}

static const struct qvmi__pglevel levels_32[] = {
	L(22, 10, 4, 32, true, "PDE"),
	L(12, 10, 4, 32, false, "PTE"),
};
static const struct qvmi__pglevel levels_pae[] = {
	L(30, 2, 8, PAE_PDPTE, false, "PDPTE"),
	L(21, 9, 8, PAE, true, "PDE"),
	L(12, 9, 8, PAE, false, "PTE"),
};
static const struct qvmi__pglevel levels_5[] = {
	L(48, 9, 8, LONG_TOP, false, "PML5E"),
	L(39, 9, 8, LONG_TOP, false, "PML4E"),
	L(30, 9, 8, LONG, true, "PDPTE"),
	L(21, 9, 8, LONG, true, "PDE"),
	L(12, 9, 8, LONG, false, "PTE"),
};

static const struct qvmi__pgmode modes[] = {
	[QVMI_PAGING_32] = { levels_32, 2 },
	[QVMI_PAGING_PAE] = { levels_pae, 3 },
	[QVMI_PAGING_4LEVEL] = { levels_5 + 1, 4 },
	[QVMI_PAGING_5LEVEL] = { levels_5, 5 },
};

const struct qvmi__pgmode *qvmi__pgmode(enum qvmi_paging_mode mode)
{
	if (mode < QVMI_PAGING_32 || mode > QVMI_PAGING_5LEVEL)
		return NULL;
	return &modes[mode];
}

QVMI_API const char *qvmi_paging_mode_name(enum qvmi_paging_mode mode)
{
	switch (mode) {
	case QVMI_PAGING_AUTO:
		return "auto";
	case QVMI_PAGING_NONE:
		return "none";
	case QVMI_PAGING_32:
		return "32-bit";
	case QVMI_PAGING_PAE:
		return "pae";
	case QVMI_PAGING_4LEVEL:
		return "4-level";
	case QVMI_PAGING_5LEVEL:
		return "5-level";
	}
	return "?";
}

/* ---- mode selection ----------------------------------------------------- */

static int cfg_from_regs(const struct qvmi_regs_x86 *r, struct qvmi__pgcfg *c)
{
	bool pg = r->cr0 & BIT(CR0_PG), pae = r->cr4 & BIT(CR4_PAE);
	/* LMA = LME && PG; some sources report EFER before LMA is set. */
	bool lma = (r->efer & BIT(EFER_LMA)) ||
		   (pg && (r->efer & BIT(EFER_LME)));

	if (!(r->valid & QVMI_REGS_CR))
		return -EINVAL;
	c->pse = r->cr4 & BIT(CR4_PSE);
	c->nxe = r->efer & BIT(EFER_NXE);
	if (!pg)
		c->mode = QVMI_PAGING_NONE;
	else if (!pae)
		c->mode = lma ? QVMI_PAGING_AUTO : QVMI_PAGING_32;
	else if (!lma)
		c->mode = QVMI_PAGING_PAE;
	else
		c->mode = (r->cr4 & BIT(CR4_LA57)) ? QVMI_PAGING_5LEVEL :
						     QVMI_PAGING_4LEVEL;
	/* Long mode without PAE cannot be entered: the registers are bad. */
	return c->mode == QVMI_PAGING_AUTO ? -EINVAL : 0;
}

QVMI_API int qvmi_paging_mode_from_regs(const struct qvmi_regs_x86 *regs,
					enum qvmi_paging_mode *ret)
{
	struct qvmi__pgcfg c;
	int err;

	if (!regs || !ret)
		return -EINVAL;
	err = cfg_from_regs(regs, &c);
	if (!err)
		*ret = c.mode;
	return err;
}

static void arch_destroy(struct qvmi_arch *a)
{
	if (!a)
		return;
	qvmi__tlb_destroy(a->tlb);
	free(a);
}

int qvmi__arch_get(struct qvmi_ctx *ctx, struct qvmi_arch **ret)
{
	struct qvmi_arch *a = ctx->arch;

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		a->maxphyaddr = MAXPHY_DEFAULT;
		ctx->arch = a;
		ctx->arch_destroy = arch_destroy;
	}
	*ret = a;
	return 0;
}

static uint64_t rsvd_mask(const struct qvmi__pgcfg *c,
			  const struct qvmi__pglevel *l, bool leaf_large);

static void cfg_set(struct qvmi_arch *a, const struct qvmi__pgcfg *c)
{
	struct qvmi__pgcfg n = { c->mode, c->pse, c->nxe, c->maxphyaddr };

	if (a->cfg.mode != n.mode || a->cfg.pse != n.pse ||
	    a->cfg.nxe != n.nxe || a->cfg.maxphyaddr != n.maxphyaddr)
		qvmi__tlb_drop(a);
	n.m = qvmi__pgmode(n.mode);
	for (int i = 0; n.m && i < n.m->nlevels; i++) {
		n.rsvd[i] = rsvd_mask(&n, &n.m->levels[i], false);
		n.rsvd_large[i] = rsvd_mask(&n, &n.m->levels[i], true);
	}
	a->cfg = n;
}

int qvmi__paging_ready(struct qvmi_ctx *ctx, struct qvmi_arch **ret)
{
	struct qvmi_regs_x86 r;
	struct qvmi__pgcfg c = { 0 };
	struct qvmi_arch *a = NULL;
	int err = qvmi__arch_get(ctx, &a);

	if (err)
		return err;
	*ret = a;
	if (a->want != QVMI_PAGING_AUTO ||
	    (a->cfg.mode != QVMI_PAGING_AUTO && a->cfg_gen == ctx->flush_gen))
		return 0;
	err = qvmi_get_regs(ctx, 0, &r);
	if (err) {
		char why[QVMI_ERRMSG_MAX];

		snprintf(why, sizeof(why), "%s", qvmi_errmsg(ctx));
		return qvmi__err(ctx, err,
				 "paging mode unknown (%s); set it with "
				 "qvmi_set_paging_mode",
				 why);
	}
	if (cfg_from_regs(&r, &c))
		return qvmi__err(ctx, -EINVAL,
				 "vCPU 0: no usable CR0/CR4/EFER to pick a "
				 "paging mode");
	c.maxphyaddr = a->maxphyaddr;
	cfg_set(a, &c);
	a->cfg_gen = ctx->flush_gen;
	return 0;
}

QVMI_API int qvmi_set_paging_mode(struct qvmi_ctx *ctx,
				  enum qvmi_paging_mode mode)
{
	struct qvmi__pgcfg c = { mode, true, true, 0 };
	struct qvmi_arch *a = NULL;
	int err;

	if (mode < QVMI_PAGING_AUTO || mode > QVMI_PAGING_5LEVEL)
		return qvmi__err(ctx, -EINVAL, "bad paging mode %d", (int)mode);
	err = qvmi__arch_get(ctx, &a);
	if (err)
		return err;
	a->want = mode;
	c.maxphyaddr = a->maxphyaddr;
	if (mode == QVMI_PAGING_AUTO)
		c.mode = QVMI_PAGING_AUTO; /* derived on next use */
	cfg_set(a, &c);
	return 0;
}

QVMI_API int qvmi_set_paging_regs(struct qvmi_ctx *ctx,
				  const struct qvmi_regs_x86 *regs)
{
	struct qvmi__pgcfg c = { 0 };
	struct qvmi_arch *a = NULL;
	int err;

	if (!regs || cfg_from_regs(regs, &c))
		return qvmi__err(ctx, -EINVAL,
				 "registers: no usable CR0/CR4/EFER");
	err = qvmi__arch_get(ctx, &a);
	if (err)
		return err;
	a->want = c.mode;
	c.maxphyaddr = a->maxphyaddr;
	cfg_set(a, &c);
	return 0;
}

QVMI_API int qvmi_get_paging_mode(struct qvmi_ctx *ctx,
				  enum qvmi_paging_mode *ret)
{
	struct qvmi_arch *a = NULL;
	int err = qvmi__paging_ready(ctx, &a);

	if (!err && ret)
		*ret = a->cfg.mode;
	return err;
}

QVMI_API int qvmi_set_maxphyaddr(struct qvmi_ctx *ctx, unsigned int bits)
{
	struct qvmi__pgcfg c;
	struct qvmi_arch *a = NULL;
	int err;

	if (bits < 32 || bits > 52)
		return qvmi__err(ctx, -EINVAL, "MAXPHYADDR %u not in 32..52",
				 bits);
	err = qvmi__arch_get(ctx, &a);
	if (err)
		return err;
	a->maxphyaddr = bits;
	c = a->cfg;
	c.maxphyaddr = bits;
	cfg_set(a, &c);
	return 0;
}

/* ---- entries ------------------------------------------------------------ */

uint64_t qvmi__dtb_base(const struct qvmi__pgcfg *c, uint64_t dtb)
{
	switch (c->mode) {
	case QVMI_PAGING_32:
		return dtb & 0xfffff000u;
	case QVMI_PAGING_PAE:
		return dtb & 0xffffffe0u; /* CR3 bits 31:5 */
	default:
		/* PCID (bits 11:0 with CR4.PCIDE), the no-flush bit 63 and
		 * the LAM bits 62:61 all lie outside this mask. */
		return dtb & genmask(c->maxphyaddr - 1, 12);
	}
}

/* PSE-36 gives up to 8 high address bits, fewer with a small M. */
static uint64_t pse36_mask(unsigned int m)
{
	return (1ull << (QVMI_MIN(m, 40) - 32)) - 1;
}

/* Reserved bits of a present entry (SDM tables 4-4 to 4-20). */
static uint64_t rsvd_mask(const struct qvmi__pgcfg *c,
			  const struct qvmi__pglevel *l, bool leaf_large)
{
	unsigned int m = c->maxphyaddr;
	uint64_t r = 0;

	switch (l->fmt) {
	case QVMI__FMT_32:
		/* PSE-36: PDE bits 20:13 hold PA bits 39:32 (up to M). */
		if (leaf_large)
			r = BIT(21) | genmask(20, 13 + QVMI_MIN(m, 40) - 32);
		return r;
	case QVMI__FMT_PAE_PDPTE:
		/* The SDM also reserves bits 8:5, but QEMU 7.2 TCG sets the
		 * accessed bit (5) in PDPTEs as it walks: a Debian 6.1
		 * 686-pae guest shows 0x...021 entries.  Such a guest runs,
		 * so its tables must translate here too. */
		return genmask(2, 1) | genmask(63, m);
	case QVMI__FMT_PAE:
		r = genmask(62, m) | (c->nxe ? 0 : BIT(63));
		break;
	case QVMI__FMT_LONG_TOP:
		r = genmask(51, m) | (c->nxe ? 0 : BIT(63)) | PTE_PS;
		break;
	case QVMI__FMT_LONG:
		r = genmask(51, m) | (c->nxe ? 0 : BIT(63));
		break;
	}
	/* Large pages: bit 12 is PAT, the bits up to the page size are
	 * reserved. */
	if (leaf_large)
		r |= genmask(l->shift - 1, 13);
	return r;
}

static inline enum qvmi__pte_kind pte_decode(const struct qvmi__pgcfg *c, int i,
					     uint64_t e, uint64_t *ret_addr,
					     uint32_t *ret_flags)
{
	const struct qvmi__pglevel *l = &c->m->levels[i];
	bool last = i == c->m->nlevels - 1, large;
	uint64_t addr;

	if (!(e & PTE_P))
		return QVMI__PTE_ABSENT;
	large = !last && l->large && (e & PTE_PS) &&
		(l->fmt != QVMI__FMT_32 || c->pse);
	if (e & (large ? c->rsvd_large[i] : c->rsvd[i]))
		return QVMI__PTE_RSVD;
	if (l->fmt == QVMI__FMT_PAE_PDPTE) {
		*ret_flags = QVMI_PTE_W | QVMI_PTE_U; /* no such bits here */
	} else {
		*ret_flags = ((e & PTE_RW) ? QVMI_PTE_W : 0) |
			     ((e & PTE_US) ? QVMI_PTE_U : 0);
		if (l->esz == 8 && c->nxe && (e & BIT(63)))
			*ret_flags |= QVMI_PTE_NX;
	}
	if (l->fmt == QVMI__FMT_32) {
		addr = e & 0xfffff000u;
		if (large) /* PSE-36: PA bits (M-1):32 in PDE bits 20:13 */
			addr = (e & 0xffc00000u) |
			       (((e >> 13) & pse36_mask(c->maxphyaddr)) << 32);
	} else {
		addr = e & genmask(c->maxphyaddr - 1, 12);
		if (large)
			addr &= ~genmask(l->shift - 1, 0);
	}
	*ret_addr = addr;
	return (last || large) ? QVMI__PTE_LEAF : QVMI__PTE_TABLE;
}

enum qvmi__pte_kind qvmi__pte_decode(const struct qvmi__pgcfg *c, int i,
				     uint64_t e, uint64_t *ret_addr,
				     uint32_t *ret_flags)
{
	return pte_decode(c, i, e, ret_addr, ret_flags);
}

/* An entry straight from shared RAM when it is there (the hot case: a
 * walk over shared RAM is a handful of loads), else through tlb.c. */
static inline int pt_read(struct qvmi_ctx *ctx, struct qvmi_arch *a, bool cache,
			  uint64_t pa, unsigned int esz, uint64_t *ret)
{
	const struct qvmi_seg *s;
	uint64_t v;
	uint32_t v32;

	if (ctx->seg_hint >= ctx->nsegs)
		return qvmi__pt_read(ctx, a, cache, pa, esz, ret);
	s = &ctx->segs[ctx->seg_hint];
	if (s->host && pa >= s->start && pa + (esz - 1) <= s->last) {
		if (esz == 8) {
			memcpy(&v, s->host + (pa - s->start), 8);
			*ret = le64toh(v);
		} else {
			memcpy(&v32, s->host + (pa - s->start), 4);
			*ret = le32toh(v32);
		}
		return 0;
	}
	return qvmi__pt_read(ctx, a, cache, pa, esz, ret);
}

/* -EFAULT at va with a message naming the level; never allocates. */
static int walk_fault(struct qvmi_ctx *ctx, uint64_t va, const char *what,
		      const char *level, uint64_t ea)
{
	ctx->err = -EFAULT;
	ctx->fault_addr = va;
	if (level)
		snprintf(ctx->errmsg, sizeof(ctx->errmsg),
			 "%s %s at 0x%" PRIx64 " (entry at pa 0x%" PRIx64 ")",
			 level, what, va, ea);
	else
		snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s 0x%" PRIx64,
			 what, va);
	return -EFAULT;
}

static bool va_in_range(enum qvmi_paging_mode mode, uint64_t va)
{
	switch (mode) {
	case QVMI_PAGING_32:
	case QVMI_PAGING_PAE:
		return va <= 0xffffffffu;
	case QVMI_PAGING_4LEVEL: /* bits 63:47 all equal */
		return ((int64_t)(va << 16) >> 16) == (int64_t)va;
	case QVMI_PAGING_5LEVEL: /* bits 63:56 all equal */
		return ((int64_t)(va << 7) >> 7) == (int64_t)va;
	default:
		return true;
	}
}

int qvmi__x86_walk(struct qvmi_ctx *ctx, struct qvmi_arch *a, bool cache,
		   uint64_t dtb, uint64_t va, struct qvmi_translation *ret)
{
	const struct qvmi__pgcfg *c = &a->cfg;
	const struct qvmi__pgmode *m = c->m;
	uint32_t flags = QVMI_PTE_W | QVMI_PTE_U, f;
	uint64_t table, ea = 0, e, addr;
	int i, err;

	if (!m)
		return qvmi__err(ctx, -EINVAL, "no page tables in mode %s",
				 qvmi_paging_mode_name(c->mode));
	if (!va_in_range(c->mode, va))
		return walk_fault(
			ctx, va,
			c->mode <= QVMI_PAGING_PAE ?
				"address above 4 GiB in 32-bit paging" :
				"non-canonical address",
			NULL, 0);
	a->stats.walks++;
	table = qvmi__dtb_base(c, dtb);
	for (i = 0; i < m->nlevels; i++) {
		const struct qvmi__pglevel *l = &m->levels[i];

		ea = table +
		     ((va >> l->shift) & genmask(l->bits - 1, 0)) * l->esz;
		err = pt_read(ctx, a, cache, ea, l->esz, &e);
		if (err)
			return walk_fault(ctx, va, "not backed", l->name, ea);
		switch (pte_decode(c, i, e, &addr, &f)) {
		case QVMI__PTE_ABSENT:
			return walk_fault(ctx, va, "not present", l->name, ea);
		case QVMI__PTE_RSVD:
			return walk_fault(ctx, va, "has reserved bits set",
					  l->name, ea);
		case QVMI__PTE_TABLE:
			flags = (flags & f & (QVMI_PTE_W | QVMI_PTE_U)) |
				((flags | f) & QVMI_PTE_NX);
			table = addr;
			continue;
		case QVMI__PTE_LEAF:
			flags = (flags & f & (QVMI_PTE_W | QVMI_PTE_U)) |
				((flags | f) & QVMI_PTE_NX);
			ret->va = va;
			ret->page_size = 1ull << l->shift;
			ret->pa = addr | (va & (ret->page_size - 1));
			ret->leaf = e;
			ret->flags = flags;
			ret->levels = i + 1;
			return 0;
		}
	}
	/* Unreachable: the last level always decodes to a leaf. */
	return walk_fault(ctx, va, "walk did not end", NULL, ea);
}
