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
	free(ctx->cache_dir);
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
	ctx->qmp_connect = NULL;
	ctx->vmcoreinfo = NULL;
	if (ctx->lay_free)
		ctx->lay_free(ctx);
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
	ctx->vm_arch[0] = '\0';
	ctx->vm_state = QVMI_VM_UNKNOWN;
	ctx->qemu_pid = 0;
	ctx->mem_id[0] = '\0';
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

int qvmi__qmp_need(struct qvmi_ctx *ctx)
{
	if (ctx->qmp)
		return 0;
	if (!ctx->qmp_connect)
		return qvmi__err(ctx, -ENOTCONN, "not attached over QMP");
	return ctx->qmp_connect(ctx);
}

QVMI_API const char *qvmi_vmcoreinfo(const struct qvmi_ctx *ctx)
{
	return ctx ? ctx->vmcoreinfo : NULL;
}

#define QVMI_STR_(x) #x
#define QVMI_STR(x) QVMI_STR_(x)

QVMI_API const char *qvmi_version(void)
{
	return QVMI_STR(QVMI_VERSION_MAJOR) "." QVMI_STR(
		QVMI_VERSION_MINOR) "." QVMI_STR(QVMI_VERSION_PATCH);
}
