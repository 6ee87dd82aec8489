// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QMP "xp" memory source: guest-physical reads through HMP
 * "xp /Nxb ADDR", the catch-all under faster sources.  Read-only and slow,
 * so it is flagged QVMI_SOURCE_SLOW and the page cache holds its pages
 * while the VM is paused.
 *
 * Chunk size, measured on QEMU 7.2 (TCG, 2 vCPUs) through QMP: the text is
 * 7.4 bytes per guest byte.  On a quiet host 4 KiB took 2.3 ms, 16 KiB
 * 7.4 ms, 64 KiB 30 ms, 256 KiB 148 ms, 1 MiB 470 ms (~2.2 MB/s past
 * 16 KiB).  On a loaded host (load 10 on 2 cores) a round trip alone was
 * ~11 ms and 512 B/4/16/64/256 KiB took 11/13/24/126/387 ms.  Past 16 KiB
 * throughput does not improve while the reply grows (16 KiB = 121 KB of
 * text), so 16 KiB it is.  Unassigned addresses answer "Cannot access
 * memory" (-EFAULT at the first such byte); MMIO answers whatever the
 * device reads as.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hmp.h"
#include "proto/qmp.h"
#include "sources.h"

enum { XP_CHUNK = 16 * 1024 };

static int xp_chunk(struct qvmi_source *s, uint64_t addr, uint8_t *buf,
		    size_t len)
{
	struct qvmi_qmp *q = qvmi_source_priv(s);
	struct qvmi_ctx *ctx = qvmi_source_ctx(s);
	char cmd[64], *out = NULL;
	size_t done = 0;
	int err;

	snprintf(cmd, sizeof(cmd), "xp /%zuxb 0x%" PRIx64, len, addr);
	err = qvmi__qmp_hmp(q, cmd, &out);
	if (err < 0)
		return err;
	err = qvmi__hmp_parse_xp_partial(out, addr, buf, len, &done);
	if (err == -EFAULT)
		err = qvmi__fault(ctx, addr + done, "xp: QEMU cannot access");
	else if (err < 0)
		err = qvmi__err(ctx, -EPROTO,
				"xp at 0x%" PRIx64 ": unexpected output: %.60s",
				addr, out);
	free(out);
	return err;
}

static int xp_read(struct qvmi_source *s, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	int err;

	if (len && addr + (len - 1) < addr)
		return qvmi__fault(qvmi_source_ctx(s), addr,
				   "xp: range wraps around");
	while (len) {
		size_t n = QVMI_MIN(len, (size_t)XP_CHUNK);

		err = xp_chunk(s, addr, out, n);
		if (err < 0)
			return err;
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

static const struct qvmi_source_ops xp_ops = {
	.name = "xp",
	.read = xp_read,
	/* no write: xp cannot write; no destroy: q is borrowed */
};

int qvmi__source_xp_create(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
			   struct qvmi_source **ret)
{
	if (!q)
		return qvmi__err(ctx, -EINVAL, "xp: no QMP connection");
	return qvmi_source_create(ctx, &xp_ops, q, QVMI_SOURCE_SLOW, ret);
}
