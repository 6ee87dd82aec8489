// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the Volatility ISF loader and member-path lookups over what it
 * accepts.  Oracle: whenever the reference load (every symbol through
 * json-c) accepts the input, the loader with isf-syms.c accepts it too and
 * answers every symbol and the count alike. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>

#include "qvmi.h"
#include "os/linux/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void same_symbols(struct qvmi_ctx *ctx, const char *text, size_t size,
			 struct qvmi_isf *fast)
{
	struct qvmi_isf *ref = NULL;
	struct json_object *root, *syms = NULL;
	struct json_tokener *tok;

	if (qvmi__isf_load_ex(ctx, text, size, true, &ref))
		return;
	must(fast != NULL);
	must(qvmi__isf_nsyms(fast) == qvmi__isf_nsyms(ref));
	tok = json_tokener_new();
	root = tok ? json_tokener_parse_ex(tok, text, (int)size) : NULL;
	if (root && json_object_object_get_ex(root, "symbols", &syms)) {
		json_object_object_foreach(syms, name, val)
		{
			uint64_t a = 1, b = 2;
			int ea = qvmi__isf_sym(fast, name, &a);
			int eb = qvmi__isf_sym(ref, name, &b);

			(void)val;
			must(ea == eb && (ea || a == b));
		}
	}
	json_object_put(root);
	json_tokener_free(tok);
	qvmi__isf_free(ref);
}

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
	qvmi__isf_load(ctx, (const char *)data, size, &isf);
	same_symbols(ctx, (const char *)data, size, isf);
	if (isf) {
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
