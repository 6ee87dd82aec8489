// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the Linux views over random guest memory with a synthetic BTF
 * (tests/lib/fake-kernel.c, compiled in here because fuzz targets link
 * only libqvmi.a).  Input: byte 0 picks the layout variant, FK_NEW or
 * FK_OLD (task-walk32.c fixes FK_I386 instead and has no such byte); the
 * rest is copied over the kernel image from init_task on and over the
 * start of the direct-map heap, so list links, maple nodes and ring
 * indices are all attacker-chosen.  Every walk must end (budgets, cycle
 * checks) without a crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/fake-kernel.c"

#include "views-run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_MEM = 4 << 20, IMG_PART = 0x4000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void *btf[3];
	static uint32_t bsz[3];
	static uint8_t *mem;
	enum fk_variant v;
	struct fk k;
	size_t n;

#ifdef TASK_WALK_VARIANT
	v = TASK_WALK_VARIANT;
#else
	if (!size)
		return 0;
	v = data[0] & 1 ? FK_OLD : FK_NEW;
	data++;
	size--;
#endif
	if (!btf[v])
		btf[v] = fk_btf(v, &bsz[v]);
	if (!mem)
		mem = malloc(FUZZ_MEM);
	if (!btf[v] || !mem)
		return 0;
	memset(mem, 0, FUZZ_MEM);
	/* [init_task ...) of the image, then the heap */
	n = size < IMG_PART ? size : IMG_PART;
	memcpy(mem + FK_TEXT_PA + FK_SYM_INIT_TASK, data, n);
	if (size > n)
		memcpy(mem + FK_HEAP_PA, data + n,
		       size - n < FUZZ_MEM - FK_HEAP_PA ?
			       size - n :
			       FUZZ_MEM - FK_HEAP_PA);
	if (!fk_create_over(&k, v, mem, FUZZ_MEM, btf[v], bsz[v]))
		run_views(k.lx);
	fk_destroy(&k);
	return 0;
}
