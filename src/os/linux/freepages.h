/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Free pages of a Linux guest (freepages.c), for the kdump writer's dump
 * level 16: makedumpfile -d 16 leaves out the pages the buddy allocator
 * holds free.
 */
#ifndef QVMI_OS_LINUX_FREEPAGES_H
#define QVMI_OS_LINUX_FREEPAGES_H

#include "linux.h"

/* What tells a free buddy block in a struct page, from VMCOREINFO. */
struct qvmi__buddy {
	uint32_t page_size; /* SIZE(page) */
	uint32_t mapcount_off; /* OFFSET(page._mapcount): page_type */
	uint32_t private_off; /* OFFSET(page.private): the block's order */
	uint32_t ulong_size; /* bytes of page.private */
	uint32_t value, mask; /* free head: (page_type & mask) == value */
};

/* The highest order of a buddy block on x86 (MAX_ORDER - 1 up to 6.3,
 * MAX_ORDER from 6.4, MAX_PAGE_ORDER from 6.8: 10 in each). */
enum { QVMI__BUDDY_MAX_ORDER = 10 };

/*
 * The layout from VMCOREINFO text: SIZE(page), OFFSET(page._mapcount),
 * OFFSET(page.private), NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE).  -ENOENT if
 * one is missing, -EBADMSG if one is out of range.
 */
QVMI_HIDDEN int qvmi__buddy_from_vmci(const char *vmci, uint32_t ulong_size,
				      struct qvmi__buddy *ret);

/* Read n struct pages from pfn on into buf (n * page_size bytes);
 * -EFAULT where the memory map is not backed (the pages are kept). */
typedef int (*qvmi__buddy_read_fn)(void *arg, uint64_t pfn, void *buf,
				   size_t n);

/*
 * Set bit pfn of bm (nbits bits) for every page in [first, end) that
 * belongs to a free buddy block whose head is in [first, end); *nfree
 * counts the pages set.  A head with an order above QVMI__BUDDY_MAX_ORDER
 * or not aligned to it is not trusted (its pages are kept).
 */
QVMI_HIDDEN int qvmi__buddy_scan(const struct qvmi__buddy *b, uint64_t first,
				 uint64_t end, qvmi__buddy_read_fn read,
				 void *arg, uint8_t *bm, uint64_t nbits,
				 uint64_t *nfree);

/*
 * The kernel's max_pfn (its highest page frame + 1, as e820 and mem= left
 * it), read once from its symbol: 0, or -ENOENT without the symbol (a
 * kernel without KALLSYMS_ALL and no System.map), -EBADMSG for a value
 * below 16 MiB or at or past 2^52 pages.
 */
QVMI_HIDDEN int qvmi__linux_max_pfn(struct qvmi_linux *lx, uint64_t *ret);

/* qvmi__buddy_scan over the guest's memory map (vmemmap, x86_64), the
 * layout from its VMCOREINFO text. */
QVMI_HIDDEN int qvmi__linux_free_pages(struct qvmi_linux *lx, const char *vmci,
				       uint64_t first, uint64_t end,
				       uint8_t *bm, uint64_t nbits,
				       uint64_t *nfree);

#endif
