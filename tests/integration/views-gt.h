/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Linux views' checks against the demo guest's ground truth (the
 * "QVMI-GT" lines, tests/lib/guest.h) that test-views.c (x86_64) and
 * test-linux32.c (i386) both make, written once.  Each fails the running
 * test (harness.h CHECKs) on a mismatch.
 */
#ifndef QVMI_TESTS_VIEWS_GT_H
#define QVMI_TESTS_VIEWS_GT_H

#include <stddef.h>

#include "guest.h"
#include "qvmi.h"

/* PID's VMAs equal its /proc/PID/maps (start, end, perms, offset, path);
 * adds the number compared to *checked. */
void vgt_check_vmas(struct qvmi_linux *lx, int pid, size_t *checked);

/* PID's command line equals GT, the guest's /proc/PID/cmdline with its
 * NULs joined by spaces. */
void vgt_check_cmdline(struct qvmi_linux *lx, int pid, const char *gt);

/* Each of the guest's modules (/proc/modules) is listed with its size,
 * base and the state LIVE, and no other; returns their number and sets
 * *gt to them. */
size_t vgt_check_modules(struct qvmi_linux *lx, const struct guest_module **gt);

/* The first marker's heap string, read through its page table (its dtb),
 * equals the guest's; returns that marker. */
const struct guest_marker *vgt_check_marker_heap(struct qvmi_ctx *ctx,
						 struct qvmi_linux *lx);

/* dmesg walks more than 10 records, exactly one of them the kernel's
 * banner; returns the number of records. */
int vgt_check_dmesg_banner(struct qvmi_ctx *ctx, struct qvmi_linux *lx);

#endif
