// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Translation cache: (CR3 base, virtual page) -> physical page, size, flags;
 * and a small cache of page-table pages for sources without a host mapping.
 *
 * It follows the page cache's rule (core/cache.c): an entry is used only
 * while it cannot be stale, i.e. the caller chose QVMI_CACHE_TRUST, every
 * source is frozen, or the VM is known to be paused after draining the
 * control backend's events.  Entries carry an epoch; the epoch moves when
 * the core's flush or write generation moves (resume, qvmi_cache_flush, a
 * map change, any guest-physical write), so a flush is O(1).  A hit reads
 * no guest memory at all (LibVMI's v2p cache re-reads the target page).
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86-paging.h"

enum {
	TLB_SIZE = 1024, /* direct-mapped, 40 KiB */
	PTC_PAGES = 64, /* page-table pages, 256 KiB */
};

struct tlb_entry {
	uint64_t dtb; /* qvmi__dtb_base() of the address space */
	uint64_t vpn; /* va >> 12 */
	uint64_t pa; /* base of the (maybe large) page */
	uint64_t leaf;
	uint64_t epoch;
	uint32_t flags;
	uint8_t shift; /* log2(page size) */
	uint8_t levels;
};

struct ptc_slot {
	uint64_t page; /* pa >> 12 */
	uint64_t epoch;
};

struct qvmi_tlb {
	uint64_t epoch; /* starts at 1: zeroed entries are never valid */
	uint64_t flush_gen, write_gen; /* the ctx generations of epoch */
	struct tlb_entry ent[TLB_SIZE];
	struct ptc_slot pt[PTC_PAGES];
	uint8_t ptdata[PTC_PAGES][QVMI_PAGE_SIZE];
};

static bool sources_frozen(const struct qvmi_ctx *ctx)
{
	const struct qvmi_source *s;

	if (!ctx->sources)
		return false;
	for (s = ctx->sources; s; s = s->next)
		if (!(s->flags & QVMI_SOURCE_FROZEN))
			return false;
	return true;
}

/*
 * Same decision as qvmi__cache_usable, for all sources at once.  Proving
 * the VM paused costs a poll of the control backend (about 9 us over QMP,
 * measured on QEMU 7.2), while a walk over shared RAM is a few memcpy's
 * (about 50 ns): so in AUTO mode page tables with a host mapping are
 * simply walked, and only slower sources pay for the poll.
 */
static bool tlb_usable(struct qvmi_ctx *ctx, uint64_t table)
{
	const struct qvmi_seg *s;

	if (ctx->cache_mode == QVMI_CACHE_OFF)
		return false;
	if (ctx->cache_mode == QVMI_CACHE_TRUST || sources_frozen(ctx))
		return true;
	s = qvmi__seg_find(ctx, table);
	if (s && s->host)
		return false;
	/* Drain pending events first: a resume by another QMP client must
	 * flush us before we trust anything. */
	if (ctx->ctl && ctx->ctl->ops->poll)
		ctx->ctl->ops->poll(ctx->ctl);
	return ctx->vm_state == QVMI_VM_PAUSED ||
	       ctx->vm_state == QVMI_VM_FROZEN;
}

/* Still the generations the epoch was opened for?  A slow source may
 * poll in the middle of a call and see a resume. */
static bool tlb_current(const struct qvmi_ctx *ctx, const struct qvmi_tlb *t)
{
	return t && t->flush_gen == ctx->flush_gen &&
	       t->write_gen == ctx->write_gen;
}

void qvmi__tlb_drop(struct qvmi_arch *a)
{
	if (!a->tlb)
		return;
	a->tlb->epoch++;
	a->stats.flushes++;
}

bool qvmi__tlb_begin(struct qvmi_ctx *ctx, struct qvmi_arch *a, uint64_t dtb)
{
	struct qvmi_tlb *t;

	if (!tlb_usable(ctx, qvmi__dtb_base(&a->cfg, dtb)))
		return false;
	if (!a->tlb) {
		a->tlb = calloc(1, sizeof(*a->tlb));
		if (!a->tlb) /* no cache, no problem: walk every time */
			return false;
		a->tlb->epoch = 1;
		a->tlb->flush_gen = ctx->flush_gen;
		a->tlb->write_gen = ctx->write_gen;
	}
	t = a->tlb;
	if (!tlb_current(ctx, t)) {
		qvmi__tlb_drop(a);
		t->flush_gen = ctx->flush_gen;
		t->write_gen = ctx->write_gen;
	}
	return true;
}

static struct tlb_entry *tlb_slot(struct qvmi_tlb *t, uint64_t dtb,
				  uint64_t vpn)
{
	/* Neighbouring pages of one space land in neighbouring slots. */
	uint64_t h = vpn ^ ((dtb >> 12) * 0x9e3779b97f4a7c15ull);

	return &t->ent[h & (TLB_SIZE - 1)];
}

bool qvmi__tlb_lookup(struct qvmi_ctx *ctx, struct qvmi_arch *a, uint64_t dtb,
		      uint64_t va, struct qvmi_translation *ret)
{
	struct qvmi_tlb *t = a->tlb;
	uint64_t base, vpn = va >> 12;
	struct tlb_entry *e;

	if (!tlb_current(ctx, t))
		return false;
	base = qvmi__dtb_base(&a->cfg, dtb);
	e = tlb_slot(t, base, vpn);
	if (e->epoch != t->epoch || e->vpn != vpn || e->dtb != base) {
		a->stats.misses++;
		return false;
	}
	a->stats.hits++;
	ret->va = va;
	ret->page_size = 1ull << e->shift;
	ret->pa = e->pa | (va & (ret->page_size - 1));
	ret->leaf = e->leaf;
	ret->flags = e->flags;
	ret->levels = e->levels;
	return true;
}

void qvmi__tlb_fill(struct qvmi_ctx *ctx, struct qvmi_arch *a, uint64_t dtb,
		    const struct qvmi_translation *tr)
{
	struct qvmi_tlb *t = a->tlb;
	uint64_t base;
	struct tlb_entry *e;

	if (!tlb_current(ctx, t))
		return;
	base = qvmi__dtb_base(&a->cfg, dtb);
	e = tlb_slot(t, base, tr->va >> 12);
	e->dtb = base;
	e->vpn = tr->va >> 12;
	e->pa = tr->pa & ~(tr->page_size - 1);
	e->leaf = tr->leaf;
	e->flags = tr->flags;
	e->shift = (uint8_t)__builtin_ctzll(tr->page_size);
	e->levels = (uint8_t)tr->levels;
	e->epoch = t->epoch;
}

void qvmi__tlb_destroy(struct qvmi_tlb *tlb)
{
	free(tlb);
}

/* An entry from a cached copy of its page-table page. */
static int ptc_read(struct qvmi_ctx *ctx, struct qvmi_arch *a, uint64_t pa,
		    uint8_t *b, unsigned int esz)
{
	struct qvmi_tlb *t = a->tlb;
	uint64_t page = pa >> 12;
	size_t i = page % PTC_PAGES;
	struct ptc_slot *s = &t->pt[i];
	int err;

	if (s->epoch == t->epoch && s->page == page) {
		a->stats.pt_hits++;
		memcpy(b, t->ptdata[i] + (pa & 0xfff), esz);
		return 0;
	}
	a->stats.pt_misses++;
	s->epoch = 0;
	err = qvmi_read_pa(ctx, page << 12, t->ptdata[i], QVMI_PAGE_SIZE);
	if (err) /* part of the page is not backed: just the entry */
		return qvmi_read_pa(ctx, pa, b, esz);
	memcpy(b, t->ptdata[i] + (pa & 0xfff), esz);
	if (tlb_current(ctx, t)) {
		s->page = page;
		s->epoch = t->epoch;
	}
	return 0;
}

int qvmi__pt_read(struct qvmi_ctx *ctx, struct qvmi_arch *a, bool cache,
		  uint64_t pa, unsigned int esz, uint64_t *ret)
{
	const struct qvmi_seg *s = qvmi__seg_find(ctx, pa);
	uint8_t b[8] = { 0 };
	uint64_t v;
	int err = 0;

	/* Shared RAM: a memcpy is cheaper than any cache.  (Constant sizes
	 * let the compiler inline the copy.) */
	if (s && s->host && pa + (esz - 1) <= s->last) {
		if (esz == 8)
			memcpy(b, s->host + (pa - s->start), 8);
		else
			memcpy(b, s->host + (pa - s->start), 4);
	} else if (cache && tlb_current(ctx, a->tlb))
		err = ptc_read(ctx, a, pa, b, esz);
	else
		err = qvmi_read_pa(ctx, pa, b, esz);
	if (err)
		return err;
	memcpy(&v, b, sizeof(v));
	*ret = le64toh(v);
	return 0;
}

QVMI_API void qvmi_tlb_flush(struct qvmi_ctx *ctx)
{
	if (ctx->arch)
		qvmi__tlb_drop(ctx->arch);
}

QVMI_API void qvmi_tlb_stats(const struct qvmi_ctx *ctx,
			     struct qvmi_tlb_stats *ret)
{
	if (ctx->arch)
		*ret = ctx->arch->stats;
	else
		memset(ret, 0, sizeof(*ret));
}
