// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Large buffers of a cold attach (the kallsyms window, the decoded symbol
 * table and its index, the kernel's BTF): megabytes written once, then
 * read all over.  They are mapped populated, on transparent huge pages
 * where the host allows (madvise mode is the common default).
 *
 * Why huge pages: every 4 KiB page a process touches for the first time
 * costs it a page fault, or with MAP_POPULATE at least a page-table entry
 * that the CPU (and, in a VM, the hypervisor's shadow or nested tables)
 * fills on first access.  Measured on the 2-vCPU host of BENCHMARKS.md,
 * for a 4.3 MB buffer filled by pread and then read once at a 64-byte
 * stride: 4 KiB pages populated by MAP_POPULATE 1.0 + 6.0 + 5.5 ms
 * (map, fill, read); 2 MiB pages 0.3 + 0.5 + 0.2 ms.  The price is up to
 * 2 MiB of rounding per buffer, which a cold attach easily affords.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "linux.h"

enum {
	HUGE_SIZE = 2 << 20,
	HUGE_MIN = 256 << 10, /* smaller buffers stay on 4 KiB pages */
	PAGE = 4096,
};

/* Bytes really mapped for a request of n (free needs the same n). */
static size_t big_len(size_t n)
{
	size_t a = n >= HUGE_MIN ? HUGE_SIZE : PAGE;

	return n > SIZE_MAX - a ? 0 : (n + a - 1) & ~(a - 1);
}

/* len bytes (a multiple of 2 MiB) at a 2 MiB boundary, asked to be huge
 * and populated; NULL where that cannot be done (no MADV_POPULATE_WRITE
 * before Linux 5.14: the caller then populates the plain way). */
static void *huge_alloc(size_t len)
{
	size_t span = len + HUGE_SIZE, head;
	uint8_t *m, *p;

	if (span < len)
		return NULL;
	m = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)m + HUGE_SIZE - 1) &
			~(uintptr_t)(HUGE_SIZE - 1));
	head = (size_t)(p - m);
	if (head)
		munmap(m, head);
	if (span - head > len)
		munmap(p + len, span - head - len);
	/* Without THP (mode "never") this is refused and the populate
	 * below maps 4 KiB pages: what MAP_POPULATE did. */
	(void)madvise(p, len, MADV_HUGEPAGE);
	if (madvise(p, len, MADV_POPULATE_WRITE)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

void *qvmi__lx_big_alloc(size_t n)
{
	size_t len = big_len(n);
	void *p;

	if (!n || !len)
		return NULL;
	if (len >= HUGE_SIZE && (p = huge_alloc(len)))
		return p;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void qvmi__lx_big_free(void *p, size_t n)
{
	if (p)
		munmap(p, big_len(n));
}
