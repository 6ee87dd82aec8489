/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the two files of the views suites (test-views.c: tasks, modules,
 * dmesg and the suite tables; views-maps.c: VMAs and cmdline) share: the
 * world of tasks both build on, and the bodies views-maps.c gives the
 * tables.  A body takes the layout variant: FK_NEW or FK_OLD for suite
 * views, FK_I386 or FK_I386_OLD for views32.
 */
#ifndef QVMI_TEST_VIEWS_WORLD_H
#define QVMI_TEST_VIEWS_WORLD_H

#include <stdint.h>

#include "fake-kernel.h"

#define MEM (8u << 20)
#define START_TIME 0x511223344ull /* u64 on both: high half non-zero */
#define JUNK 0x5a5a5a5au /* a neighbour: not a plausible pointer */

enum { PF_KTHREAD = 0x00200000 };

struct world {
	struct fk k;
	const struct fk_lay *L;
	uint64_t init, kthreadd, proc, t1, t2, zombie, dwait, mm, pgd, cred;
};

/* swapper(0) <- init(1) <- proc(100, threads 101 102), zombie(200),
 * dwait(300); kthreadd(2) */
void vw_world(struct world *w, enum fk_variant v);
void vw_destroy(struct fk *k); /* fk_destroy, and free the memory */
uint64_t vw_page(struct fk *k); /* a page-aligned direct-map page */
uint64_t vw_ulong_max(const struct fk_lay *L);

void vw_vmas_maple(enum fk_variant v);
void vw_vmas_full_leaf(enum fk_variant v);
void vw_vmas_list(enum fk_variant v);
void vw_proc_args(enum fk_variant v);

#endif
