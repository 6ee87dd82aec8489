/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QMP attach over a connection made elsewhere (attach.c). */
#ifndef QVMI_ATTACH_ATTACH_QMP_H
#define QVMI_ATTACH_ATTACH_QMP_H

#include "core/internal.h"
#include "proto/qmp.h"

/* qvmi_attach_qmp over q, an open connection (taken: closed on error),
 * with QEMU's pid where qemu_pid > 0 (0: memory through QMP only).  No
 * layout cache: nothing names q's QEMU across runs. */
QVMI_HIDDEN int qvmi__attach_qmp_conn(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
				      int qemu_pid,
				      const struct qvmi_attach_opts *opts);

#endif
