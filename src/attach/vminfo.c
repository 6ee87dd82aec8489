// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi_vm_info: what the attach learnt about the VM, with the QMP queries
 * (name, UUID, target) asked for on first use (src/attach/attach.c).
 */
#include <string.h>

#include "core/internal.h"

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
	ret->arch = ctx->vm_arch;
	ret->backend = ctx->backend;
	ret->pid = ctx->qemu_pid;
	n = ctx->ctl && ctx->ctl->ops->vcpu_count ?
		    ctx->ctl->ops->vcpu_count(ctx->ctl) :
		    0;
	ret->vcpus = n > 0 ? (unsigned int)n : 0;
	return 0;
}
