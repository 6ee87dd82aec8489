// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fuzz the answer memo file (src/os/linux/memo.c): load, then ask every
 * question it holds and a few it may not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qvmi.h"
#include "os/linux/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* memo.c's body checksum (FNV-1a 64), recomputed so that mutations reach
 * the record parser instead of stopping at the hash. */
static void fix_hash(uint8_t *b, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (size < 32 || memcmp(b, "QVMIMEMO", 8))
		return;
	for (size_t i = 32; i < size; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	memcpy(b + 24, &h, 8);
}

static void ask_all(struct qvmi_linux *lx)
{
	struct qvmi_linux_member m;
	uint64_t v;

	for (size_t i = 0; i < lx->memo.n; i++) {
		const struct qvmi_lx_memo_ent *e = &lx->memo.e[i];

		if (e->kind == QVMI_MEMO_SYM)
			qvmi__memo_sym(lx, e->k1, &v);
		else if (e->kind == QVMI_MEMO_SIZE)
			qvmi__memo_size(lx, e->k1, &v);
		else if (qvmi__memo_member(lx, e->k1, e->k2, &m) == 0)
			(void)strlen(m.type_name);
	}
	qvmi__memo_sym(lx, "init_task", &v);
	qvmi__memo_member(lx, "task_struct", "comm", &m);
	qvmi__memo_size(lx, "task_struct", &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_linux *lx = calloc(1, sizeof(*lx));
	uint8_t *copy = malloc(size + 1);
	FILE *f;

	if (!path[0]) {
		int fd;

		snprintf(path, sizeof(path), "/tmp/qvmi-fuzz-memo-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	if (!lx || !copy || qvmi_ctx_create(&lx->ctx)) {
		free(lx);
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	if (size && (data[0] & 1)) /* half the inputs keep their hash */
		fix_hash(copy, size);
	f = fopen(path, "wb");
	if (f) {
		fwrite(copy, 1, size, f);
		fclose(f);
		lx->text_va = 0xffffffff81000000ull;
		snprintf(lx->memo.path, sizeof(lx->memo.path), "%s", path);
		if (!qvmi__memo_load(lx))
			ask_all(lx);
		/* Answers added after a load must keep working too. */
		qvmi__memo_put_sym(lx, "fuzz_sym", 0, 0xffffffff81001000ull);
		qvmi__memo_put_size(lx, "fuzz_type", -ENOENT, 0);
		ask_all(lx);
	}
	qvmi__memo_free(&lx->memo);
	qvmi_ctx_destroy(lx->ctx);
	free(lx);
	free(copy);
	return 0;
}
