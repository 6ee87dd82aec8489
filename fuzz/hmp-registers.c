// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the "info registers [-a|N]" parser, and its segment lines
 * (qvmi__hmp_parse_segs_cpu: selectors must fit 16 bits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_regs_x86 regs[4], one;
	struct qvmi__segs segs;
	char *text = malloc(size + 1);
	size_t n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (qvmi__hmp_parse_registers(text, regs, 4, &n) == 0 && n == 0)
		abort(); /* success means at least one vCPU */
	for (unsigned int cpu = 0; cpu < 3; cpu++)
		if (qvmi__hmp_parse_registers_cpu(text, cpu, &one) == 0 &&
		    !one.valid)
			abort();
	for (unsigned int cpu = 0; cpu < 3; cpu++)
		if (!qvmi__hmp_parse_segs_cpu(text, cpu, &segs) &&
		    (segs.cs.selector > 0xffff || segs.tr.selector > 0xffff))
			abort();
	free(text);
	return 0;
}
