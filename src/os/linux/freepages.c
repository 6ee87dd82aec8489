// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Free pages of a Linux guest, found as makedumpfile finds them for -d 16
 * (makedumpfile.c __exclude_unnecessary_pages, the "page_type" method):
 * the head page of each free block of the buddy allocator is marked in its
 * struct page, and page.private holds the block's order.
 *
 * The mark lives in page_type, which shares its word with _mapcount, and
 * VMCOREINFO gives its value (kernel/crash_core.c, vmcore_info.c from
 * 6.9):
 *   - up to 4.17, _mapcount == -128 (PAGE_BUDDY_MAPCOUNT_VALUE);
 *   - from 4.18 ("mm: split page_type out from _mapcount"), page_type ==
 *     ~PG_buddy (-129 on 6.1), the whole word compared, as makedumpfile
 *     1.7.2 does;
 *   - later page_type keeps the type in the top byte (PGTY_buddy << 24,
 *     "mm: support only one page_type per page") and the low 24 bits are
 *     the type's own: a value with its low 24 bits clear is compared on
 *     the top byte only.
 * The struct pages are read once, in chunks, from the memory map at
 * vmemmap_base (x86_64 SPARSEMEM_VMEMMAP: struct page of pfn p at
 * vmemmap_base + p * SIZE(page)).
 */
#include <stdlib.h>
#include <string.h>

#include "freepages.h"
#include "kernel-int.h"
#include "views.h"

/* Struct pages per read: 512 pfns (a 2 MiB subsection, the unit of
 * vmemmap population) never straddle a present and an absent section. */
enum { CHUNK = 512 };

static int vmci_u32(const char *vmci, const char *key, uint32_t max,
		    uint32_t *ret)
{
	uint64_t v;
	int err = qvmi__vmci_u64(vmci, key, 10, &v);

	if (err)
		return err;
	if (v > max)
		return -EBADMSG;
	*ret = (uint32_t)v;
	return 0;
}

int qvmi__buddy_from_vmci(const char *vmci, uint32_t ulong_size,
			  struct qvmi__buddy *ret)
{
	struct qvmi__buddy b = { .ulong_size = ulong_size };
	int64_t v;
	int err;

	if (!vmci || (ulong_size != 4 && ulong_size != 8))
		return -EINVAL;
	err = vmci_u32(vmci, "SIZE(page)", 1024, &b.page_size);
	if (!err)
		err = vmci_u32(vmci, "OFFSET(page._mapcount)", 1024,
			       &b.mapcount_off);
	if (!err)
		err = vmci_u32(vmci, "OFFSET(page.private)", 1024,
			       &b.private_off);
	if (!err)
		err = qvmi__vmci_num(vmci, "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)",
				     &v);
	if (err)
		return err;
	/* an int (negative), or its bits as an unsigned int */
	if (v < INT32_MIN || v > (int64_t)UINT32_MAX)
		return -EBADMSG;
	b.value = (uint32_t)v;
	b.mask = b.value & 0xffffff ? 0xffffffffu : 0xff000000u;
	/* every form of the mark is a negative int: a page in use has a
	 * _mapcount of -1 or more, or a type */
	if (!(b.value & 0x80000000u) || b.value == 0xffffffffu ||
	    b.page_size < 8 || b.mapcount_off > b.page_size - 4 ||
	    b.private_off > b.page_size - ulong_size)
		return -EBADMSG;
	*ret = b;
	return 0;
}

/* The free block whose head is the struct page at s: its order, or -1. */
static int head_order(const struct qvmi__buddy *b, const uint8_t *s,
		      uint64_t pfn)
{
	uint32_t type;
	uint64_t order = 0;

	memcpy(&type, s + b->mapcount_off, 4);
	if ((type & b->mask) != b->value)
		return -1;
	memcpy(&order, s + b->private_off, b->ulong_size);
	if (order > QVMI__BUDDY_MAX_ORDER || pfn & ((1ull << order) - 1))
		return -1; /* not a block the allocator could make */
	return (int)order;
}

static uint64_t mark(uint8_t *bm, uint64_t nbits, uint64_t pfn, uint64_t end)
{
	uint64_t n = 0;

	for (; pfn < end && pfn < nbits; pfn++, n++)
		bm[pfn >> 3] |= (uint8_t)(1u << (pfn & 7));
	return n;
}

int qvmi__buddy_scan(const struct qvmi__buddy *b, uint64_t first, uint64_t end,
		     qvmi__buddy_read_fn read, void *arg, uint8_t *bm,
		     uint64_t nbits, uint64_t *nfree)
{
	uint8_t *buf = malloc((size_t)CHUNK * b->page_size);
	uint64_t pfn = first, skip = first;
	int err = 0;

	*nfree = 0;
	if (!buf)
		return -ENOMEM;
	while (pfn < end && !err) {
		uint64_t next = QVMI_MIN((pfn | (CHUNK - 1)) + 1, end);
		size_t n = (size_t)(next - pfn);

		err = read(arg, pfn, buf, n);
		if (err == -EFAULT)
			err = 0; /* no memory map here: keep the pages */
		else if (!err)
			for (size_t i = 0; i < n; i++) {
				uint64_t p = pfn + i, bend;
				int o;

				if (p < skip)
					continue; /* inside the last block */
				o = head_order(b, buf + i * b->page_size, p);
				if (o < 0)
					continue;
				bend = QVMI_MIN(p + (1ull << o), end);
				*nfree += mark(bm, nbits, p, bend);
				skip = bend;
			}
		pfn = QVMI_MAX(next, skip);
	}
	free(buf);
	return err;
}

struct lx_read {
	struct qvmi_linux *lx;
	uint32_t page_size;
};

static int read_memmap(void *arg, uint64_t pfn, void *buf, size_t n)
{
	struct lx_read *r = arg;

	return qvmi__lx_kread(r->lx, r->lx->vmemmap_base + pfn * r->page_size,
			      buf, n * r->page_size);
}

int qvmi__linux_free_pages(struct qvmi_linux *lx, const char *vmci,
			   uint64_t first, uint64_t end, uint8_t *bm,
			   uint64_t nbits, uint64_t *nfree)
{
	struct qvmi__buddy b;
	struct lx_read r = { lx, 0 };
	int err;

	*nfree = 0;
	if (qvmi__lx_is32(lx) || !lx->vmemmap_base)
		return qvmi__err(lx->ctx, -EOPNOTSUPP,
				 "free pages: x86_64 (vmemmap) kernels only");
	/* MAX_PHYSMEM_BITS is 52 at most: pfn * SIZE(page) cannot wrap */
	if (first > end || end > (1ull << 40))
		return qvmi__err(lx->ctx, -EINVAL,
				 "free pages: pfn range out of bounds");
	err = qvmi__buddy_from_vmci(vmci, 8, &b);
	if (err)
		return qvmi__err(lx->ctx, err,
				 "free pages: VMCOREINFO lacks a usable %s",
				 err == -ENOENT ? "SIZE(page), OFFSET(page."
						  "_mapcount), OFFSET(page."
						  "private) or NUMBER(PAGE_"
						  "BUDDY_MAPCOUNT_VALUE)" :
						  "struct page layout");
	r.page_size = b.page_size;
	err = qvmi__buddy_scan(&b, first, end, read_memmap, &r, bm, nbits,
			       nfree);
	if (err == -ENOMEM)
		return qvmi__err(lx->ctx, err, "out of memory");
	return err;
}

int qvmi__linux_max_pfn(struct qvmi_linux *lx, uint64_t *ret)
{
	uint64_t va, v;
	int err = qvmi_linux_sym_addr(lx, "max_pfn", &va);

	if (!err)
		err = qvmi__lx_kread_ptr(lx, va, &v);
	if (err)
		return err;
	if (v < (16ull << 20) / QVMI_PAGE_SIZE || v >= 1ull << 52)
		return qvmi__err(lx->ctx, -EBADMSG,
				 "max_pfn 0x%" PRIx64 " is not a RAM size", v);
	*ret = v;
	return 0;
}
