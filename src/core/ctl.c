// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Control of a VM, dispatched in one place: every backend (QMP, the
 * gdbstub, a qvmid session, a dump) is one struct qvmi_ctl_ops, and a
 * missing op is "cannot do that" (-EOPNOTSUPP) here, never a test of
 * which backend it is.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int qvmi__ctl_set(struct qvmi_ctx *ctx, const struct qvmi_ctl_ops *ops,
		  void *priv)
{
	struct qvmi_ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	c->ops = ops;
	c->priv = priv;
	c->ctx = ctx;
	if (ctx->ctl) {
		if (ctx->ctl->ops->destroy)
			ctx->ctl->ops->destroy(ctx->ctl);
		free(ctx->ctl);
	}
	ctx->ctl = c;
	return 0;
}

void qvmi__vm_state_changed(struct qvmi_ctx *ctx, enum qvmi_vm_state state)
{
	if (state != QVMI_VM_PAUSED && state != QVMI_VM_FROZEN)
		qvmi_cache_flush(ctx);
	ctx->vm_state = state;
}

static int ctl_missing(struct qvmi_ctx *ctx, const char *what)
{
	if (!ctx->ctl)
		return qvmi__err(ctx, -EOPNOTSUPP, "%s: not attached to a VM",
				 what);
	return qvmi__err(ctx, -EOPNOTSUPP, "%s: not supported by %s", what,
			 ctx->ctl->ops->name);
}

QVMI_API int qvmi_vcpu_count(struct qvmi_ctx *ctx)
{
	if (!ctx->ctl || !ctx->ctl->ops->vcpu_count)
		return ctl_missing(ctx, "vcpu count");
	return ctx->ctl->ops->vcpu_count(ctx->ctl);
}

QVMI_API int qvmi_get_regs(struct qvmi_ctx *ctx, unsigned int vcpu,
			   struct qvmi_regs_x86 *ret)
{
	if (!ret)
		return qvmi__err(ctx, -EINVAL, "get_regs: NULL output");
	if (!ctx->ctl || !ctx->ctl->ops->get_regs)
		return ctl_missing(ctx, "registers");
	memset(ret, 0, sizeof(*ret));
	return ctx->ctl->ops->get_regs(ctx->ctl, vcpu, ret);
}

QVMI_API int qvmi_vm_pause(struct qvmi_ctx *ctx)
{
	if (!ctx->ctl || !ctx->ctl->ops->pause)
		return ctl_missing(ctx, "pause");
	return ctx->ctl->ops->pause(ctx->ctl);
}

QVMI_API int qvmi_vm_resume(struct qvmi_ctx *ctx)
{
	int err;

	if (!ctx->ctl || !ctx->ctl->ops->resume)
		return ctl_missing(ctx, "resume");
	err = ctx->ctl->ops->resume(ctx->ctl);
	qvmi_cache_flush(ctx);
	return err;
}

QVMI_API int qvmi_vm_state(struct qvmi_ctx *ctx, enum qvmi_vm_state *ret)
{
	if (!ctx->ctl || !ctx->ctl->ops->state)
		return ctl_missing(ctx, "state");
	return ctx->ctl->ops->state(ctx->ctl, ret);
}

/* Execution control (breakpoints, steps, stops, writing registers) comes
 * from the gdbstub or a qvmid session; say so when the backend has none. */
static int exec_missing(struct qvmi_ctx *ctx, const char *what)
{
	return qvmi__err(ctx, -EOPNOTSUPP,
			 "%s: %s%s (needs a gdbstub, qvmi_attach_gdb, or a "
			 "qvmid session)",
			 what, ctx->ctl ? "not supported by " : "not attached",
			 ctx->ctl ? ctx->ctl->ops->name : "");
}

QVMI_API int qvmi_set_regs(struct qvmi_ctx *ctx, unsigned int vcpu,
			   const struct qvmi_regs_x86 *regs)
{
	if (!regs)
		return qvmi__err(ctx, -EINVAL, "set_regs: NULL registers");
	if (!ctx->ctl || !ctx->ctl->ops->set_regs)
		return exec_missing(ctx, "set_regs");
	return ctx->ctl->ops->set_regs(ctx->ctl, vcpu, regs);
}

static int bp(struct qvmi_ctx *ctx, bool insert, enum qvmi_bp_kind kind,
	      uint64_t gva, unsigned int len)
{
	if (!ctx->ctl || !ctx->ctl->ops->bp)
		return exec_missing(ctx, insert ? "bp_insert" : "bp_remove");
	return ctx->ctl->ops->bp(ctx->ctl, insert, kind, gva, len);
}

QVMI_API int qvmi_bp_insert(struct qvmi_ctx *ctx, enum qvmi_bp_kind kind,
			    uint64_t gva, unsigned int len)
{
	return bp(ctx, true, kind, gva, len);
}

QVMI_API int qvmi_bp_remove(struct qvmi_ctx *ctx, enum qvmi_bp_kind kind,
			    uint64_t gva, unsigned int len)
{
	return bp(ctx, false, kind, gva, len);
}

QVMI_API int qvmi_single_step(struct qvmi_ctx *ctx, unsigned int vcpu)
{
	int err;

	if (!ctx->ctl || !ctx->ctl->ops->step)
		return exec_missing(ctx, "single_step");
	err = ctx->ctl->ops->step(ctx->ctl, vcpu);
	/* the step ran guest code: cached pages may be stale */
	qvmi_cache_flush(ctx);
	return err;
}

QVMI_API int qvmi_wait_stop(struct qvmi_ctx *ctx, int timeout_ms,
			    struct qvmi_stop *ret)
{
	if (!ret)
		return qvmi__err(ctx, -EINVAL, "wait_stop: NULL output");
	if (!ctx->ctl || !ctx->ctl->ops->wait_stop)
		return exec_missing(ctx, "wait_stop");
	return ctx->ctl->ops->wait_stop(ctx->ctl, timeout_ms, ret);
}

/* ---- events and the management hook (a qvmid session) ---- */

static const struct qvmi_ctl_ops *events_ops(struct qvmi_ctx *ctx,
					     const char *what)
{
	if (ctx->ctl && ctx->ctl->ops->events_poll)
		return ctx->ctl->ops;
	qvmi__err(ctx, -EOPNOTSUPP,
		  "%s: %s%s (events come from a qvmid session)", what,
		  ctx->ctl ? "not supported by " : "not attached",
		  ctx->ctl ? ctx->ctl->ops->name : "");
	return NULL;
}

QVMI_API int qvmi_set_event_cb(struct qvmi_ctx *ctx, qvmi_event_fn fn,
			       void *arg)
{
	const struct qvmi_ctl_ops *o = ctx ? events_ops(ctx, "events") : NULL;

	if (!o)
		return ctx ? -EOPNOTSUPP : -EINVAL;
	return o->set_event_cb(ctx->ctl, fn, arg);
}

QVMI_API int qvmi_events_poll(struct qvmi_ctx *ctx, int timeout_ms)
{
	const struct qvmi_ctl_ops *o = ctx ? events_ops(ctx, "events") : NULL;

	if (!o)
		return ctx ? -EOPNOTSUPP : -EINVAL;
	return o->events_poll(ctx->ctl, timeout_ms);
}

QVMI_API int qvmi_session_hook(struct qvmi_ctx *ctx)
{
	const struct qvmi_ctl_ops *o = ctx ? events_ops(ctx, "hook") : NULL;

	if (!o)
		return ctx ? -EOPNOTSUPP : -EINVAL;
	return o->hook(ctx->ctl);
}

QVMI_API int qvmi_session_unhook_ack(struct qvmi_ctx *ctx)
{
	const struct qvmi_ctl_ops *o = ctx ? events_ops(ctx, "unhook") : NULL;

	if (!o)
		return ctx ? -EOPNOTSUPP : -EINVAL;
	return o->unhook_ack(ctx->ctl);
}

QVMI_API int qvmi_session_fd(struct qvmi_ctx *ctx)
{
	const struct qvmi_ctl_ops *o = ctx ? events_ops(ctx, "session fd") :
					     NULL;

	if (!o)
		return ctx ? -EOPNOTSUPP : -EINVAL;
	return o->event_fd(ctx->ctl);
}
