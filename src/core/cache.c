// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Page cache for slow sources (QMP xp, pmemaccess, gdbstub).  A page is
 * served from here only when it cannot be stale: the source is frozen (a
 * dump), the caller vouched for it (QVMI_CACHE_TRUST), or the VM is known
 * to be paused.  Any resume, seen by us or reported by QMP, flushes it.
 * Flushing is O(1): entries carry the epoch they were filled in.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
	CACHE_PAGES = 1024, /* 4 MiB, direct-mapped */
	/* Consecutive missing pages fetched by one source call: a 64 KiB read
	 * through xp is one round trip (~7 ms), not 16. */
	CACHE_RUN = 16,
};

struct cache_entry {
	const struct qvmi_source *src;
	uint64_t page; /* gpa >> 12 */
	uint64_t epoch;
};

struct qvmi_cache {
	uint64_t epoch; /* starts at 1: zeroed entries are never valid */
	struct qvmi_cache_stats stats;
	struct cache_entry ent[CACHE_PAGES];
	uint8_t data[CACHE_PAGES][QVMI_PAGE_SIZE];
	uint8_t run[CACHE_RUN][QVMI_PAGE_SIZE]; /* bounce buffer for a run */
};

QVMI_API void qvmi_cache_set_mode(struct qvmi_ctx *ctx,
				  enum qvmi_cache_mode mode)
{
	ctx->cache_mode = mode;
	qvmi_cache_flush(ctx);
}

QVMI_API void qvmi_cache_flush(struct qvmi_ctx *ctx)
{
	ctx->flush_gen++; /* paging branch: the TLB follows the page cache */
	if (!ctx->cache)
		return;
	ctx->cache->epoch++;
	ctx->cache->stats.flushes++;
}

QVMI_API void qvmi_cache_stats(const struct qvmi_ctx *ctx,
			       struct qvmi_cache_stats *ret)
{
	if (ctx->cache)
		*ret = ctx->cache->stats;
	else
		memset(ret, 0, sizeof(*ret));
}

void qvmi__cache_destroy(struct qvmi_cache *cache)
{
	free(cache);
}

bool qvmi__cache_usable(struct qvmi_ctx *ctx, const struct qvmi_source *src)
{
	if (ctx->cache_mode == QVMI_CACHE_OFF)
		return false;
	if ((src->flags & QVMI_SOURCE_FROZEN) ||
	    ctx->cache_mode == QVMI_CACHE_TRUST)
		return true;
	/* AUTO: drain pending QMP events first, so a resume by another client
	 * flushes us before we trust the cache. */
	if (ctx->ctl && ctx->ctl->ops->poll)
		ctx->ctl->ops->poll(ctx->ctl);
	return ctx->vm_state == QVMI_VM_PAUSED;
}

void qvmi__cache_invalidate(struct qvmi_ctx *ctx, uint64_t gpa, size_t len)
{
	struct qvmi_cache *c = ctx->cache;
	uint64_t p, first, last;

	if (len) /* paging branch: a write may change a page table */
		ctx->write_gen++;
	if (!c || !len)
		return;
	first = gpa >> 12;
	last = (gpa + (len - 1)) >> 12;
	if (last - first >= CACHE_PAGES) {
		qvmi_cache_flush(ctx);
		return;
	}
	for (p = first; p <= last; p++) {
		struct cache_entry *e = &c->ent[p % CACHE_PAGES];

		if (e->page == p)
			e->epoch = 0;
	}
}

static bool cache_hit(const struct qvmi_cache *c, const struct qvmi_seg *seg,
		      uint64_t page)
{
	const struct cache_entry *e = &c->ent[page % CACHE_PAGES];

	return e->epoch == c->epoch && e->page == page && e->src == seg->src;
}

/* Whole page inside the segment?  Only those are cached. */
static bool page_in_seg(const struct qvmi_seg *seg, uint64_t page)
{
	uint64_t gpa = page << 12;

	return gpa >= seg->start && gpa + (QVMI_PAGE_SIZE - 1) <= seg->last;
}

/*
 * Make page (and up to CACHE_RUN - 1 following missing pages the caller
 * wants, last_page included) valid with a single source read.
 */
static int cache_fill(struct qvmi_ctx *ctx, const struct qvmi_seg *seg,
		      uint64_t page, uint64_t last_page)
{
	struct qvmi_cache *c = ctx->cache;
	uint64_t n = 1, i;
	int err;

	if (cache_hit(c, seg, page)) {
		c->stats.hits++;
		return 0;
	}
	while (n < CACHE_RUN && page + n <= last_page &&
	       page_in_seg(seg, page + n) && !cache_hit(c, seg, page + n))
		n++;
	c->stats.misses += n;
	err = seg->src->ops->read(seg->src,
				  seg->src_addr + ((page << 12) - seg->start),
				  c->run, (size_t)n * QVMI_PAGE_SIZE);
	if (err < 0)
		return err;
	for (i = 0; i < n; i++) {
		struct cache_entry *e = &c->ent[(page + i) % CACHE_PAGES];

		memcpy(c->data[(page + i) % CACHE_PAGES], c->run[i],
		       QVMI_PAGE_SIZE);
		e->src = seg->src;
		e->page = page + i;
		e->epoch = c->epoch;
	}
	return 0;
}

int qvmi__cache_read(struct qvmi_ctx *ctx, const struct qvmi_seg *seg,
		     uint64_t gpa, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (!ctx->cache) {
		ctx->cache = calloc(1, sizeof(*ctx->cache));
		if (!ctx->cache) /* no cache, no problem: read through */
			return seg->src->ops->read(
				seg->src, seg->src_addr + (gpa - seg->start),
				buf, len);
		ctx->cache->epoch = 1;
	}
	while (len) {
		uint64_t page = gpa >> 12, off = gpa & (QVMI_PAGE_SIZE - 1);
		size_t n = QVMI_MIN(len, (size_t)(QVMI_PAGE_SIZE - off));
		int err;

		if (!page_in_seg(seg, page)) {
			err = seg->src->ops->read(
				seg->src, seg->src_addr + (gpa - seg->start),
				out, n);
		} else {
			err = cache_fill(ctx, seg, page,
					 (gpa + (len - 1)) >> 12);
			if (!err)
				memcpy(out,
				       ctx->cache->data[page % CACHE_PAGES] +
					       off,
				       n);
		}
		if (err < 0)
			return err;
		out += n;
		gpa += n;
		len -= n;
	}
	return 0;
}
