/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The attach layout cache (layout-cache.c): what a QMP attach learned (QEMU's
 * pid and version, the RAM/ROM ranges and where each one is in QEMU) kept
 * on disk, so the next attach to the same, still running QEMU sends no QMP
 * command at all.
 */
#ifndef QVMI_CORE_LAYOUT_CACHE_H
#define QVMI_CORE_LAYOUT_CACHE_H

#include <stdbool.h>

#include "layout.h"

/* QVMI_NO_LAYOUT_CACHE=1 turns the cache off (neither read nor written). */
QVMI_HIDDEN bool qvmi__layout_enabled(void);
/* Fill l->sock and the socket's identity from stat(2). */
QVMI_HIDDEN int qvmi__layout_sock_id(const char *path, struct qvmi_layout *l);
/*
 * Load the cache of l->sock into l and check it against the socket's
 * identity and allow in l (from qvmi__layout_sock_id) and against the
 * live QEMU: same pid and start time, the same witness of its mappings,
 * and every range where the cache says (qvmi__layout_resolve again).
 * 0, or negative errno with the reason in why.
 */
QVMI_HIDDEN int qvmi__layout_load(struct qvmi_layout *l, const char *dir,
				  char *why, size_t why_size);
/* Parse a cache file's text (NUL-terminated, modified in place) into l:
 * 0 or -EBADMSG.  Exposed for the fuzz target. */
QVMI_HIDDEN int qvmi__layout_parse(char *buf, struct qvmi_layout *l);
/* Write l (0600, atomic rename). */
QVMI_HIDDEN int qvmi__layout_save(const struct qvmi_layout *l, const char *dir);

#endif
