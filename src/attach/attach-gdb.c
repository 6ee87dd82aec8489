// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi_attach_gdb: the gdbstub as the control backend (src/ctl/ctl-gdb.c)
 * and, when nothing else gives memory, as a physical-memory source.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "attach/qvmid.h"
#include "proto/gdb.h"
#include "source/sources.h"

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
	err = qvmi__gdb_open_fd(ctx, fd, QVMI_OPTS_GET(opts, timeout_ms, 0),
				&g);
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
	qvmi__gdb_unref(g);
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
	err = qvmi__gdb_connect(ctx, path, &fd);
	return err ? err : qvmi__attach_gdb_fd(ctx, fd, opts);
}
