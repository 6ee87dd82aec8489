// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the kallsyms table finder/decoder and the System.map parser. */
#include <stdint.h>
#include <stdlib.h>

#include "qvmi.h"
#include "os/linux/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_kallsyms_layout l;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_ksyms s;

	if (qvmi_ctx_create(&ctx))
		return 0;
	if (!qvmi__kallsyms_parse(ctx, data, size, &s, &l)) {
		if (s.n) {
			qvmi__ksyms_find(&s, qvmi__ksym_name(&s, &s.syms[0]));
			qvmi__ksyms_lookup(&s, s.syms[s.n - 1].addr + 1);
		}
		qvmi__ksyms_free(&s);
	}
	if (!qvmi__ksyms_parse_map(ctx, (const char *)data, size, &s)) {
		qvmi__ksyms_lookup(&s, 0xffffffff81000000ull);
		qvmi__ksyms_free(&s);
	}
	qvmi_ctx_destroy(ctx);
	return 0;
}
