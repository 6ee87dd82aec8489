/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the task-walk fuzz targets (64-bit and i386 fake kernels) do with
 * an opened handle: every Linux view, over attacker-chosen memory.
 */
#ifndef QVMI_FUZZ_VIEWS_RUN_H
#define QVMI_FUZZ_VIEWS_RUN_H

#include <stdlib.h>

#include "qvmi.h"

static int nop_task(const struct qvmi_linux_task *t, void *arg)
{
	(void)t;
	(void)arg;
	return 0;
}

static int nop_log(const struct qvmi_linux_log_rec *r, void *arg)
{
	volatile char c = r->text_len ? r->text[r->text_len - 1] : 0;

	(void)c;
	(void)arg;
	return 0;
}

static void run_views(struct qvmi_linux *lx)
{
	struct qvmi_linux_task_list tl;
	struct qvmi_linux_vma_list vl;
	struct qvmi_linux_module_list ml;
	struct qvmi_linux_args_block args;

	qvmi_linux_tasks(lx, QVMI_LINUX_THREADS, &tl);
	for (size_t i = 0; i < tl.n && i < 4; i++) {
		qvmi_linux_vmas(lx, tl.tasks[i].pid, &vl);
		qvmi_linux_vma_list_deinit(&vl);
		qvmi_linux_proc_args(lx, tl.tasks[i].pid, QVMI_LINUX_CMDLINE,
				     &args);
		qvmi_linux_args_deinit(&args);
	}
	qvmi_linux_task_list_deinit(&tl);
	qvmi_linux_task_foreach(lx, 0, nop_task, NULL);
	qvmi_linux_modules(lx, &ml);
	qvmi_linux_module_list_deinit(&ml);
	qvmi_linux_dmesg(lx, nop_log, NULL);
}

#endif
