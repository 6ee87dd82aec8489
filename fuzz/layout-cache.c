// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the attach layout cache's file parser (src/core/layout-cache.c):
 * every accepted file must have its ranges in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach/layout-cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_layout *l = malloc(sizeof(*l));
	char *buf = malloc(size + 1);

	if (l && buf) {
		memcpy(buf, data, size);
		buf[size] = '\0';
		if (!qvmi__layout_parse(buf, l)) {
			if (!l->n || l->n > QVMI_LAYOUT_MAX_RANGES ||
			    l->pid <= 0 || !memchr(l->sock, 0, sizeof(l->sock)))
				abort();
			for (size_t i = 0; i < l->n; i++)
				if (!l->r[i].size ||
				    l->r[i].gpa + (l->r[i].size - 1) <
					    l->r[i].gpa)
					abort();
		}
	}
	free(buf);
	free(l);
	return 0;
}
