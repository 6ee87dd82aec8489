// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Enumerate the mapped ranges of an address space (LibVMI's va-pages).
 * An explicit stack of at most five tables, no recursion; a budget on the
 * number of tables read bounds a hostile or cyclic hierarchy.  Neighbouring
 * pages merge into one range only if virtual and physical addresses are
 * both contiguous and page size and flags are equal.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86-paging.h"

enum {
	PAGES_MAX_TABLES = 1 << 20,
	MAX_LEVELS = 5,
};

struct pages_walk {
	struct qvmi_ctx *ctx;
	const struct qvmi__pgcfg *cfg;
	const struct qvmi__pgmode *m;
	qvmi_pages_fn fn;
	void *arg;
	struct qvmi_page_range cur; /* pending merged range */
	bool have;
	uint64_t tables, max_tables;
	/* One frame per level: the table's contents and where we are. */
	uint8_t buf[MAX_LEVELS][QVMI_PAGE_SIZE];
	uint64_t vbase[MAX_LEVELS];
	uint32_t flags[MAX_LEVELS];
	unsigned int idx[MAX_LEVELS];
};

static int emit(struct pages_walk *w, uint64_t va, uint64_t pa, uint64_t ps,
		uint32_t flags)
{
	struct qvmi_page_range *c = &w->cur;
	int rc;

	if (w->have && c->va + c->size == va && c->pa + c->size == pa &&
	    c->page_size == ps && c->flags == flags && c->size + ps > c->size) {
		c->size += ps;
		return 0;
	}
	if (w->have) {
		rc = w->fn(c, w->arg);
		if (rc)
			return rc;
	}
	*c = (struct qvmi_page_range){ va, pa, ps, ps, flags };
	w->have = true;
	return 0;
}

/* Read a whole table into frame d; an unbacked table is treated as empty
 * (the CPU would fault on every address under it). */
static int load(struct pages_walk *w, int d, uint64_t table)
{
	const struct qvmi__pglevel *l = &w->m->levels[d];
	size_t sz = ((size_t)1 << l->bits) * l->esz;

	if (w->tables >= w->max_tables)
		return qvmi__err(w->ctx, -ELOOP,
				 "pages: more than %" PRIu64
				 " page tables (a cycle?)",
				 w->max_tables);
	w->tables++;
	w->idx[d] = 0;
	if (qvmi_read_pa(w->ctx, table, w->buf[d], sz))
		w->idx[d] = 1u << l->bits;
	return 0;
}

static uint64_t entry_at(const struct pages_walk *w, int d, unsigned int i)
{
	const uint8_t *p = w->buf[d] + (size_t)i * w->m->levels[d].esz;
	uint64_t v = 0;

	memcpy(&v, p, w->m->levels[d].esz);
	return le64toh(v);
}

/* Virtual address of entry i at level d; the top level sign-extends. */
static uint64_t entry_va(const struct pages_walk *w, int d, unsigned int i)
{
	uint64_t va = w->vbase[d] + ((uint64_t)i << w->m->levels[d].shift);

	if (d == 0 && w->cfg->mode == QVMI_PAGING_4LEVEL && (va & (1ull << 47)))
		va |= 0xffff000000000000ull;
	if (d == 0 && w->cfg->mode == QVMI_PAGING_5LEVEL && (va & (1ull << 56)))
		va |= 0xff00000000000000ull;
	return va;
}

static uint32_t combine(uint32_t up, uint32_t f)
{
	return (up & f & (QVMI_PTE_W | QVMI_PTE_U)) | ((up | f) & QVMI_PTE_NX);
}

static int walk_tables(struct pages_walk *w, uint64_t dtb)
{
	int d = 0, err;

	w->vbase[0] = 0;
	w->flags[0] = QVMI_PTE_W | QVMI_PTE_U;
	err = load(w, 0, qvmi__dtb_base(w->cfg, dtb));
	while (!err && d >= 0) {
		const struct qvmi__pglevel *l = &w->m->levels[d];
		enum qvmi__pte_kind kind;
		uint64_t addr, va;
		unsigned int i;
		uint32_t f;

		if (w->idx[d] >= (1u << l->bits)) {
			d--;
			continue;
		}
		i = w->idx[d]++;
		kind = qvmi__pte_decode(w->cfg, d, entry_at(w, d, i), &addr,
					&f);
		if (kind != QVMI__PTE_TABLE && kind != QVMI__PTE_LEAF)
			continue;
		va = entry_va(w, d, i);
		f = combine(w->flags[d], f);
		if (kind == QVMI__PTE_LEAF) {
			err = emit(w, va, addr, 1ull << l->shift, f);
			continue;
		}
		d++;
		w->vbase[d] = va;
		w->flags[d] = f;
		err = load(w, d, addr);
	}
	return err;
}

/* Paging off: the physical map, identity-mapped. */
static int walk_identity(struct pages_walk *w)
{
	size_t i;
	int err = 0;

	for (i = 0; i < w->ctx->nsegs && !err; i++) {
		uint64_t s = w->ctx->segs[i].start, last = w->ctx->segs[i].last;

		if (last - s + 1 == 0) { /* all of 2^64: two halves */
			err = emit(w, s, s, 1ull << 63,
				   QVMI_PTE_W | QVMI_PTE_U);
			s += 1ull << 63;
		}
		if (!err)
			err = emit(w, s, s, last - s + 1,
				   QVMI_PTE_W | QVMI_PTE_U);
	}
	return err;
}

int qvmi__pages_walk(struct qvmi_ctx *ctx, uint64_t dtb, qvmi_pages_fn fn,
		     void *arg, uint64_t max_tables)
{
	struct pages_walk *w;
	struct qvmi_arch *a = NULL;
	int err;

	if (!fn)
		return qvmi__err(ctx, -EINVAL, "pages: NULL callback");
	err = qvmi__paging_ready(ctx, &a);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	w->ctx = ctx;
	w->cfg = &a->cfg;
	w->m = a->cfg.m;
	w->fn = fn;
	w->arg = arg;
	w->max_tables = max_tables;
	err = w->m ? walk_tables(w, dtb) : walk_identity(w);
	/* The last range goes out even after -ELOOP: a partial result. */
	if (w->have && (!err || err == -ELOOP)) {
		int rc = fn(&w->cur, arg);

		if (rc && !err)
			err = rc;
	}
	free(w);
	return err;
}

QVMI_API int qvmi_pages(struct qvmi_ctx *ctx, uint64_t dtb, qvmi_pages_fn fn,
			void *arg)
{
	return qvmi__pages_walk(ctx, dtb, fn, arg, PAGES_MAX_TABLES);
}
