// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the free-page finder of kdump's dump level 16
 * (src/os/linux/freepages.c): the input is VMCOREINFO text, a NUL, then
 * a memory map (struct pages from pfn 0).  The layout comes from the
 * text; the scan runs over the map, its read failing with -EFAULT past
 * the map's end.  Oracles: an accepted layout fits its struct page, the
 * count is the number of bits set, and no bit is set outside [first,
 * end) or the bitmap.  Seeds: the demo guest's (Debian 6.1.0-57-amd64)
 * VMCOREINFO with 4096 of its struct pages from a paused dump (pfn 0 on,
 * pfn 65536 on), the same turned to the top-byte form, and a VMCOREINFO
 * without the layout.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "os/linux/freepages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NBITS = 8192 };

struct map {
	const uint8_t *p;
	size_t len, psz;
};

static int map_read(void *arg, uint64_t pfn, void *buf, size_t n)
{
	struct map *m = arg;

	if (pfn > m->len / m->psz || n > m->len / m->psz - pfn)
		return -EFAULT;
	memcpy(buf, m->p + pfn * m->psz, n * m->psz);
	return 0;
}

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bm[NBITS / 8 + 1];
	const uint8_t *nul = memchr(data, 0, size);
	struct qvmi__buddy b;
	struct map m;
	uint64_t n, set = 0, first;
	char *text;

	if (!nul || size > (4u << 20))
		return 0;
	text = strndup((const char *)data, (size_t)(nul - data));
	if (!text)
		return 0;
	if (!qvmi__buddy_from_vmci(text, 8, &b)) {
		must(b.page_size >= 8 && b.page_size <= 1024);
		must(b.mapcount_off + 4 <= b.page_size);
		must(b.private_off + 8 <= b.page_size);
		m = (struct map){ nul + 1, size - (size_t)(nul + 1 - data),
				  b.page_size };
		first = m.len ? m.p[0] % 64 : 0;
		memset(bm, 0, sizeof(bm));
		if (!qvmi__buddy_scan(&b, first, NBITS + 64, map_read, &m, bm,
				      NBITS, &n)) {
			for (uint64_t p = 0; p < sizeof(bm) * 8; p++)
				if (bm[p >> 3] >> (p & 7) & 1) {
					must(p >= first && p < NBITS);
					set++;
				}
			must(set == n);
		}
	}
	free(text);
	return 0;
}
