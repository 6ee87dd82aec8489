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

#include "core/internal.h"
#include "proto/gdb.h"

static struct qvmi_gdb *ctl_g(struct qvmi_ctl *c)
{
	return c->priv;
}

static int gdb_vcpu_count(struct qvmi_ctl *c)
{
	return (int)qvmi__gdb_nvcpus(ctl_g(c));
}

static void sync_state(struct qvmi_ctx *ctx, struct qvmi_gdb *g)
{
	enum qvmi_vm_state s = qvmi__gdb_running(g) ? QVMI_VM_RUNNING :
						      QVMI_VM_PAUSED;

	if (ctx->vm_state != s)
		qvmi__vm_state_changed(ctx, s);
}

static int gdb_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
			struct qvmi_regs_x86 *ret)
{
	struct qvmi_gdb *g = ctl_g(c);
	bool held;
	int err = qvmi__gdb_hold(g, &held), err2;

	if (err)
		return err;
	err = qvmi__gdb_get_regs(g, vcpu, ret);
	err2 = qvmi__gdb_release(g, held);
	sync_state(c->ctx, g);
	return err ? err : err2;
}

static int gdb_pause(struct qvmi_ctl *c)
{
	struct qvmi_gdb *g = ctl_g(c);
	int err = qvmi__gdb_interrupt(g);

	if (!err)
		qvmi__gdb_want_running(g, false);
	sync_state(c->ctx, g);
	return err;
}

static int gdb_resume(struct qvmi_ctl *c)
{
	struct qvmi_gdb *g = ctl_g(c);
	int err = qvmi__gdb_continue(g);

	if (!err)
		qvmi__gdb_want_running(g, true);
	sync_state(c->ctx, g);
	return err;
}

static int gdb_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	struct qvmi_gdb *g = ctl_g(c);

	qvmi__gdb_poll(g);
	sync_state(c->ctx, g);
	*ret = c->ctx->vm_state;
	return 0;
}

static void gdb_poll(struct qvmi_ctl *c)
{
	qvmi__gdb_poll(ctl_g(c));
	sync_state(c->ctx, ctl_g(c));
}

static int gdb_bp(struct qvmi_ctl *c, bool insert, enum qvmi_bp_kind kind,
		  uint64_t gva, unsigned int len)
{
	return insert ? qvmi__gdb_bp_insert(ctl_g(c), kind, gva, len) :
			qvmi__gdb_bp_remove(ctl_g(c), kind, gva, len);
}

static int gdb_step(struct qvmi_ctl *c, unsigned int vcpu)
{
	int err = qvmi__gdb_step(ctl_g(c), vcpu, NULL);

	sync_state(c->ctx, ctl_g(c));
	return err;
}

static int gdb_wait_stop(struct qvmi_ctl *c, int timeout_ms,
			 struct qvmi_stop *ret)
{
	int err = qvmi__gdb_wait_stop(ctl_g(c), timeout_ms, ret);

	sync_state(c->ctx, ctl_g(c));
	return err;
}

static int gdb_set_regs(struct qvmi_ctl *c, unsigned int vcpu,
			const struct qvmi_regs_x86 *regs)
{
	return qvmi__gdb_set_regs(ctl_g(c), vcpu, regs);
}

static void gdb_destroy(struct qvmi_ctl *c)
{
	qvmi__gdb_unref(ctl_g(c));
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
	int err = qvmi__ctl_set(ctx, &gdb_ctl_ops, qvmi__gdb_ref(g));

	if (err)
		qvmi__gdb_unref(g);
	else
		sync_state(ctx, g);
	return err;
}
