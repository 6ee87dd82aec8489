/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QMP attach over a connection made elsewhere (attach.c). */
#ifndef QVMI_ATTACH_ATTACH_QMP_H
#define QVMI_ATTACH_ATTACH_QMP_H

#include <limits.h>
#include <stdbool.h>

#include "core/internal.h"
#include "proto/qmp.h"

/*
 * A QMP connection that is not a socket path (a libvirt domain,
 * attach-domain.c): how to open it again, and the layout cache's key for
 * its QEMU.  The cache then holds QEMU's pid, and its start time says
 * whether that pid is still the same QEMU.
 */
struct qvmi_qmp_opener {
	char key[PATH_MAX]; /* "libvirt:URI#NAME"; no newline */
	char name[256], uri[1024];
	bool has_uri;
	/* Connect; must fail if the VM is not the one of ctx->qemu_pid. */
	int (*open)(struct qvmi_ctx *ctx, const struct qvmi_qmp_opener *o,
		    int timeout_ms, struct qvmi_qmp **ret);
};

/* qvmi_attach_qmp over q, an open connection (taken: closed on error),
 * with QEMU's pid where qemu_pid > 0 (0: memory through QMP only).  With
 * o, the layout is cached under o->key; without, not at all. */
QVMI_HIDDEN int qvmi__attach_qmp_conn(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
				      int qemu_pid,
				      const struct qvmi_attach_opts *opts,
				      const struct qvmi_qmp_opener *o);
/* The attach from the layout cache alone, QMP through o on first use: 0,
 * or negative errno with ctx as it was (the reason logged). */
QVMI_HIDDEN int qvmi__attach_cached_opener(struct qvmi_ctx *ctx,
					   const struct qvmi_qmp_opener *o,
					   const struct qvmi_attach_opts *opts);

#endif
