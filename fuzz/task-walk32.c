// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the Linux views of a 32-bit (i386) kernel over random guest memory
 * with a synthetic BTF of 4-byte pointers and longs
 * (tests/lib/fake-kernel32.c, compiled in here because fuzz targets link
 * only libqvmi.a).  Input: copied over the kernel image from init_task on
 * and over the start of the direct-map heap, so list links, 32-slot maple
 * nodes and ring indices (30-bit ids) are all attacker-chosen.  Every walk
 * must end (budgets, cycle checks) without a crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/fake-kernel32.c"

#include "views-run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { IMG_PART = 0x4000, IMG_PA = 0x100000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void *btf;
	static uint32_t bsz;
	static uint8_t *mem;
	struct k32 k;
	size_t n;

	if (!btf)
		btf = k32_btf(&bsz);
	if (!mem)
		mem = malloc(K32_MEM);
	if (!btf || !mem)
		return 0;
	memset(mem, 0, K32_MEM);
	/* [init_task ...) of the image, then the heap */
	n = size < IMG_PART ? size : IMG_PART;
	memcpy(mem + IMG_PA + S_INIT_TASK, data, n);
	if (size > n)
		memcpy(mem + K32_HEAP_PA, data + n,
		       size - n < K32_MEM - K32_HEAP_PA ?
			       size - n :
			       K32_MEM - K32_HEAP_PA);
	if (!k32_create_over(&k, mem, btf, bsz, 0))
		run_views(k.lx);
	k32_destroy(&k);
	return 0;
}
