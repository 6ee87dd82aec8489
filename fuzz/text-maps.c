// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the two user-supplied text formats: a System.map or /proc/kallsyms
 * file (first byte even) and a raw dump's memory map "GPA:SIZE[@OFF],..."
 * (first byte odd), applied to a 64 KiB raw image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/internal.h"
#include "os/linux/linux.h"
#include "source/dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_raw_map(const char *map)
{
	struct qvmi_ctx *ctx = NULL;
	int fd = memfd_create("fuzz-raw", MFD_CLOEXEC);
	uint8_t b[16];

	if (fd < 0 || ftruncate(fd, 64 << 10) || qvmi_ctx_create(&ctx)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!qvmi__attach_raw_fd(ctx, fd, map)) /* takes fd */
		qvmi_read_pa(ctx, 0, b, sizeof(b));
	qvmi_ctx_destroy(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_ksyms s;
	char *text;

	if (!size || qvmi_ctx_create(&ctx))
		return 0;
	text = malloc(size);
	if (!text) {
		qvmi_ctx_destroy(ctx);
		return 0;
	}
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		fuzz_raw_map(text);
	} else if (!qvmi__ksyms_parse_map(ctx, text, size - 1, &s)) {
		qvmi__ksyms_free(&s);
	}
	free(text);
	qvmi_ctx_destroy(ctx);
	return 0;
}
