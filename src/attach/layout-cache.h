/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The attach layout cache (layout-cache.c): what a QMP attach learned (QEMU's
 * pid and version, the RAM/ROM ranges and where each one is in QEMU) kept
 * on disk, so the next attach to the same, still running QEMU sends no QMP
 * command at all.
 */
#ifndef QVMI_CORE_LAYOUT_CACHE_H
#define QVMI_CORE_LAYOUT_CACHE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/internal.h"

enum {
	QVMI_LAYOUT_MAX_RANGES = 64,
	QVMI_LAYOUT_VERSION_MAX = 128,
};

/* One RAM/ROM range and the fast source that served it. */
struct qvmi_layout_range {
	uint64_t gpa, size;
	bool ram;
	bool shm; /* else procmem */
	uint64_t dev, ino; /* shm: the backing file */
	uint64_t addr; /* shm: file offset; procmem: QEMU's hva */
};

/* The identity the cache is keyed and checked by, then the layout. */
struct qvmi_layout {
	char sock[PATH_MAX]; /* absolute path of the QMP socket */
	uint64_t sock_dev, sock_ino;
	int64_t sock_ctime_s, sock_ctime_ns;
	int pid;
	uint64_t start_time; /* /proc/PID/stat field 22 */
	unsigned int allow; /* enum qvmi_source_kind of the attach */
	char version[QVMI_LAYOUT_VERSION_MAX];
	uint64_t maps_hash; /* QEMU's shared file mappings */
	size_t n;
	struct qvmi_layout_range r[QVMI_LAYOUT_MAX_RANGES];
};

/* QVMI_NO_LAYOUT_CACHE=1 turns the cache off (neither read nor written). */
QVMI_HIDDEN bool qvmi__layout_enabled(void);
/* Fill l->sock and the socket's identity from stat(2). */
QVMI_HIDDEN int qvmi__layout_sock_id(const char *path, struct qvmi_layout *l);
/* Start time of pid in clock ticks since boot; -ESRCH if it is gone. */
QVMI_HIDDEN int qvmi__layout_start_time(int pid, uint64_t *ret);
/* Hash of pid's shared file mappings (/proc/PID/maps). */
QVMI_HIDDEN int qvmi__layout_maps_hash(int pid, uint64_t *ret);
/* Load the cache of l->sock into ret and check it against l's socket
 * identity and allow; 0, or negative errno with the reason in why. */
QVMI_HIDDEN int qvmi__layout_load(const struct qvmi_layout *l,
				  struct qvmi_layout *ret, char *why,
				  size_t why_size);
/* Parse a cache file's text (NUL-terminated, modified in place) into l:
 * 0 or -EBADMSG.  Exposed for the fuzz target. */
QVMI_HIDDEN int qvmi__layout_parse(char *buf, struct qvmi_layout *l);
/* Write l (0600, atomic rename). */
QVMI_HIDDEN int qvmi__layout_save(const struct qvmi_layout *l);
/* With l->r[].gpa/size/ram filled in: the source serving each range in
 * the attached ctx (false: not cacheable, the reason in why). */
QVMI_HIDDEN bool qvmi__layout_fill_sources(struct qvmi_ctx *ctx,
					   struct qvmi_layout *l, char *why,
					   size_t why_size);
/* Register a loaded layout's sources on ctx after checking it against the
 * live QEMU; 0, or negative errno with the reason in why (ctx's memory
 * state is then to be dropped by the caller). */
QVMI_HIDDEN int qvmi__layout_apply(struct qvmi_ctx *ctx,
				   const struct qvmi_layout *l, char *why,
				   size_t why_size);

#endif
