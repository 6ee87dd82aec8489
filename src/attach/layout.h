/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's memory layout as one plain struct, and the one pipeline that
 * turns it into memory sources (layout.c):
 *
 *   discovery (attach.c: QMP "info mtree -f" + gpa2hva)  -\
 *   the layout cache (layout-cache.c: a file)             --> qvmi_layout
 *   qvmi__layout_resolve: where each range lives in QEMU (/proc/PID/maps)
 *   qvmi__layout_build: xp, procmem and shm sources on the ctx
 *
 * A full attach and a cached one differ only in where the ranges come
 * from; resolve and build are the same code for both, and for a refresh
 * of the map (qvmi__layout_refresh, attach.c) after QEMU changed it.
 */
#ifndef QVMI_CORE_LAYOUT_H
#define QVMI_CORE_LAYOUT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/internal.h"

struct qvmi_qmp;
struct json_object;

enum {
	/* RAM/ROM ranges kept; a VM has a dozen (more with many DIMMs) */
	QVMI_LAYOUT_MAX_RANGES = 256,
	QVMI_LAYOUT_VERSION_MAX = 128,
	QVMI_LAYOUT_NAME_MAX = 64,
};

/* Where a range's bytes are in QEMU, as resolve found them. */
enum qvmi_layout_back {
	QVMI_BACK_NONE = 'n', /* no host address: QMP (xp) only */
	QVMI_BACK_SHM = 's', /* a shared file mapping (memory-backend-file,
			      * memfd, share=on) */
	QVMI_BACK_PROC = 'p', /* QEMU's process memory (anonymous RAM, ROM,
			       * a private file mapping) */
};

/* One RAM/ROM range of QEMU's flat view and where its bytes are. */
struct qvmi_layout_range {
	/* from QEMU (discovery) */
	uint64_t gpa, size;
	bool ram; /* kind "ram" (else rom/romd) */
	uint64_t mtree_off; /* "@offset" into its memory region */
	char name[QVMI_LAYOUT_NAME_MAX]; /* memory region name */
	bool has_hva;
	uint64_t hva; /* QEMU's host virtual address of gpa */
	/* from the host (resolve) */
	char back; /* enum qvmi_layout_back */
	bool anon; /* PROC on private anonymous memory: a page never
		    * touched reads as zeros (find may skip it) */
	uint64_t dev, ino; /* SHM: the file */
	uint64_t off; /* SHM: offset of gpa in the file */
	uint64_t vma_start, vma_end; /* the mapping holding hva */
	bool writable; /* SHM: QEMU maps it writable */
	/* from build: the source that serves the range, 's', 'p', 'x' or 0 */
	char used;
};

/* The identity a layout is checked by, then the ranges. */
struct qvmi_layout {
	char sock[PATH_MAX]; /* absolute path of the QMP socket */
	uint64_t sock_dev, sock_ino;
	int64_t sock_ctime_s, sock_ctime_ns;
	int pid; /* QEMU's; 0: not known (memory through QMP only) */
	uint64_t start_time; /* /proc/PID/stat field 22 */
	unsigned int allow; /* enum qvmi_source_kind of the attach */
	char version[QVMI_LAYOUT_VERSION_MAX];
	/* QEMU's mappings that hold or could hold guest RAM (resolve) */
	uint64_t maps_hash;
	size_t n;
	struct qvmi_layout_range r[QVMI_LAYOUT_MAX_RANGES];
};

/*
 * A new layout, zero but for its ranges, or NULL.  Nothing reads a range
 * at or past n, and calloc's memset of all ~50 KiB faulted in 12 pages a
 * layout: a warm qvmi ps made 27 page faults more (70 against 43, at
 * ~11-18 us each on this VM host) than before layouts were one struct.
 */
QVMI_HIDDEN struct qvmi_layout *qvmi__layout_new(void);
/* Zero l but for its ranges. */
QVMI_HIDDEN void qvmi__layout_clear(struct qvmi_layout *l);
/* *dst = *src, copying only the ranges in use (a layout is ~50 KiB). */
QVMI_HIDDEN void qvmi__layout_copy(struct qvmi_layout *dst,
				   const struct qvmi_layout *src);
/* Start time of pid in clock ticks since boot; -ESRCH if it is gone. */
QVMI_HIDDEN int qvmi__layout_start_time(int pid, uint64_t *ret);
/*
 * Where each range with a host address lives in QEMU (l->pid), from one
 * read of /proc/PID/maps: back, anon, dev/ino/off, vma_*; and
 * l->maps_hash, the witness of a change of RAM: QEMU's shared file
 * mappings, its large anonymous ones and the mappings of its anonymous
 * RAM ranges.  0 or negative errno (the reason in why).
 */
QVMI_HIDDEN int qvmi__layout_resolve(struct qvmi_layout *l, char *why,
				     size_t why_size);
/*
 * The one place memory sources are made: on an empty memory map of ctx,
 * register the RAM list and, slowest first so faster ones win where they
 * overlap, xp over every range (q non-NULL and allowed), procmem and shm
 * where resolve placed the range (and allow permits).  Sets each range's
 * used.  Every RAM range must end up served (-EOPNOTSUPP otherwise).  The
 * sources are marked as the layout's (qvmi__layout_owned).
 */
QVMI_HIDDEN int qvmi__layout_build(struct qvmi_ctx *ctx, struct qvmi_layout *l,
				   struct qvmi_qmp *q, unsigned int allow);
/* The witness part that needs no layout (shared file mappings, large
 * anonymous ones) of pid: taken before and after a discovery, a change
 * means the mappings moved while QEMU was asked. */
QVMI_HIDDEN int qvmi__layout_witness(int pid, uint64_t *ret);
/* Can a later attach use l without QMP: every range served from QEMU's
 * memory (shm or procmem)?  false with the reason in why. */
QVMI_HIDDEN bool qvmi__layout_cacheable(const struct qvmi_layout *l, char *why,
					size_t why_size);
/* Same ranges as QEMU reported them (discovery fields only)? */
QVMI_HIDDEN bool qvmi__layout_same_view(const struct qvmi_layout *a,
					const struct qvmi_layout *b);
/* Drop the memory map (sources, segments, RAM list, page cache) and keep
 * control and QMP: only if every source is the layout's (-EBUSY else). */
QVMI_HIDDEN int qvmi__layout_unbuild(struct qvmi_ctx *ctx);

/* ---- keeping the map current (layout-live.c) ---- */

/* QMP discovery (attach.c): QEMU's flat view into l->r (gpa, size, ram,
 * name, mtree_off) and each range's host address, taken from prev (an
 * earlier layout of the same QEMU) where it knows the region.  Needs
 * l->pid for the host addresses. */
QVMI_HIDDEN int qvmi__layout_discover(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
				      struct qvmi_layout *l,
				      const struct qvmi_layout *prev);
/* After a build: ctx keeps l (copied) and allow, to keep them current;
 * cache: l->sock names the QMP socket, refreshed layouts are saved. */
QVMI_HIDDEN int qvmi__lay_set(struct qvmi_ctx *ctx, const struct qvmi_layout *l,
			      unsigned int allow, bool cache);
/* Watch ctx->qmp's events (a connection made after qvmi__lay_set). */
QVMI_HIDDEN void qvmi__lay_watch(struct qvmi_ctx *ctx);
/* The layout was read while QEMU had not run yet (-S): its first RESUME
 * makes it stale, and it is not cached. */
QVMI_HIDDEN void qvmi__lay_prelaunch(struct qvmi_ctx *ctx);
/* Save ctx's layout in the cache, if QEMU's mappings still hash to
 * pre_hash (taken before the discovery) and the map is settled. */
QVMI_HIDDEN void qvmi__lay_save(struct qvmi_ctx *ctx, uint64_t pre_hash);

/* Something may have changed QEMU's layout (a reset, the first resume
 * after -S, a memory hot-plug, a new pmemaccess server): re-read it
 * before the next memory access.  settle_ms > 0: the firmware may still
 * be moving ranges (PAM shadowing of 0xc0000-0xfffff on pc/q35), so keep
 * re-checking, at most every 100 ms of accesses, for that long. */
QVMI_HIDDEN void qvmi__layout_mark_stale(struct qvmi_ctx *ctx, int settle_ms);
/* A QMP event, from the QMP control backend (ctl-qmp.c). */
QVMI_HIDDEN void qvmi__layout_event(struct qvmi_ctx *ctx, const char *event,
				    struct json_object *ev);
/* Before a memory access (ctx->lay_poll, from qvmi__layout_check): take
 * in QMP events now and then, and re-read the layout if it is stale. */
QVMI_HIDDEN void qvmi__layout_poll(struct qvmi_ctx *ctx);
/* Re-read the layout now (one QMP round trip when it did not change). */
QVMI_HIDDEN int qvmi__layout_refresh(struct qvmi_ctx *ctx);

#endif
