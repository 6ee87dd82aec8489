// SPDX-License-Identifier: LGPL-2.1-or-later
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testdata.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long sz;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || sz > (64 << 20))
		goto out;
	rewind(f);
	buf = malloc((size_t)sz + 1);
	if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		free(buf);
		buf = NULL;
	}
	if (buf) {
		buf[sz] = '\0';
		if (len)
			*len = (size_t)sz;
	}
out:
	fclose(f);
	return buf;
}

char *qvmi_test_data(const char *rel, size_t *len)
{
	char path[4096], exe[4096];
	ssize_t n;
	char *buf;

	snprintf(path, sizeof(path), "tests/unit/data/%s", rel);
	buf = slurp(path, len);
	if (buf)
		return buf;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../tests/unit/data/%s", dirname(exe),
		 rel);
	return slurp(path, len);
}
