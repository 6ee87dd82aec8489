// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the "info mtree -f" parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_mtree_range *r;
	char *text = malloc(size + 1);
	size_t n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (qvmi__hmp_parse_mtree(text, &r, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (r[i].last < r[i].start || !r[i].name[0] ||
			    strlen(r[i].kind) >= sizeof(r[i].kind))
				abort();
		free(r);
	}
	free(text);
	return 0;
}
