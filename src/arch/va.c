// SPDX-License-Identifier: LGPL-2.1-or-later
/* Guest-virtual translation, reads and writes over the page-table walker. */
#include <endian.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86-paging.h"

/* State of one public call: the cache decision is taken once, up front. */
struct va_call {
	struct qvmi_arch *a;
	bool cache;
};

static int va_begin(struct qvmi_ctx *ctx, struct va_call *c, uint64_t dtb)
{
	int err = qvmi__paging_ready(ctx, &c->a);

	if (err)
		return err;
	c->cache = c->a->cfg.mode != QVMI_PAGING_NONE &&
		   qvmi__tlb_begin(ctx, c->a, dtb);
	return 0;
}

static int xlate(struct qvmi_ctx *ctx, struct va_call *c, uint64_t dtb,
		 uint64_t va, struct qvmi_translation *ret)
{
	int err;

	if (c->a->cfg.mode == QVMI_PAGING_NONE) {
		ret->va = ret->pa = va;
		ret->page_size = QVMI_PAGE_SIZE;
		ret->leaf = 0;
		ret->flags = QVMI_PTE_W | QVMI_PTE_U;
		ret->levels = 0;
		return 0;
	}
	if (c->cache && qvmi__tlb_lookup(ctx, c->a, dtb, va, ret))
		return 0;
	err = qvmi__x86_walk(ctx, c->a, c->cache, dtb, va, ret);
	if (!err && c->cache)
		qvmi__tlb_fill(ctx, c->a, dtb, ret);
	return err;
}

QVMI_API int qvmi_translate_ex(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			       struct qvmi_translation *ret)
{
	struct va_call c;
	int err;

	if (!ret)
		return qvmi__err(ctx, -EINVAL, "translate: NULL output");
	err = va_begin(ctx, &c, dtb);
	if (err)
		return err;
	return xlate(ctx, &c, dtb, va, ret);
}

QVMI_API int qvmi_translate(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			    uint64_t *ret)
{
	struct qvmi_translation t;
	int err;

	if (!ret)
		return qvmi__err(ctx, -EINVAL, "translate: NULL output");
	err = qvmi_translate_ex(ctx, dtb, va, &t);
	if (!err)
		*ret = t.pa;
	return err;
}

/* A physical access behind va failed: report the virtual address. */
static int pa_failed(struct qvmi_ctx *ctx, int err, uint64_t va,
		     const struct qvmi_translation *t)
{
	uint64_t pa;

	if (err != -EFAULT)
		return err;
	pa = ctx->fault_addr;
	if (pa < t->pa || pa - t->pa >= t->page_size)
		pa = t->pa;
	ctx->fault_addr = va + (pa - t->pa);
	snprintf(ctx->errmsg, sizeof(ctx->errmsg),
		 "no memory behind virtual 0x%" PRIx64 " (physical 0x%" PRIx64
		 ")",
		 ctx->fault_addr, pa);
	return err;
}

static int range_ok(struct qvmi_ctx *ctx, uint64_t va, size_t len)
{
	if (len && va + (len - 1) < va)
		return qvmi__err(ctx, -EINVAL,
				 "range at 0x%" PRIx64 " wraps past 2^64", va);
	return 0;
}

/* Run op over [va, va + len) one page (of any size) at a time. */
static int va_access(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
		     uint8_t *buf, size_t len, bool write)
{
	struct qvmi_translation t;
	struct va_call c;
	int err = range_ok(ctx, va, len);

	if (!buf && len)
		return qvmi__err(ctx, -EINVAL, "NULL buffer");
	if (!err)
		err = va_begin(ctx, &c, dtb);
	while (!err && len) {
		size_t n;

		err = xlate(ctx, &c, dtb, va, &t);
		if (err)
			break;
		n = (size_t)QVMI_MIN((uint64_t)len,
				     t.page_size - (va & (t.page_size - 1)));
		err = write ? qvmi_write_pa(ctx, t.pa, buf, n) :
			      qvmi_read_pa(ctx, t.pa, buf, n);
		if (err)
			return pa_failed(ctx, err, va, &t);
		buf += n;
		va += n;
		len -= n;
	}
	return err;
}

QVMI_API int qvmi_read_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			  void *buf, size_t len)
{
	return va_access(ctx, dtb, va, buf, len, false);
}

QVMI_API int qvmi_write_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			   const void *buf, size_t len)
{
	/* The buffer is only read on this path. */
	return va_access(ctx, dtb, va, (uint8_t *)(uintptr_t)buf, len, true);
}

QVMI_API int qvmi_read_str_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      char *buf, size_t size)
{
	struct qvmi_translation t;
	struct va_call c;
	size_t limit, done = 0;
	int err;

	if (!buf || !size)
		return qvmi__err(ctx, -EINVAL, "read_str: empty buffer");
	buf[0] = '\0';
	/* Up to size bytes: a string of exactly size - 1 fits with its NUL. */
	limit = QVMI_MIN(size, (size_t)INT_MAX);
	if (va + (limit - 1) < va) /* stop at 2^64 */
		limit = (size_t)(0 - va);
	err = va_begin(ctx, &c, dtb);
	while (!err && done < limit) {
		uint64_t at = va + done;
		/* Never past the next 4 KiB boundary: the rest may be
		 * unmapped, and a large page need not be read whole. */
		size_t n = QVMI_MIN(limit - done,
				    (size_t)(QVMI_PAGE_SIZE - (at & 0xfff)));
		const char *nul;

		err = xlate(ctx, &c, dtb, at, &t);
		if (!err) {
			err = qvmi_read_pa(ctx, t.pa, buf + done, n);
			if (err)
				err = pa_failed(ctx, err, at, &t);
		}
		if (err) {
			buf[done] = '\0';
			return err;
		}
		nul = memchr(buf + done, '\0', n);
		if (nul)
			return (int)(nul - buf);
		done += n;
	}
	if (err)
		return err;
	buf[done - 1] = '\0';
	return qvmi__err(ctx, -E2BIG,
			 "string at 0x%" PRIx64 " longer than %zu bytes", va,
			 done - 1);
}

QVMI_API int qvmi_read_u8_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			     uint8_t *ret)
{
	return qvmi_read_va(ctx, dtb, va, ret, 1);
}

QVMI_API int qvmi_read_u16_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      uint16_t *ret)
{
	uint16_t v;
	int err = qvmi_read_va(ctx, dtb, va, &v, sizeof(v));

	if (!err)
		*ret = le16toh(v);
	return err;
}

QVMI_API int qvmi_read_u32_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      uint32_t *ret)
{
	uint32_t v;
	int err = qvmi_read_va(ctx, dtb, va, &v, sizeof(v));

	if (!err)
		*ret = le32toh(v);
	return err;
}

QVMI_API int qvmi_read_u64_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      uint64_t *ret)
{
	uint64_t v;
	int err = qvmi_read_va(ctx, dtb, va, &v, sizeof(v));

	if (!err)
		*ret = le64toh(v);
	return err;
}

QVMI_API int qvmi_read_addr_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			       uint64_t *ret)
{
	enum qvmi_paging_mode mode;
	uint32_t v32;
	int err = qvmi_get_paging_mode(ctx, &mode);

	if (err)
		return err;
	if (mode == QVMI_PAGING_4LEVEL || mode == QVMI_PAGING_5LEVEL)
		return qvmi_read_u64_va(ctx, dtb, va, ret);
	err = qvmi_read_u32_va(ctx, dtb, va, &v32);
	if (!err)
		*ret = v32;
	return err;
}
