// SPDX-License-Identifier: LGPL-2.1-or-later
/* Context handle, per-handle errors, logging, and VM control dispatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

QVMI_API int qvmi_ctx_create(struct qvmi_ctx **ret)
{
	struct qvmi_ctx *ctx;

	if (!ret)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->fault_addr = UINT64_MAX;
	ctx->log_level = QVMI_LOG_WARN;
	ctx->cache_mode = QVMI_CACHE_AUTO;
	ctx->backend = "none";
	*ret = ctx;
	return 0;
}

QVMI_API void qvmi_ctx_destroy(struct qvmi_ctx *ctx)
{
	if (!ctx)
		return;
	qvmi__detach(ctx);
	qvmi__cache_destroy(ctx->cache);
	if (ctx->arch_destroy) /* paging branch: src/arch state */
		ctx->arch_destroy(ctx->arch);
	free(ctx);
}

void qvmi__detach(struct qvmi_ctx *ctx)
{
	struct qvmi_source *s, *next;

	if (ctx->ctl) {
		if (ctx->ctl->ops->destroy)
			ctx->ctl->ops->destroy(ctx->ctl);
		free(ctx->ctl);
		ctx->ctl = NULL;
	}
	for (s = ctx->sources; s; s = next) {
		next = s->next;
		if (s->ops->destroy)
			s->ops->destroy(s);
		free(s);
	}
	ctx->sources = NULL;
	/* Sources and ctl may use the QMP connection: close it last. */
	if (ctx->qmp && ctx->qmp_close)
		ctx->qmp_close(ctx->qmp);
	ctx->qmp = NULL;
	free(ctx->qmp_lazy);
	ctx->qmp_lazy = NULL;
	qvmi__lay_free(ctx);
	ctx->vm_prelaunch = false;
	free(ctx->segs);
	ctx->segs = NULL;
	ctx->nsegs = ctx->segs_cap = ctx->seg_hint = 0;
	free(ctx->ram);
	ctx->ram = NULL;
	ctx->nram = 0;
	free(ctx->vm_name);
	free(ctx->vm_uuid);
	free(ctx->qemu_version);
	ctx->vm_name = ctx->vm_uuid = ctx->qemu_version = NULL;
	ctx->vm_state = QVMI_VM_UNKNOWN;
	ctx->qemu_pid = 0;
	ctx->backend = "none";
	qvmi_cache_flush(ctx);
}

QVMI_API const char *qvmi_errmsg(const struct qvmi_ctx *ctx)
{
	return ctx ? ctx->errmsg : "no context";
}

QVMI_API int qvmi_errcode(const struct qvmi_ctx *ctx)
{
	return ctx ? ctx->err : -EINVAL;
}

QVMI_API uint64_t qvmi_fault_addr(const struct qvmi_ctx *ctx)
{
	return ctx ? ctx->fault_addr : UINT64_MAX;
}

QVMI_API void qvmi_set_log(struct qvmi_ctx *ctx, qvmi_log_fn fn, void *arg,
			   enum qvmi_log_level max_level)
{
	ctx->log_fn = fn;
	ctx->log_arg = arg;
	ctx->log_level = max_level;
}

int qvmi__err(struct qvmi_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	ctx->err = err;
	ctx->fault_addr = UINT64_MAX;
	va_start(ap, fmt);
	vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
	va_end(ap);
	qvmi__log(ctx, QVMI_LOG_DEBUG, "error %d: %s", err, ctx->errmsg);
	errno = saved;
	return err;
}

int qvmi__fault(struct qvmi_ctx *ctx, uint64_t addr, const char *what)
{
	ctx->err = -EFAULT;
	ctx->fault_addr = addr;
	/* snprintf into the fixed buffer: the fault path never allocates. */
	snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s at 0x%" PRIx64, what,
		 addr);
	return -EFAULT;
}

void qvmi__clear_err(struct qvmi_ctx *ctx)
{
	ctx->err = 0;
	ctx->fault_addr = UINT64_MAX;
	ctx->errmsg[0] = '\0';
}

void qvmi__log(struct qvmi_ctx *ctx, enum qvmi_log_level level, const char *fmt,
	       ...)
{
	char buf[512];
	va_list ap;
	int saved;

	if (!ctx->log_fn || level > ctx->log_level)
		return;
	saved = errno;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctx->log_fn(level, buf, ctx->log_arg);
	errno = saved; /* libbpf_print: callers may still inspect errno */
}

bool qvmi__opts_valid(const void *opts, size_t known_sz)
{
	const unsigned char *p = opts;
	size_t sz, i;

	if (!opts)
		return true;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return false;
	for (i = known_sz; i < sz; i++)
		if (p[i])
			return false;
	return true;
}

char *qvmi__strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* ---- control dispatch: missing ops are checked here only -------------- */

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

QVMI_API const char *qvmi_vm_state_name(enum qvmi_vm_state state)
{
	switch (state) {
	case QVMI_VM_RUNNING:
		return "running";
	case QVMI_VM_PAUSED:
		return "paused";
	case QVMI_VM_SHUTDOWN:
		return "shutdown";
	case QVMI_VM_FROZEN:
		return "frozen";
	default:
		return "unknown";
	}
}

QVMI_API int qvmi_vm_info(struct qvmi_ctx *ctx, struct qvmi_vm_info *ret)
{
	int n;

	if (!ret)
		return qvmi__err(ctx, -EINVAL, "vm_info: NULL output");
	n = qvmi__qmp_identity(ctx);
	if (n < 0)
		return n;
	memset(ret, 0, sizeof(*ret));
	ret->name = ctx->vm_name ? ctx->vm_name : "";
	ret->uuid = ctx->vm_uuid ? ctx->vm_uuid : "";
	ret->qemu_version = ctx->qemu_version ? ctx->qemu_version : "";
	ret->arch = "x86_64";
	ret->backend = ctx->backend;
	ret->pid = ctx->qemu_pid;
	n = ctx->ctl && ctx->ctl->ops->vcpu_count ?
		    ctx->ctl->ops->vcpu_count(ctx->ctl) :
		    0;
	ret->vcpus = n > 0 ? (unsigned int)n : 0;
	return 0;
}
