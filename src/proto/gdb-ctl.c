// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The gdbstub as a control backend (registers, pause/resume, state) and the
 * public gdbstub API: qvmi_attach_gdb, breakpoints, step, stop events.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/gdb.h"

static struct qvmi_gdb *ctl_g(struct qvmi_ctl *c)
{
	return c->priv;
}

static int gdb_vcpu_count(struct qvmi_ctl *c)
{
	return (int)qvmi_gdb_nvcpus(ctl_g(c));
}

static void sync_state(struct qvmi_ctx *ctx, struct qvmi_gdb *g)
{
	enum qvmi_vm_state s = qvmi_gdb_running(g) ? QVMI_VM_RUNNING :
						     QVMI_VM_PAUSED;

	if (ctx->vm_state != s)
		qvmi__vm_state_changed(ctx, s);
}

static int gdb_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
			struct qvmi_regs_x86 *ret)
{
	struct qvmi_gdb *g = ctl_g(c);
	bool held;
	int err = qvmi_gdb_hold(g, &held), err2;

	if (err)
		return err;
	err = qvmi_gdb_get_regs(g, vcpu, ret);
	err2 = qvmi_gdb_release(g, held);
	sync_state(c->ctx, g);
	return err ? err : err2;
}

static int gdb_pause(struct qvmi_ctl *c)
{
	struct qvmi_gdb *g = ctl_g(c);
	int err = qvmi_gdb_interrupt(g);

	if (!err)
		qvmi_gdb_want_running(g, false);
	sync_state(c->ctx, g);
	return err;
}

static int gdb_resume(struct qvmi_ctl *c)
{
	struct qvmi_gdb *g = ctl_g(c);
	int err = qvmi_gdb_continue(g);

	if (!err)
		qvmi_gdb_want_running(g, true);
	sync_state(c->ctx, g);
	return err;
}

static int gdb_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	struct qvmi_gdb *g = ctl_g(c);

	qvmi_gdb_poll(g);
	sync_state(c->ctx, g);
	*ret = c->ctx->vm_state;
	return 0;
}

static void gdb_poll(struct qvmi_ctl *c)
{
	qvmi_gdb_poll(ctl_g(c));
	sync_state(c->ctx, ctl_g(c));
}

static void gdb_destroy(struct qvmi_ctl *c)
{
	qvmi_gdb_unref(ctl_g(c));
}

static const struct qvmi_ctl_ops gdb_ctl_ops = {
	.name = "gdbstub",
	.vcpu_count = gdb_vcpu_count,
	.get_regs = gdb_get_regs,
	.pause = gdb_pause,
	.resume = gdb_resume,
	.state = gdb_state,
	.poll = gdb_poll,
	.destroy = gdb_destroy,
};

struct qvmi_gdb *qvmi__ctl_gdb(struct qvmi_ctx *ctx)
{
	if (!ctx->ctl || ctx->ctl->ops != &gdb_ctl_ops)
		return NULL;
	return ctx->ctl->priv;
}

int qvmi__ctl_gdb_install(struct qvmi_ctx *ctx, struct qvmi_gdb *g)
{
	int err = qvmi__ctl_set(ctx, &gdb_ctl_ops, qvmi_gdb_ref(g));

	if (err)
		qvmi_gdb_unref(g);
	else
		sync_state(ctx, g);
	return err;
}

/* ---- public API ---------------------------------------------------------- */

static int map_empty(struct qvmi_ctx *ctx)
{
	return qvmi_map_count(ctx) == 0;
}

int qvmi__attach_gdb_fd(struct qvmi_ctx *ctx, int fd,
			const struct qvmi_gdb_opts *opts)
{
	int mem = QVMI_OPTS_GET(opts, memory, QVMI_GDB_MEM_AUTO);
	struct qvmi_source *src;
	struct qvmi_gdb *g;
	int err;

	if (!QVMI_OPTS_VALID(opts, struct qvmi_gdb_opts) || mem < 0 ||
	    mem > QVMI_GDB_MEM_OFF) {
		close(fd);
		return qvmi__err(ctx, -EINVAL, "attach_gdb: bad options");
	}
	/* QEMU serves one gdb client at a time: a second connection from
	 * us would wait for the first to close. */
	if (qvmi__ctl_gdb(ctx)) {
		close(fd);
		return qvmi__err(ctx, -EBUSY, "attach_gdb: already attached");
	}
	err = qvmi_gdb_open_fd(ctx, fd, QVMI_OPTS_GET(opts, timeout_ms, 0), &g);
	if (err)
		return err;
	if (mem == QVMI_GDB_MEM_ON ||
	    (mem == QVMI_GDB_MEM_AUTO && map_empty(ctx))) {
		/* Physical addresses up to MAXPHYADDR (52 bits).  QEMU 7.2
		 * returns zeros for unbacked physical addresses in this mode. */
		err = qvmi__source_gdb_create(ctx, g, &src);
		if (!err)
			err = qvmi_map_add(ctx, src, 0, 1ull << 52, 0);
	}
	/* The ctl takes our reference from here on. */
	if (!err)
		err = qvmi__ctl_gdb_install(ctx, g);
	qvmi_gdb_unref(g);
	if (err)
		return err;
	if (!strcmp(ctx->backend, "none"))
		ctx->backend = "gdb";
	if (QVMI_OPTS_GET(opts, resume, 0))
		return qvmi_vm_resume(ctx);
	return 0;
}

QVMI_API int qvmi_attach_gdb(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmi_gdb_opts *opts)
{
	int fd, err;

	if (!path)
		return qvmi__err(ctx, -EINVAL, "attach_gdb: NULL path");
	if (qvmi__ctl_gdb(ctx))
		return qvmi__err(ctx, -EBUSY, "attach_gdb: already attached");
	err = qvmi_gdb_connect(ctx, path, &fd);
	return err ? err : qvmi__attach_gdb_fd(ctx, fd, opts);
}

static struct qvmi_gdb *need_gdb(struct qvmi_ctx *ctx, const char *what)
{
	struct qvmi_gdb *g = qvmi__ctl_gdb(ctx);

	if (!g)
		qvmi__err(ctx, -EOPNOTSUPP,
			  "%s: needs a gdbstub (qvmi_attach_gdb)", what);
	return g;
}

/* Another backend that controls execution (a qvmid session). */
static const struct qvmi_ctl_ops *other_ctl(struct qvmi_ctx *ctx)
{
	return ctx->ctl && !qvmi__ctl_gdb(ctx) ? ctx->ctl->ops : NULL;
}

QVMI_API int qvmi_set_regs(struct qvmi_ctx *ctx, unsigned int vcpu,
			   const struct qvmi_regs_x86 *regs)
{
	const struct qvmi_ctl_ops *o = other_ctl(ctx);
	struct qvmi_gdb *g;

	if (!regs)
		return qvmi__err(ctx, -EINVAL, "set_regs: NULL registers");
	if (o && o->set_regs)
		return o->set_regs(ctx->ctl, vcpu, regs);
	g = need_gdb(ctx, "set_regs");
	if (!g)
		return -EOPNOTSUPP;
	return qvmi_gdb_set_regs(g, vcpu, regs);
}

QVMI_API int qvmi_bp_insert(struct qvmi_ctx *ctx, enum qvmi_bp_kind kind,
			    uint64_t gva, unsigned int len)
{
	const struct qvmi_ctl_ops *o = other_ctl(ctx);
	struct qvmi_gdb *g;

	if (o && o->bp)
		return o->bp(ctx->ctl, true, kind, gva, len);
	g = need_gdb(ctx, "bp_insert");

	return g ? qvmi_gdb_bp_insert(g, kind, gva, len) : -EOPNOTSUPP;
}

QVMI_API int qvmi_bp_remove(struct qvmi_ctx *ctx, enum qvmi_bp_kind kind,
			    uint64_t gva, unsigned int len)
{
	const struct qvmi_ctl_ops *o = other_ctl(ctx);
	struct qvmi_gdb *g;

	if (o && o->bp)
		return o->bp(ctx->ctl, false, kind, gva, len);
	g = need_gdb(ctx, "bp_remove");

	return g ? qvmi_gdb_bp_remove(g, kind, gva, len) : -EOPNOTSUPP;
}

QVMI_API int qvmi_single_step(struct qvmi_ctx *ctx, unsigned int vcpu)
{
	const struct qvmi_ctl_ops *o = other_ctl(ctx);
	struct qvmi_gdb *g;
	int err;

	if (o && o->step) {
		err = o->step(ctx->ctl, vcpu);
		qvmi_cache_flush(ctx);
		return err;
	}
	g = need_gdb(ctx, "single_step");
	if (!g)
		return -EOPNOTSUPP;
	err = qvmi_gdb_step(g, vcpu, NULL);
	/* the step ran guest code: cached pages may be stale */
	qvmi_cache_flush(ctx);
	sync_state(ctx, g);
	return err;
}

QVMI_API int qvmi_wait_stop(struct qvmi_ctx *ctx, int timeout_ms,
			    struct qvmi_stop *ret)
{
	const struct qvmi_ctl_ops *o = other_ctl(ctx);
	struct qvmi_gdb *g;
	int err;

	if (!ret)
		return qvmi__err(ctx, -EINVAL, "wait_stop: NULL output");
	if (o && o->wait_stop)
		return o->wait_stop(ctx->ctl, timeout_ms, ret);
	g = need_gdb(ctx, "wait_stop");
	if (!g)
		return -EOPNOTSUPP;
	err = qvmi_gdb_wait_stop(g, timeout_ms, ret);
	sync_state(ctx, g);
	return err;
}
