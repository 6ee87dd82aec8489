// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The page-table walker over a random memory blob.  Header (18 bytes):
 *   [0]     bits 0-1 mode (32-bit, PAE, 4-level, 5-level), bit 2 CR4.PSE,
 *           bit 3 EFER.NXE, bit 4 map the blob as shared RAM (host
 *           pointer) instead of a source, bit 5 cache mode TRUST
 *   [1]     MAXPHYADDR = 32 + [1] % 21
 *   [2..9]  CR3, little-endian
 *   [10..17] VA, little-endian
 * The rest is guest-physical memory from 0.  Every walk must end, every
 * read must stay inside the blob (the source traps otherwise) and a
 * translation must be self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qvmi.h"
#include "arch/x86-paging.h"
#include "core/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HDR = 18, MAX_RANGES = 4096 };

struct blob {
	uint8_t *mem;
	size_t size;
};

static int blob_read(struct qvmi_source *s, uint64_t addr, void *buf,
		     size_t len)
{
	struct blob *b = qvmi_source_priv(s);

	/* The segment map must never ask for more than was registered. */
	if (addr > b->size || len > b->size - addr)
		__builtin_trap();
	memcpy(buf, b->mem + addr, len);
	return 0;
}

static const struct qvmi_source_ops blob_ops = { "blob", blob_read, NULL,
						 NULL };

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int count_ranges(const struct qvmi_page_range *r, void *arg)
{
	unsigned int *n = arg;

	if (!r->size || !r->page_size || r->size % r->page_size)
		__builtin_trap();
	return ++*n >= MAX_RANGES;
}

static void check(const struct qvmi_translation *t, uint64_t va)
{
	uint64_t ps = t->page_size;

	if (ps != 1ull << 12 && ps != 1ull << 21 && ps != 1ull << 22 &&
	    ps != 1ull << 30)
		__builtin_trap();
	if ((t->pa ^ va) & (ps - 1) || t->levels < 1 || t->levels > 5)
		__builtin_trap();
}

static void run(struct qvmi_ctx *ctx, const uint8_t *hdr)
{
	uint64_t cr3 = le64(hdr + 2), va = le64(hdr + 10);
	struct qvmi_translation t, t2;
	unsigned int n = 0;
	char str[64];
	uint8_t buf[32];

	if (!qvmi_translate_ex(ctx, cr3, va, &t)) {
		check(&t, va);
		/* a second time, maybe from the cache: the same answer */
		if (qvmi_translate_ex(ctx, cr3, va, &t2) || t2.pa != t.pa ||
		    t2.page_size != t.page_size || t2.flags != t.flags)
			__builtin_trap();
	}
	qvmi_read_va(ctx, cr3, va, buf, sizeof(buf));
	qvmi_read_str_va(ctx, cr3, va, str, sizeof(str));
	/* A small table budget keeps hostile hierarchies fast. */
	qvmi__pages_walk(ctx, cr3, count_ranges, &n, 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t cr4[] = { 0, 0x20, 0x20, 0x1020 };
	struct qvmi_regs_x86 r = { .valid = QVMI_REGS_CR };
	struct qvmi_source *src;
	struct qvmi_ctx *ctx;
	struct blob b;
	int err = 0;

	if (size < HDR)
		return 0;
	b.size = size - HDR;
	b.mem = malloc(b.size ? b.size : 1);
	if (!b.mem || qvmi_ctx_create(&ctx)) {
		free(b.mem);
		return 0;
	}
	memcpy(b.mem, data + HDR, b.size);
	r.cr0 = 0x80000011;
	r.cr4 = cr4[data[0] & 3] | ((data[0] & 4) ? 0x10 : 0);
	r.efer = ((data[0] & 3) >= 2 ? 0x500 : 0) | ((data[0] & 8) ? 0x800 : 0);
	if (qvmi_set_paging_regs(ctx, &r) ||
	    qvmi_set_maxphyaddr(ctx, 32 + data[1] % 21))
		__builtin_trap();
	if (data[0] & 0x20)
		qvmi_cache_set_mode(ctx, QVMI_CACHE_TRUST);
	if (b.size) {
		err = qvmi_source_create(ctx, &blob_ops, &b, 0, &src);
		if (!err)
			err = (data[0] & 0x10) ?
				      qvmi__map_add_host(ctx, src, 0, b.size, 0,
							 b.mem) :
				      qvmi_map_add(ctx, src, 0, b.size, 0);
	}
	if (!err)
		run(ctx, data);
	qvmi_ctx_destroy(ctx);
	free(b.mem);
	return 0;
}
