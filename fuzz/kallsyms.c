// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the kallsyms table finder/decoder and the System.map parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qvmi.h"
#include "os/linux/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char anchor[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_kallsyms_layout l;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_ksyms s;
	uint64_t hint = UINT64_MAX;

	if (qvmi_ctx_create(&ctx))
		return 0;
	if (!qvmi__kallsyms_parse(ctx, data, size, &s, &l)) {
		if (s.n) {
			qvmi__ksyms_find(&s, qvmi__ksym_name(&s, &s.syms[0]));
			qvmi__ksyms_lookup(&s, s.syms[s.n - 1].addr + 1);
		}
		qvmi__ksyms_free(&s);
	}
	/* The scan's own anchor first (kernel.c): hint the last digit run,
	 * so the hinted one and the ones the scan meets before it differ. */
	for (const uint8_t *p = data, *h;
	     size &&
	     (h = memmem(p, size - (size_t)(p - data), anchor, sizeof(anchor)));
	     p = h + 1)
		hint = (uint64_t)(h - data);
	if (hint < size &&
	    !qvmi__kallsyms_parse_at(ctx, data, size, hint, &s, &l)) {
		if (s.n)
			qvmi__ksyms_find(&s, qvmi__ksym_name(&s, &s.syms[0]));
		qvmi__ksyms_free(&s);
	}
	if (!qvmi__ksyms_parse_map(ctx, (const char *)data, size, &s)) {
		qvmi__ksyms_lookup(&s, 0xffffffff81000000ull);
		qvmi__ksyms_free(&s);
	}
	qvmi_ctx_destroy(ctx);
	return 0;
}
