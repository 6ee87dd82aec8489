/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What qvmid (daemon/) uses of libqvmi beyond include/qvmi.h and the
 * proto/ headers: the attach entry points it calls, and accessors to the
 * few parts of a context it reads (its QMP connection, the segment map,
 * the flush generation, the layout's staleness, QEMU's pid and version,
 * what the control backend can do).  They are functions (src/attach/
 * qvmid.c), not macros over the struct, so struct qvmi_ctx stays private
 * to the library.  scripts/check-structure fails on a daemon include of
 * any other library header, and on a qvmi__ symbol a daemon object
 * references that is neither defined in proto/ nor declared here.
 */
#ifndef QVMI_ATTACH_QVMID_H
#define QVMI_ATTACH_QVMID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base.h"

struct qvmi_qmp;
struct qvmi_gdb;

/* ---- attach ------------------------------------------------------------ */

/* qvmi_attach_qmp over a path, or over fd, a connected QMP socket (taken;
 * path NULL), with QEMU's pid given where qemu_pid > 0 (the socket's peer
 * is not QEMU).  No layout cache with fd or a given pid (qvmid). */
QVMI_HIDDEN int qvmi__attach_qmp_ex(struct qvmi_ctx *ctx, const char *qmp_path,
				    int fd, int qemu_pid,
				    const struct qvmi_attach_opts *opts);
/* qvmi_attach_gdb over a connected fd (qvmid's --gdb-fd, tests). */
QVMI_HIDDEN int qvmi__attach_gdb_fd(struct qvmi_ctx *ctx, int fd,
				    const struct qvmi_gdb_opts *opts);

/*
 * Declared again here from their own layers' headers (proto/gdb.h,
 * core/internal.h), so that qvmid needs no other: src/attach/qvmid.c
 * includes both, so the compiler checks the two declarations agree.
 */
/* The gdb connection behind ctx's control backend, or NULL (not the
 * gdbstub). */
QVMI_HIDDEN struct qvmi_gdb *qvmi__ctl_gdb(struct qvmi_ctx *ctx);
/* ctx's QMP connection, connected now if the attach came from the layout
 * cache: 0, or negative errno (-ENOTCONN: no QMP attach). */
QVMI_HIDDEN int qvmi__qmp_need(struct qvmi_ctx *ctx);
/* QEMU's memory map may have changed (a new pmemaccess server): a QMP
 * attach re-reads it before the next access. */
QVMI_HIDDEN void qvmi__map_stale(struct qvmi_ctx *ctx);
/* Where [gpa, gpa + len) lives in a file (struct qvmi_pa_file, core/
 * base.h): see core/internal.h. */
QVMI_HIDDEN int qvmi__pa_file(struct qvmi_ctx *ctx, uint64_t gpa, size_t len,
			      struct qvmi_pa_file *ret);

/* ---- accessors --------------------------------------------------------- */

/* The live QMP connection, or NULL (none, or not connected yet: see
 * qvmi__qmp_need).  Owned by ctx. */
QVMI_HIDDEN struct qvmi_qmp *qvmi__ctx_qmp(struct qvmi_ctx *ctx);
/* Moves on every cache flush (resume, detach, map change). */
QVMI_HIDDEN uint64_t qvmi__ctx_flush_gen(const struct qvmi_ctx *ctx);
/* QEMU's pid (0 unknown) and version (NULL unknown). */
QVMI_HIDDEN int qvmi__ctx_qemu_pid(const struct qvmi_ctx *ctx);
QVMI_HIDDEN const char *qvmi__ctx_qemu_version(const struct qvmi_ctx *ctx);

/* What the control backend can do (an op it has, not a promise that the
 * VM will answer). */
enum {
	QVMI_CTL_CAN_REGS = 1u << 0, /* get_regs */
	QVMI_CTL_CAN_PAUSE = 1u << 1, /* pause and resume */
};
QVMI_HIDDEN unsigned int qvmi__ctx_ctl_caps(const struct qvmi_ctx *ctx);

/* A QMP attach keeps its layout current (src/attach/layout-live.c): true
 * when ctx has such a layout and its QMP connection is up. */
QVMI_HIDDEN bool qvmi__ctx_layout_live(const struct qvmi_ctx *ctx);
/* The layout will be re-read before the next access. */
QVMI_HIDDEN bool qvmi__ctx_layout_stale(const struct qvmi_ctx *ctx);
/* What memory.c does before every access (qvmi__layout_check): a stale
 * layout is re-read now, and QMP looked at every 16th call.  For accesses
 * that look segments up directly (qvmid's mapped reads). */
QVMI_HIDDEN void qvmi__ctx_layout_check(struct qvmi_ctx *ctx);
/* Run the layout's poll as an access would (a no-op unless live): for
 * reads that do not pass through the ctx (qvmid's pmemaccess workers). */
QVMI_HIDDEN void qvmi__ctx_layout_poll(struct qvmi_ctx *ctx);

/* One segment of the effective guest-physical map, copied out. */
struct qvmi_seg_view {
	uint64_t start;
	uint64_t last; /* inclusive */
	uint64_t src_addr; /* the source's address of start */
	/* The source's identity: equal for the segments of one source;
	 * never dereferenced outside the library. */
	const void *src;
	uint8_t *host; /* host mapping of the whole range, or NULL */
	int file_fd; /* >= 0: the source's file (borrowed: until the map
		      * changes), else -1 */
};
/* Segment idx (< qvmi_map_count): 0, or -ERANGE. */
QVMI_HIDDEN int qvmi__ctx_seg(const struct qvmi_ctx *ctx, size_t idx,
			      struct qvmi_seg_view *ret);
/* The segment that maps gpa: 0, or -EFAULT.  Leaves the last error alone. */
QVMI_HIDDEN int qvmi__ctx_seg_at(struct qvmi_ctx *ctx, uint64_t gpa,
				 struct qvmi_seg_view *ret);
/* Segment idx is a file whose QEMU has exited (our fd keeps the file
 * alive; its bytes are the last QEMU wrote, not live). */
QVMI_HIDDEN bool qvmi__ctx_seg_gone(const struct qvmi_ctx *ctx, size_t idx);
/*
 * Where [gpa, gpa + n) (n > 0) lies in a host mapping of one segment that
 * may be read without allocating anything, or NULL.  Shared RAM answers
 * through its source's host_ok: pages its file holds, never a hole, which
 * a touch through the mapping would allocate.  A mapping that is not a
 * file's has no holes to keep.  *gone: a bulk range (n >= QVMI_BULK_MIN,
 * as qvmi__pa_file and qvmi_read_pa define it) of a file whose QEMU
 * exited; the mapping still shows its last bytes, which must not pass for
 * live.
 */
QVMI_HIDDEN const uint8_t *qvmi__ctx_pa_host(struct qvmi_ctx *ctx, uint64_t gpa,
					     size_t n, bool *gone);

#endif
