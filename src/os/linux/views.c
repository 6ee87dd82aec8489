// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Common ground of the Linux views: reading kernel virtual memory, the
 * kernel's page table, BTF offset lookups, field sets read in a few spans,
 * and the visited-address set that turns list cycles into -ELOOP.
 */
#include <stdlib.h>
#include <string.h>

#include "views.h"

/* As in kernel.c: the direct map covers at most 64 TiB (4-level) or
 * 32 PiB (5-level) and ends below vmalloc_base. */
#define DIRECT_MAP_MAX (1ull << 55)

int qvmi__lx_views(struct qvmi_linux *lx, struct qvmi_linux_views **ret)
{
	if (!lx->views) {
		lx->views = calloc(1, sizeof(*lx->views));
		if (!lx->views)
			return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	}
	*ret = lx->views;
	return 0;
}

uint8_t *qvmi__lx_scratch_get(struct qvmi_linux *lx,
			      const struct qvmi_lx_fields *f)
{
	struct qvmi_linux_views *v = NULL;
	size_t len = f->end ? f->end : 1;
	uint8_t *b;

	if (qvmi__lx_views(lx, &v))
		return NULL;
	if (!v->scratch_busy) {
		if (len > v->scratch_len) {
			/* Grown to the largest field set read so far (a
			 * task_struct's, ~10 KB): sized from the layout. */
			b = realloc(v->scratch, len);
			if (!b) {
				qvmi__err(lx->ctx, -ENOMEM, "out of memory");
				return NULL;
			}
			v->scratch = b;
			v->scratch_len = len;
		}
		v->scratch_busy = true;
		return v->scratch;
	}
	b = malloc(len);
	if (!b)
		qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	return b;
}

void qvmi__lx_scratch_put(struct qvmi_linux *lx, uint8_t *buf)
{
	if (buf == lx->views->scratch)
		lx->views->scratch_busy = false;
	else
		free(buf);
}

void qvmi__lx_views_free(struct qvmi_linux_views *v)
{
	if (!v)
		return;
	qvmi__lx_fields_deinit(&v->task.f);
	free(v->scratch);
	free(v);
}

/* ---- kernel memory ------------------------------------------------------ */

int qvmi__lx_paging(struct qvmi_linux *lx)
{
	enum qvmi_paging_mode m;

	uint64_t pgd_size = 0;

	if (!qvmi_get_paging_mode(lx->ctx, &m))
		return 0;
	/* No registers (a raw dump): 5-level paging moves the direct map
	 * below the 4-level kernel half (0xff11... instead of 0xffff8...).
	 * i386: pgd_t is 8 bytes with PAE, 4 without. */
	if (qvmi__lx_psize(lx) == 4)
		m = !qvmi_linux_type_size(lx, "pgd_t", &pgd_size) &&
				    pgd_size == 4 ?
			    QVMI_PAGING_32 :
			    QVMI_PAGING_PAE;
	else
		m = lx->page_offset_base < 0xffff800000000000ull ?
			    QVMI_PAGING_5LEVEL :
			    QVMI_PAGING_4LEVEL;
	qvmi__log(lx->ctx, QVMI_LOG_DEBUG,
		  "linux: paging mode from the direct-map base: %s",
		  qvmi_paging_mode_name(m));
	qvmi__clear_err(lx->ctx);
	return qvmi_set_paging_mode(lx->ctx, m);
}

int qvmi__lx_kdtb(struct qvmi_linux *lx, uint64_t *ret)
{
	struct qvmi_linux_views *v = NULL;
	uint64_t mm, pgd = 0, pa = 0;
	uint32_t off;
	int err = qvmi__lx_views(lx, &v);

	if (err)
		return err;
	if (v->kdtb_done) {
		*ret = v->kdtb;
		return 0;
	}
	err = qvmi__lx_paging(lx);
	if (err)
		return err;
	/* init_mm.pgd is swapper_pg_dir (init_top_pgt on x86_64); on i386
	 * PAE it is the 32-byte PDPT that CR3 points at (page aligned for
	 * swapper_pg_dir, but the check asks only what CR3 needs). */
	if (!qvmi_linux_sym_addr(lx, "init_mm", &mm) &&
	    !qvmi__lx_off(lx, "mm_struct", "pgd", &off) &&
	    !qvmi__linux_kimage_pa(lx, mm + off, &pa) &&
	    !qvmi_read_pa(lx->ctx, pa, &pgd, qvmi__lx_psize(lx)) &&
	    !qvmi_linux_va_to_pa(lx, pgd, &pa) &&
	    !(pa & (qvmi__lx_psize(lx) == 4 ? 0x1f : 0xfff))) {
		v->kdtb = pa;
	} else if ((!qvmi_linux_sym_addr(lx, "init_top_pgt", &pgd) ||
		    !qvmi_linux_sym_addr(lx, "swapper_pg_dir", &pgd)) &&
		   !qvmi__linux_kimage_pa(lx, pgd, &pa)) {
		v->kdtb = pa;
	} else {
		return qvmi__err(lx->ctx, -ENOENT,
				 "linux: no kernel page table (init_mm.pgd, "
				 "init_top_pgt)");
	}
	qvmi__clear_err(lx->ctx);
	v->kdtb_done = true;
	*ret = v->kdtb;
	return 0;
}

int qvmi_linux_kernel_dtb(struct qvmi_linux *lx, uint64_t *ret)
{
	return qvmi__lx_kdtb(lx, ret);
}

/*
 * Guest-physical read with a fast path for the segment used last: the task
 * walk does thousands of small reads, and skipping the generic path
 * (range check, segment search, source dispatch) halves its time.
 */
static int pread(struct qvmi_linux *lx, uint64_t pa, void *buf, size_t len)
{
	struct qvmi_linux_views *v = lx->views;
	const struct qvmi_seg *seg;

	if (v && v->cold)
		return qvmi__lx_read_once(lx->ctx, pa, buf, len);
	if (v && v->host && v->host_gen == lx->ctx->flush_gen &&
	    pa >= v->host_start && len <= v->host_last - pa + 1 &&
	    len < QVMI_BULK_MIN && pa <= v->host_last) {
		memcpy(buf, v->host + (pa - v->host_start), len);
		return 0;
	}
	seg = v ? qvmi__seg_find(lx->ctx, pa) : NULL;
	if (seg && seg->host) {
		v->host = seg->host;
		v->host_start = seg->start;
		v->host_last = seg->last;
		v->host_gen = lx->ctx->flush_gen;
	}
	return qvmi_read_pa(lx->ctx, pa, buf, len);
}

int qvmi__lx_kread(struct qvmi_linux *lx, uint64_t va, void *buf, size_t len)
{
	uint64_t last = va + (len ? len - 1 : 0), dtb;
	int err;

	if (last < va)
		return qvmi__fault(lx->ctx, va, "kernel range wraps");
	if (va >= lx->page_offset_base &&
	    last - lx->page_offset_base < DIRECT_MAP_MAX &&
	    last < lx->vmalloc_base)
		return pread(lx, va - lx->page_offset_base, buf, len);
	if (va >= lx->text_va && last < lx->end_va && lx->text_pa)
		return pread(lx, va - lx->text_va + lx->text_pa, buf, len);
	if (!qvmi__lx_kptr(lx, va))
		return qvmi__fault(lx->ctx, va, "not a kernel address");
	err = qvmi__lx_kdtb(lx, &dtb);
	if (err)
		return err;
	return qvmi_read_va(lx->ctx, dtb, va, buf, len);
}

int qvmi__lx_kread_ptr(struct qvmi_linux *lx, uint64_t va, uint64_t *ret)
{
	uint64_t v = 0; /* little-endian: a 4-byte read fills the low half */
	int err = qvmi__lx_kread(lx, va, &v, qvmi__lx_psize(lx));

	if (!err)
		*ret = v;
	return err;
}

int qvmi__lx_kstr(struct qvmi_linux *lx, uint64_t va, char *buf, size_t size)
{
	size_t got = 0;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	/* Page by page, so a string near the end of a mapping still reads. */
	while (got < size - 1) {
		size_t n = QVMI_MIN(size - 1 - got,
				    QVMI_PAGE_SIZE - ((va + got) & 0xfff));
		int err = qvmi__lx_kread(lx, va + got, buf + got, n);
		char *z;

		if (err) {
			buf[got] = '\0';
			return err;
		}
		z = memchr(buf + got, '\0', n);
		if (z)
			return (int)(z - buf);
		got += n;
	}
	buf[size - 1] = '\0';
	return -E2BIG;
}

/* ---- BTF ---------------------------------------------------------------- */

int qvmi__lx_member(struct qvmi_linux *lx, const char *type, const char *path,
		    uint32_t *off, uint32_t *size)
{
	struct qvmi_linux_member m;
	int err = qvmi_linux_member(lx, type, path, &m);

	if (err)
		return err;
	if (m.bit_size || (m.bit_offset & 7) || m.bit_offset / 8 > UINT32_MAX ||
	    m.size > UINT32_MAX)
		return qvmi__err(lx->ctx, -EINVAL, "%s.%s: not a byte field",
				 type, path);
	*off = (uint32_t)(m.bit_offset / 8);
	if (size)
		*size = (uint32_t)m.size;
	return 0;
}

int qvmi__lx_off(struct qvmi_linux *lx, const char *type, const char *path,
		 uint32_t *ret)
{
	return qvmi__lx_member(lx, type, path, ret, NULL);
}

bool qvmi__lx_has(struct qvmi_linux *lx, const char *type, const char *path)
{
	uint32_t off;
	bool has = !qvmi__lx_off(lx, type, path, &off);

	qvmi__clear_err(lx->ctx);
	return has;
}

/* ---- field sets ------------------------------------------------------------ */

enum { SPAN_GAP = 96 };

/* Four arrays of cap entries in one block: off, size, span_off, span_len
 * (spans never outnumber fields). */
static int fields_grow(struct qvmi_lx_fields *f)
{
	unsigned int cap = f->cap ? f->cap * 2 : 16;
	uint32_t *a;

	if (cap > QVMI_LX_STRUCT_MAX) /* more fields than bytes: refused */
		return -E2BIG;
	a = calloc((size_t)cap * 4, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (f->nfields) {
		memcpy(a, f->off, f->nfields * sizeof(*a));
		memcpy(a + cap, f->size, f->nfields * sizeof(*a));
	}
	free(f->off);
	f->off = a;
	f->size = a + cap;
	f->span_off = a + 2 * (size_t)cap;
	f->span_len = a + 3 * (size_t)cap;
	f->cap = cap;
	f->nspans = 0; /* spans are planned again */
	return 0;
}

void qvmi__lx_fields_add(struct qvmi_lx_fields *f, uint32_t off, uint32_t size)
{
	int err;

	if (f->err)
		return;
	if (f->nfields == f->cap) {
		err = fields_grow(f);
		if (err) {
			f->err = err;
			return;
		}
	}
	f->off[f->nfields] = off;
	f->size[f->nfields++] = size;
}

void qvmi__lx_fields_deinit(struct qvmi_lx_fields *f)
{
	free(f->off);
	memset(f, 0, sizeof(*f));
}

/* Indices of the fields sorted by offset (insertion sort: a few dozen). */
static uint32_t *fields_order(const struct qvmi_lx_fields *f)
{
	uint32_t *order =
		malloc((f->nfields ? f->nfields : 1) * sizeof(*order));
	unsigned int i, j;

	for (i = 0; order && i < f->nfields; i++) {
		for (j = i; j > 0 && f->off[order[j - 1]] > f->off[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	return order;
}

int qvmi__lx_fields_plan(struct qvmi_linux *lx, struct qvmi_lx_fields *f)
{
	uint32_t *order;
	unsigned int i, n = f->nfields;

	if (f->err)
		return qvmi__err(lx->ctx, f->err, "linux: %s",
				 f->err == -ENOMEM ? "out of memory" :
						     "too many fields");
	order = fields_order(f);
	if (!order)
		return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	f->nspans = 0;
	f->end = 0;
	for (i = 0; i < n; i++) {
		uint32_t o = f->off[order[i]], e = o + f->size[order[i]];

		if (e < o || e > QVMI_LX_STRUCT_MAX) {
			free(order);
			f->nspans = 0;
			return qvmi__err(lx->ctx, -E2BIG,
					 "linux: field at %u past %u bytes: "
					 "damaged types?",
					 o, QVMI_LX_STRUCT_MAX);
		}
		if (f->nspans && o <= f->end + SPAN_GAP) {
			uint32_t *len = &f->span_len[f->nspans - 1];
			uint32_t s = f->span_off[f->nspans - 1];

			if (e > s + *len)
				*len = e - s;
		} else { /* at most one span per field: fits */
			f->span_off[f->nspans] = o;
			f->span_len[f->nspans++] = e - o;
		}
		f->end = QVMI_MAX(f->end, e);
	}
	free(order);
	return 0;
}

/*
 * Host address of the direct-map range [va, va + len) when the segment
 * pread() used last holds all of it (the common case: one task_struct
 * after another), else NULL.  Same rules as pread()'s fast path.
 */
static const uint8_t *direct_host(struct qvmi_linux *lx, uint64_t va,
				  uint64_t len)
{
	const struct qvmi_linux_views *v = lx->views;
	uint64_t pa = va - lx->page_offset_base, last = va + len - 1;

	if (!v || !v->host || v->host_gen != lx->ctx->flush_gen || !len ||
	    len >= QVMI_BULK_MIN || last < va || va < lx->page_offset_base ||
	    last - lx->page_offset_base >= DIRECT_MAP_MAX ||
	    last >= lx->vmalloc_base || pa < v->host_start ||
	    pa > v->host_last || len - 1 > v->host_last - pa)
		return NULL;
	return v->host + (pa - v->host_start);
}

int qvmi__lx_fields_read(struct qvmi_linux *lx, const struct qvmi_lx_fields *f,
			 uint64_t va, uint8_t *buf)
{
	uint32_t first = f->nspans ? f->span_off[0] : 0;
	const uint8_t *h =
		f->nspans ? direct_host(lx, va + first, f->end - first) : NULL;

	/* Cold: the whole set in one pread (a few KB) rather than a
	 * syscall per span; span by span below if that range fails. */
	if (lx->views && lx->views->cold && f->nspans) {
		if (!qvmi__lx_kread(lx, va + first, buf + first,
				    f->end - first))
			return 0;
		qvmi__clear_err(lx->ctx);
	}

	/* One range check for the whole field set, then plain copies:
	 * halves the cost of a warm task walk (six spans a task). */
	if (h) {
		for (unsigned int i = 0; i < f->nspans; i++)
			memcpy(buf + f->span_off[i],
			       h + (f->span_off[i] - first), f->span_len[i]);
		return 0;
	}
	for (unsigned int i = 0; i < f->nspans; i++) {
		int err = qvmi__lx_kread(lx, va + f->span_off[i],
					 buf + f->span_off[i], f->span_len[i]);

		if (err)
			return err;
	}
	return 0;
}

/* ---- visited set ------------------------------------------------------------ */

void qvmi__lx_seen_init(struct qvmi_lx_seen *s)
{
	s->slot = s->inline_slots;
	s->cap = QVMI_ARRAY_SIZE(s->inline_slots);
	s->n = 0;
	memset(s->slot, 0, sizeof(s->inline_slots));
}

void qvmi__lx_seen_deinit(struct qvmi_lx_seen *s)
{
	if (s->slot != s->inline_slots)
		free(s->slot);
	s->slot = NULL;
}

static size_t seen_hash(uint64_t va, size_t cap)
{
	return (size_t)((va * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static int seen_grow(struct qvmi_lx_seen *s)
{
	size_t cap = s->cap * 2;
	uint64_t *n = calloc(cap, sizeof(*n)), *old = s->slot;

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t h;

		if (!old[i])
			continue;
		for (h = seen_hash(old[i], cap); n[h]; h = (h + 1) & (cap - 1))
			;
		n[h] = old[i];
	}
	if (old != s->inline_slots)
		free(old);
	s->slot = n;
	s->cap = cap;
	return 0;
}

int qvmi__lx_seen_add(struct qvmi_lx_seen *s, uint64_t va)
{
	size_t h;

	if (!va)
		va = 1; /* 0 marks an empty slot */
	if ((s->n + 1) * 2 > s->cap && seen_grow(s))
		return -ENOMEM;
	for (h = seen_hash(va, s->cap); s->slot[h]; h = (h + 1) & (s->cap - 1))
		if (s->slot[h] == va)
			return 1;
	s->slot[h] = va;
	s->n++;
	return 0;
}
