// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The gdbstub as a control backend: registers, pause/resume, state,
 * breakpoints, single steps and stops (dispatched by src/core/ctl.c), and
 * qvmi_attach_gdb.
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

static int gdb_bp(struct qvmi_ctl *c, bool insert, enum qvmi_bp_kind kind,
		  uint64_t gva, unsigned int len)
{
	return insert ? qvmi_gdb_bp_insert(ctl_g(c), kind, gva, len) :
			qvmi_gdb_bp_remove(ctl_g(c), kind, gva, len);
}

static int gdb_step(struct qvmi_ctl *c, unsigned int vcpu)
{
	int err = qvmi_gdb_step(ctl_g(c), vcpu, NULL);

	sync_state(c->ctx, ctl_g(c));
	return err;
}

static int gdb_wait_stop(struct qvmi_ctl *c, int timeout_ms,
			 struct qvmi_stop *ret)
{
	int err = qvmi_gdb_wait_stop(ctl_g(c), timeout_ms, ret);

	sync_state(c->ctx, ctl_g(c));
	return err;
}

static int gdb_set_regs(struct qvmi_ctl *c, unsigned int vcpu,
			const struct qvmi_regs_x86 *regs)
{
	return qvmi_gdb_set_regs(ctl_g(c), vcpu, regs);
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
	.bp = gdb_bp,
	.step = gdb_step,
	.wait_stop = gdb_wait_stop,
	.set_regs = gdb_set_regs,
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
