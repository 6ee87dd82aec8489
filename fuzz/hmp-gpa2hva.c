// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the "gpa2hva" and "xp /Nxb" parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t addrs[] = { 0, 0x1000000, 0xfffffff0,
					  0x1ffffff8 };
	uint8_t buf[256];
	char *text = malloc(size + 1);
	uint64_t hva;
	size_t done;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	qvmi__hmp_parse_gpa2hva(text, &hva);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		for (size_t len = 0; len <= sizeof(buf); len += 32) {
			int err = qvmi__hmp_parse_xp_partial(text, addrs[i],
							     buf, len, &done);

			if (done > len || (err == 0 && done != len))
				abort();
		}
	}
	free(text);
	return 0;
}
