// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the Volatility ISF loader and member-path lookups over what it
 * accepts. */
#include <stdint.h>
#include <stdlib.h>

#include "qvmi.h"
#include "os/linux/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "task_struct", "mm_struct",
					     "struct list_head", "unnamed_2",
					     "printk_info" };
	static const char *const paths[] = {
		"pid",	 "se.vruntime", "comm[3]", "tasks.next", "pgd",
		"count", "arr[1].prev", "flags",   "level",	 "mm_mt.ma_root"
	};
	struct qvmi_linux_member m;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	uint64_t v;

	if (qvmi_ctx_create(&ctx))
		return 0;
	if (!qvmi__isf_load(ctx, (const char *)data, size, &isf)) {
		for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++) {
			for (size_t i = 0; i < sizeof(paths) / sizeof(*paths);
			     i++)
				qvmi__isf_member(ctx, isf, types[t], paths[i],
						 &m);
			qvmi__isf_type_size(ctx, isf, types[t], &v);
		}
		qvmi__isf_type_size(ctx, isf, "int", &v);
		qvmi__isf_sym(isf, "init_task", &v);
		qvmi__isf_free(isf);
	}
	qvmi_ctx_destroy(ctx);
	return 0;
}
