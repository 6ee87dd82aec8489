// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A dump's memory indexed by guest-physical address.  Dump files may name
 * one physical page more than once: a kexec-style ELF (/proc/vmcore) has a
 * PT_LOAD for the kernel image that overlaps a RAM PT_LOAD, and QEMU's
 * dump-guest-memory with paging=true writes one PT_LOAD per virtual
 * mapping (thousands, most pointing at the same file data).  The segment
 * map wants few, disjoint ranges, so the pieces are sorted by address, the
 * parts an earlier piece covers are dropped, and neighbours that continue
 * each other (in the address and in the file) are joined.
 */
#include <stdlib.h>

#include "source/dump.h"

static int cmp_piece(const void *a, const void *b)
{
	const struct qvmi__dpiece *x = a, *y = b;

	if (x->pa != y->pa)
		return x->pa < y->pa ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* b continues a: adjacent in guest-physical space and in the file (or both
 * zero-fill). */
static bool continues(const struct qvmi__dpiece *a,
		      const struct qvmi__dpiece *b)
{
	if (a->pa + a->size != b->pa || a->zero != b->zero)
		return false;
	return a->zero || a->off + a->size == b->off;
}

size_t qvmi__dump_index(struct qvmi__dpiece *p, size_t n)
{
	uint64_t end = 0; /* first address not covered yet */
	bool any = false;
	size_t i, m = 0;

	qsort(p, n, sizeof(*p), cmp_piece);
	for (i = 0; i < n; i++) {
		struct qvmi__dpiece c = p[i];

		if (!c.size)
			continue;
		if (any && c.pa < end) {
			uint64_t cut = end - c.pa;

			if (cut >= c.size)
				continue; /* wholly covered */
			c.pa += cut;
			c.size -= cut;
			if (!c.zero)
				c.off += cut;
		}
		/* callers bound pa + size below 2^63: no wrap */
		end = c.pa + c.size;
		any = true;
		if (m && continues(&p[m - 1], &c))
			p[m - 1].size += c.size;
		else
			p[m++] = c;
	}
	return m;
}
