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

enum { CACHE_PAGES = 1024 }; /* 4 MiB, direct-mapped */

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

static int cache_fill(struct qvmi_ctx *ctx, const struct qvmi_seg *seg,
		      uint64_t page, struct cache_entry **ret)
{
	struct qvmi_cache *c = ctx->cache;
	struct cache_entry *e = &c->ent[page % CACHE_PAGES];
	uint64_t gpa = page << 12;
	int err;

	if (e->epoch == c->epoch && e->page == page && e->src == seg->src) {
		c->stats.hits++;
		*ret = e;
		return 0;
	}
	c->stats.misses++;
	err = seg->src->ops->read(seg->src, seg->src_addr + (gpa - seg->start),
				  c->data[page % CACHE_PAGES], QVMI_PAGE_SIZE);
	if (err < 0) {
		e->epoch = 0;
		return err;
	}
	e->src = seg->src;
	e->page = page;
	e->epoch = c->epoch;
	*ret = e;
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
		struct cache_entry *e;
		int err;

		/* Only whole pages inside the segment are cached. */
		if ((page << 12) < seg->start ||
		    (page << 12) + (QVMI_PAGE_SIZE - 1) > seg->last) {
			err = seg->src->ops->read(
				seg->src, seg->src_addr + (gpa - seg->start),
				out, n);
		} else {
			err = cache_fill(ctx, seg, page, &e);
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
