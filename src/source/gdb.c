// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest-physical memory through the gdbstub ('m'/'M' in QEMU's physical
 * mode, Qqemu.PhyMemMode:1).  Slow (about 0.3 ms per 2 KiB packet on QEMU
 * 7.2 under TCG) and it stops a running VM for each access, so it is the
 * source of last resort for a VM that has nothing but a gdbstub.
 */
#include <errno.h>

#include "core/internal.h"
#include "proto/gdb.h"

static int gdb_src_access(struct qvmi_source *s, uint64_t addr, void *rbuf,
			  const void *wbuf, size_t len)
{
	struct qvmi_gdb *g = s->priv;
	bool held;
	int err = qvmi__gdb_hold(g, &held), err2;

	if (err)
		return err;
	err = rbuf ? qvmi__gdb_read_mem(g, 0, true, addr, rbuf, len) :
		     qvmi__gdb_write_mem(g, 0, true, addr, wbuf, len);
	err2 = qvmi__gdb_release(g, held);
	return err ? err : err2;
}

static int gdb_src_read(struct qvmi_source *s, uint64_t addr, void *buf,
			size_t len)
{
	return gdb_src_access(s, addr, buf, NULL, len);
}

static int gdb_src_write(struct qvmi_source *s, uint64_t addr, const void *buf,
			 size_t len)
{
	return gdb_src_access(s, addr, NULL, buf, len);
}

static void gdb_src_destroy(struct qvmi_source *s)
{
	qvmi__gdb_unref(s->priv);
}

static const struct qvmi_source_ops gdb_source_ops = {
	.name = "gdbstub",
	.read = gdb_src_read,
	.write = gdb_src_write,
	.destroy = gdb_src_destroy,
};

int qvmi__source_gdb_create(struct qvmi_ctx *ctx, struct qvmi_gdb *g,
			    struct qvmi_source **ret)
{
	int err;

	if (!qvmi__gdb_has_phys(g))
		return qvmi__err(ctx, -EOPNOTSUPP,
				 "gdb: stub has no physical memory mode");
	err = qvmi_source_create(ctx, &gdb_source_ops, qvmi__gdb_ref(g),
				 QVMI_SOURCE_SLOW, ret);
	if (err)
		qvmi__gdb_unref(g);
	return err;
}
