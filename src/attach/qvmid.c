// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The accessors of attach/qvmid.h: what qvmid reads of a context, as
 * functions, so daemon/ never sees struct qvmi_ctx.  Each is a load or
 * two: the pmemaccess server calls some per request (no locks, no
 * allocations here).
 */
#include <errno.h>

#include "core/internal.h"
#include "attach/qvmid.h"
#include "proto/gdb.h"

struct qvmi_qmp *qvmi__ctx_qmp(struct qvmi_ctx *ctx)
{
	return ctx->qmp;
}

uint64_t qvmi__ctx_flush_gen(const struct qvmi_ctx *ctx)
{
	return ctx->flush_gen;
}

int qvmi__ctx_qemu_pid(const struct qvmi_ctx *ctx)
{
	return ctx->qemu_pid;
}

const char *qvmi__ctx_qemu_version(const struct qvmi_ctx *ctx)
{
	return ctx->qemu_version;
}

unsigned int qvmi__ctx_ctl_caps(const struct qvmi_ctx *ctx)
{
	const struct qvmi_ctl_ops *ops = ctx->ctl ? ctx->ctl->ops : NULL;
	unsigned int caps = 0;

	if (ops && ops->get_regs)
		caps |= QVMI_CTL_CAN_REGS;
	if (ops && ops->pause && ops->resume)
		caps |= QVMI_CTL_CAN_PAUSE;
	return caps;
}

bool qvmi__ctx_layout_live(const struct qvmi_ctx *ctx)
{
	return ctx->lay && ctx->qmp;
}

bool qvmi__ctx_layout_stale(const struct qvmi_ctx *ctx)
{
	return ctx->lay_stale;
}

void qvmi__ctx_layout_check(struct qvmi_ctx *ctx)
{
	qvmi__layout_check(ctx);
}

void qvmi__ctx_layout_poll(struct qvmi_ctx *ctx)
{
	if (ctx->lay && ctx->qmp && ctx->lay_poll)
		ctx->lay_poll(ctx);
}

static void seg_view(const struct qvmi_seg *g, struct qvmi_seg_view *ret)
{
	*ret = (struct qvmi_seg_view){ .start = g->start,
				       .last = g->last,
				       .src_addr = g->src_addr,
				       .src = g->src,
				       .host = g->host,
				       .file_fd = g->src->file_fd };
}

int qvmi__ctx_seg(const struct qvmi_ctx *ctx, size_t idx,
		  struct qvmi_seg_view *ret)
{
	if (idx >= ctx->nsegs)
		return -ERANGE;
	seg_view(&ctx->segs[idx], ret);
	return 0;
}

int qvmi__ctx_seg_at(struct qvmi_ctx *ctx, uint64_t gpa,
		     struct qvmi_seg_view *ret)
{
	const struct qvmi_seg *g = qvmi__seg_find(ctx, gpa);

	if (!g)
		return -EFAULT;
	seg_view(g, ret);
	return 0;
}

bool qvmi__ctx_seg_gone(const struct qvmi_ctx *ctx, size_t idx)
{
	struct qvmi_source *src;

	if (idx >= ctx->nsegs)
		return false;
	src = ctx->segs[idx].src;
	return src->file_fd >= 0 && src->file_gone && src->file_gone(src);
}

const uint8_t *qvmi__ctx_pa_host(struct qvmi_ctx *ctx, uint64_t gpa, size_t n,
				 bool *gone)
{
	const struct qvmi_seg *seg = qvmi__seg_find(ctx, gpa);
	struct qvmi_source *src;
	uint64_t off;

	*gone = false;
	if (!seg || !seg->host || seg->last - gpa < n - 1)
		return NULL;
	src = seg->src;
	off = gpa - seg->start;
	if (src->host_ok ? !src->host_ok(src, seg->src_addr + off, n) :
			   src->file_fd >= 0)
		return NULL;
	if (n >= QVMI_BULK_MIN && src->file_gone && src->file_gone(src)) {
		*gone = true;
		return NULL;
	}
	return seg->host + off;
}
