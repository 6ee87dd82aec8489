// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the Linux views of a 32-bit (i386) kernel over random guest memory
 * with a synthetic BTF of 4-byte pointers and longs (FK_I386 of
 * tests/lib/fake-kernel.c, compiled in here because fuzz targets link
 * only libqvmi.a).  Input: copied over the kernel image from init_task on
 * and over the start of the direct-map heap, so list links, 32-slot maple
 * nodes and ring indices (30-bit ids) are all attacker-chosen.  Every walk
 * must end (budgets, cycle checks) without a crash or leak.
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
	static void *btf;
	static uint32_t bsz;
	static uint8_t *mem;
	struct fk k;
	size_t n;

	if (!btf)
		btf = fk_btf(FK_I386, &bsz);
	if (!mem)
		mem = malloc(FUZZ_MEM);
	if (!btf || !mem)
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
	if (!fk_create_over(&k, FK_I386, mem, FUZZ_MEM, btf, bsz))
		run_views(k.lx);
	fk_destroy(&k);
	return 0;
}
