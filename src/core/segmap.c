// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest-physical segment map: a sorted array of non-overlapping ranges,
 * each served by one source.  A new registration punches out whatever it
 * overlaps, so later registrations win (drgn_program_add_memory_segment).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

QVMI_API int qvmi_source_create(struct qvmi_ctx *ctx,
				const struct qvmi_source_ops *ops, void *priv,
				unsigned int flags, struct qvmi_source **ret)
{
	struct qvmi_source *s;

	if (!ctx || !ops || !ops->read || !ret)
		return ctx ? qvmi__err(ctx, -EINVAL,
				       "source needs ops with a read op") :
			     -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	s->ops = ops;
	s->priv = priv;
	s->ctx = ctx;
	s->flags = flags;
	s->file_fd = -1;
	s->next = ctx->sources;
	ctx->sources = s;
	*ret = s;
	return 0;
}

QVMI_API void *qvmi_source_priv(const struct qvmi_source *s)
{
	return s->priv;
}

QVMI_API struct qvmi_ctx *qvmi_source_ctx(const struct qvmi_source *s)
{
	return s->ctx;
}

QVMI_API const char *qvmi_source_name(const struct qvmi_source *s)
{
	return s->ops->name ? s->ops->name : "?";
}

static int segs_reserve(struct qvmi_ctx *ctx, size_t need)
{
	struct qvmi_seg *n;
	size_t cap;

	if (need <= ctx->segs_cap)
		return 0;
	cap = ctx->segs_cap ? ctx->segs_cap * 2 : 16;
	while (cap < need)
		cap *= 2;
	n = realloc(ctx->segs, cap * sizeof(*n));
	if (!n)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	ctx->segs = n;
	ctx->segs_cap = cap;
	return 0;
}

/* Keep the part of old that lies in [lo, hi]. */
static struct qvmi_seg seg_clip(const struct qvmi_seg *old, uint64_t lo,
				uint64_t hi)
{
	struct qvmi_seg s = *old;
	uint64_t skip = lo - old->start;

	s.start = lo;
	s.last = hi;
	s.src_addr += skip;
	if (s.host)
		s.host += skip;
	return s;
}

int qvmi__map_add_host(struct qvmi_ctx *ctx, struct qvmi_source *src,
		       uint64_t gpa, uint64_t size, uint64_t src_addr,
		       uint8_t *host)
{
	struct qvmi_seg add = { .start = gpa, .src = src, .host = host };
	struct qvmi_seg *out;
	size_t i, n = 0;
	int err;

	if (!src || src->ctx != ctx || !size)
		return qvmi__err(ctx, -EINVAL, "map_add: bad source or size");
	if (gpa + (size - 1) < gpa)
		return qvmi__err(ctx, -EINVAL, "map_add: range wraps");
	add.last = gpa + (size - 1);
	add.src_addr = src_addr;
	/* Worst case: one old segment splits in two, plus the new one. */
	err = segs_reserve(ctx, ctx->nsegs + 2);
	if (err)
		return err;
	out = malloc((ctx->nsegs + 2) * sizeof(*out));
	if (!out)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	for (i = 0; i < ctx->nsegs; i++) {
		const struct qvmi_seg *o = &ctx->segs[i];

		if (o->last < add.start || o->start > add.last) {
			/* Sorted order: add belongs before the first old
			 * segment that lies wholly above it. */
			if (o->start > add.last && add.src)
				out[n++] = add, add.src = NULL;
			out[n++] = *o;
			continue;
		}
		if (o->start < add.start)
			out[n++] = seg_clip(o, o->start, add.start - 1);
		if (add.src)
			out[n++] = add, add.src = NULL;
		if (o->last > add.last)
			out[n++] = seg_clip(o, add.last + 1, o->last);
	}
	if (add.src)
		out[n++] = add;
	memcpy(ctx->segs, out, n * sizeof(*out));
	ctx->nsegs = n;
	ctx->seg_hint = 0;
	free(out);
	qvmi_cache_flush(ctx);
	return 0;
}

QVMI_API int qvmi_map_add(struct qvmi_ctx *ctx, struct qvmi_source *src,
			  uint64_t gpa, uint64_t size, uint64_t src_addr)
{
	return qvmi__map_add_host(ctx, src, gpa, size, src_addr, NULL);
}

const struct qvmi_seg *qvmi__seg_find(struct qvmi_ctx *ctx, uint64_t gpa)
{
	size_t lo = 0, hi = ctx->nsegs;
	const struct qvmi_seg *s;

	if (ctx->seg_hint < ctx->nsegs) {
		s = &ctx->segs[ctx->seg_hint];
		if (gpa >= s->start && gpa <= s->last)
			return s;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		s = &ctx->segs[mid];
		if (gpa < s->start)
			hi = mid;
		else if (gpa > s->last)
			lo = mid + 1;
		else {
			ctx->seg_hint = mid;
			return s;
		}
	}
	return NULL;
}

QVMI_API size_t qvmi_map_count(const struct qvmi_ctx *ctx)
{
	return ctx->nsegs;
}

QVMI_API int qvmi_map_get(const struct qvmi_ctx *ctx, size_t idx,
			  struct qvmi_map_entry *ret)
{
	const struct qvmi_seg *s;

	if (idx >= ctx->nsegs || !ret)
		return -ENOENT;
	s = &ctx->segs[idx];
	ret->gpa = s->start;
	ret->size = s->last - s->start + 1; /* 0 means all 2^64 */
	ret->src_addr = s->src_addr;
	ret->source = qvmi_source_name(s->src);
	return 0;
}

int qvmi__ram_add(struct qvmi_ctx *ctx, uint64_t gpa, uint64_t size)
{
	struct qvmi_ram_range *n;
	size_t i;

	n = realloc(ctx->ram, (ctx->nram + 1) * sizeof(*n));
	if (!n)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	ctx->ram = n;
	/* Keep sorted by address; lists are short. */
	for (i = ctx->nram; i > 0 && n[i - 1].gpa > gpa; i--)
		n[i] = n[i - 1];
	n[i].gpa = gpa;
	n[i].size = size;
	ctx->nram++;
	return 0;
}

int qvmi__ram_add_merged(struct qvmi_ctx *ctx, uint64_t gpa, uint64_t size)
{
	for (size_t i = 0; i < ctx->nram; i++) {
		if (ctx->ram[i].gpa + ctx->ram[i].size == gpa) {
			ctx->ram[i].size += size;
			return 0;
		}
	}
	return qvmi__ram_add(ctx, gpa, size);
}

QVMI_API size_t qvmi_ram_count(const struct qvmi_ctx *ctx)
{
	return ctx->nram;
}

QVMI_API int qvmi_ram_get(const struct qvmi_ctx *ctx, size_t idx,
			  struct qvmi_ram_range *ret)
{
	if (idx >= ctx->nram || !ret)
		return -ENOENT;
	*ret = ctx->ram[idx];
	return 0;
}
