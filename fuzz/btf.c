// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz BTF header validation, libbpf parsing, the in-place reader and
 * member-path lookup. */
#include <stdint.h>
#include <stdlib.h>

#include <bpf/btf.h>

#include "qvmi.h"
#include "os/linux/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "pid", "in.b",  "comm[3]",
					     "z",   "flags", "a.b.c[1]" };
	struct qvmi_linux_member m;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_btf_view *v = NULL;
	struct btf *btf = NULL;
	uint64_t sz;

	if (qvmi_ctx_create(&ctx))
		return 0;
	if (!qvmi__btf_load(ctx, data, size, &btf)) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
			qvmi__btf_member(ctx, btf, "task", paths[i], &m);
		qvmi__btf_type_size(ctx, btf, "task", &sz);
		qvmi__btf_type_size(ctx, btf, "inner_t", &sz);
		btf__free(btf);
	}
	/* the in-place reader (guest memory's BTF) over the same bytes */
	if (!qvmi__btf_view_open(ctx, data, size, &v)) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
			qvmi__btf_view_member(ctx, v, "task", paths[i], &m);
		qvmi__btf_view_type_size(ctx, v, "task", &sz);
		qvmi__btf_view_type_size(ctx, v, "inner_t", &sz);
		qvmi__btf_view_type_size(ctx, v, "long", &sz);
		qvmi__btf_view_free(v);
	}
	qvmi_ctx_destroy(ctx);
	return 0;
}
