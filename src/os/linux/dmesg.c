// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel log.
 *
 * 5.10+ (kernel/printk/printk_ringbuffer.h, commit 896fbe20b4e2): prb
 * points to a struct printk_ringbuffer with a descriptor ring (descs[] and
 * infos[], 2^count_bits each) and a text data ring (2^size_bits bytes).
 * A descriptor's state_var holds the record id in its low 62 bits (30 on
 * 32-bit kernels: it is an unsigned long, as are ids and positions) and the
 * state in the top two (reserved 0, committed 1, finalized 2, reusable 3);
 * ids run from tail_id to head_id, at index id & (count - 1).  A record's
 * text block is [begin, next) in logical positions: it starts with the id
 * (an unsigned long), and when begin and next lie in different wraps of
 * the ring the block was put at offset 0 instead.  An odd begin means no
 * data (FAILED_LPOS, EMPTY_LINE_LPOS).
 *
 * Before 5.10: log_buf holds struct printk_log records from log_first_idx
 * to log_next_idx; a record of len 0 means "wrapped, continue at 0".
 */
#include <stdlib.h>
#include <string.h>

#include "views.h"

enum {
	COUNT_BITS_MAX = 22,
	SIZE_BITS_MAX = 26, /* 64 MiB of text */
	SV_COMMITTED = 1,
	SV_FINALIZED = 2,
	LOG_BUF_MAX = 64 << 20,
};

struct bits {
	uint32_t off, shift, width; /* a bitfield within a byte or more */
};

static int bitfield(struct qvmi_linux *lx, const char *type, const char *path,
		    struct bits *ret)
{
	struct qvmi_linux_member m;
	int err = qvmi_linux_member(lx, type, path, &m);

	if (err)
		return err;
	ret->off = (uint32_t)(m.bit_offset / 8);
	ret->shift = (uint32_t)(m.bit_offset % 8);
	ret->width = m.bit_size ? m.bit_size : (uint32_t)m.size * 8;
	if (ret->width > 8 || ret->shift + ret->width > 16)
		return qvmi__err(lx->ctx, -EBADMSG, "%s.%s: odd bitfield", type,
				 path);
	return 0;
}

/*
 * The level bitfield, or width 0 when the types lack it (an ISF whose
 * bitfield positions were lost, isf.c): records then say level -1
 * (unknown) rather than no log at all.
 */
static int level_field(struct qvmi_linux *lx, const char *type,
		       struct bits *ret)
{
	int err = bitfield(lx, type, "level", ret);

	if (err == -ENOENT) {
		qvmi__clear_err(lx->ctx);
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	return err;
}

static int bits_get(const uint8_t *b, const struct bits *f)
{
	unsigned int v = b[f->off] | (unsigned int)b[f->off + 1] << 8;

	if (!f->width)
		return -1;

	return (int)((v >> f->shift) & ((1u << f->width) - 1));
}

/* Read a kernel array of n elements of size bytes into a new buffer. */
static int read_array(struct qvmi_linux *lx, uint64_t va, uint64_t n,
		      uint64_t size, uint8_t **ret)
{
	uint8_t *b;
	int err;

	if (!n || size > (64u << 20) / n)
		return qvmi__err(lx->ctx, -EBADMSG, "dmesg: array too large");
	b = malloc(n * size + 2); /* + 2: bitfield reads may touch a byte */
	if (!b)
		return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	b[n * size] = b[n * size + 1] = 0;
	err = qvmi__lx_kread(lx, va, b, n * size);
	if (err) {
		free(b);
		return err;
	}
	*ret = b;
	return 0;
}

/* ---- 5.10+ ----------------------------------------------------------------- */

struct prb {
	uint32_t count_bits, size_bits;
	uint32_t ps, id_bits; /* unsigned long: 4 or 8 bytes; id bits */
	uint64_t descs, infos, head_id, tail_id, data;
	uint64_t desc_size, info_size;
	uint32_t sv, begin, next; /* in prb_desc */
	uint32_t seq, ts, text_len, facility, caller; /* in printk_info */
	bool has_caller;
	struct bits level;
};

static int prb_layout(struct qvmi_linux *lx, struct prb *p)
{
	int err = qvmi_linux_type_size(lx, "prb_desc", &p->desc_size);

	if (!err)
		err = qvmi_linux_type_size(lx, "printk_info", &p->info_size);
	if (!err)
		err = qvmi__lx_off(lx, "prb_desc", "state_var", &p->sv);
	if (!err)
		err = qvmi__lx_off(lx, "prb_desc", "text_blk_lpos.begin",
				   &p->begin);
	if (!err)
		err = qvmi__lx_off(lx, "prb_desc", "text_blk_lpos.next",
				   &p->next);
	if (!err)
		err = qvmi__lx_off(lx, "printk_info", "seq", &p->seq);
	if (!err)
		err = qvmi__lx_off(lx, "printk_info", "ts_nsec", &p->ts);
	if (!err)
		err = qvmi__lx_off(lx, "printk_info", "text_len", &p->text_len);
	if (!err)
		err = qvmi__lx_off(lx, "printk_info", "facility", &p->facility);
	if (!err)
		err = level_field(lx, "printk_info", &p->level);
	if (!err)
		p->has_caller = !qvmi__lx_off(lx, "printk_info", "caller_id",
					      &p->caller);
	qvmi__clear_err(lx->ctx);
	if (!err && (p->desc_size < p->next + p->ps ||
		     p->desc_size < p->sv + p->ps || p->info_size < p->ts + 8))
		err = qvmi__err(lx->ctx, -EBADMSG, "dmesg: odd layout");
	return err;
}

static int prb_header(struct qvmi_linux *lx, uint64_t rb, struct prb *p)
{
	static const char *const names[] = {
		"desc_ring.count_bits", "desc_ring.descs",
		"desc_ring.infos",	"desc_ring.head_id",
		"desc_ring.tail_id",	"text_data_ring.size_bits",
		"text_data_ring.data",
	};
	uint64_t *dst[] = { NULL,	 &p->descs, &p->infos, &p->head_id,
			    &p->tail_id, NULL,	    &p->data };
	uint32_t off;
	int err = 0;

	for (size_t i = 0; !err && i < QVMI_ARRAY_SIZE(names); i++) {
		uint64_t v = 0;

		err = qvmi__lx_off(lx, "printk_ringbuffer", names[i], &off);
		if (!err)
			err = qvmi__lx_kread(lx, rb + off, &v,
					     dst[i] ? p->ps : 4);
		if (!err && dst[i])
			*dst[i] = v;
		else if (!err && i == 0)
			p->count_bits = (uint32_t)v;
		else if (!err)
			p->size_bits = (uint32_t)v;
	}
	if (!err && (p->count_bits > COUNT_BITS_MAX ||
		     p->size_bits > SIZE_BITS_MAX || p->size_bits < 4))
		err = qvmi__err(lx->ctx, -EBADMSG,
				"dmesg: ring of 2^%u records, 2^%u bytes",
				p->count_bits, p->size_bits);
	return err;
}

/* The text of a record from its logical positions; NULL if none. */
static const uint8_t *prb_text(const struct prb *p, const uint8_t *data,
			       uint64_t id, uint64_t begin, uint64_t next,
			       size_t *len)
{
	uint64_t size = 1ull << p->size_bits, bw = begin >> p->size_bits;
	uint64_t nw = next >> p->size_bits, off, n, bid;

	if (begin & 1)
		return NULL; /* data-less record */
	if (bw == nw && begin < next) {
		off = begin & (size - 1);
		n = next - begin;
	} else if (bw + 1 == nw) {
		off = 0;
		n = next & (size - 1);
	} else {
		return NULL;
	}
	if (n < p->ps || off + n > size)
		return NULL;
	bid = qvmi__lx_uint(data, (uint32_t)off, p->ps);
	if ((bid & ((1ull << p->id_bits) - 1)) != id)
		return NULL; /* overwritten since */
	*len = (size_t)(n - p->ps);
	return data + off + p->ps;
}

static int prb_records(struct qvmi_linux *lx, const struct prb *p,
		       const uint8_t *descs, const uint8_t *infos,
		       const uint8_t *data, qvmi_linux_log_fn fn, void *arg)
{
	uint64_t mask = (1ull << p->id_bits) - 1, count = 1ull << p->count_bits;
	uint64_t id = p->tail_id & mask, head = p->head_id & mask;
	int n = 0, r;

	for (uint64_t k = 0; k < count; k++, id = (id + 1) & mask) {
		const uint8_t *d = descs + (id & (count - 1)) * p->desc_size;
		const uint8_t *in = infos + (id & (count - 1)) * p->info_size;
		uint64_t sv = qvmi__lx_uint(d, p->sv, p->ps),
			 st = sv >> p->id_bits;
		struct qvmi_linux_log_rec rec = { 0 };
		size_t len = 0;

		if ((sv & mask) == id &&
		    (st == SV_COMMITTED || st == SV_FINALIZED)) {
			rec.text = (const char *)prb_text(
				p, data, id, qvmi__lx_uint(d, p->begin, p->ps),
				qvmi__lx_uint(d, p->next, p->ps), &len);
			rec.seq = qvmi__lx_u64(in, p->seq);
			rec.ts_nsec = qvmi__lx_u64(in, p->ts);
			rec.text_len = QVMI_MIN(
				len, (size_t)(in[p->text_len] |
					      in[p->text_len + 1] << 8));
			if (!rec.text)
				rec.text = "", rec.text_len = 0;
			rec.facility = in[p->facility];
			rec.level = bits_get(in, &p->level);
			if (p->has_caller)
				rec.caller_id = qvmi__lx_u32(in, p->caller);
			r = fn(&rec, arg);
			if (r)
				return r;
			n++;
		}
		if (id == head)
			return n;
	}
	/* tail..head never spans more than the ring: a damaged or stale
	 * header (the guest moved on while we read), so the records given
	 * so far are not the whole log. */
	return qvmi__err(lx->ctx, -EBADMSG,
			 "dmesg: head id %" PRIu64
			 " not reached from tail %" PRIu64
			 " within 2^%u descriptors: partial log",
			 head, p->tail_id & mask, p->count_bits);
}

static int dmesg_prb(struct qvmi_linux *lx, qvmi_linux_log_fn fn, void *arg)
{
	struct prb p = { 0 };
	uint8_t *descs = NULL, *infos = NULL, *data = NULL;
	uint64_t prb_sym, rb;
	int err = qvmi_linux_sym_addr(lx, "prb", &prb_sym);

	/* state_var, ids and logical positions are unsigned long: the top
	 * two bits of BITS_PER_LONG are the state (printk_ringbuffer.h). */
	p.ps = qvmi__lx_psize(lx);
	p.id_bits = p.ps * 8 - 2;
	if (!err)
		err = qvmi__lx_kread_ptr(lx, prb_sym, &rb);
	if (!err)
		err = prb_layout(lx, &p);
	if (!err)
		err = prb_header(lx, rb, &p);
	if (!err)
		err = read_array(lx, p.descs, 1ull << p.count_bits, p.desc_size,
				 &descs);
	if (!err)
		err = read_array(lx, p.infos, 1ull << p.count_bits, p.info_size,
				 &infos);
	if (!err)
		err = read_array(lx, p.data, 1ull << p.size_bits, 1, &data);
	if (!err)
		err = prb_records(lx, &p, descs, infos, data, fn, arg);
	free(descs);
	free(infos);
	free(data);
	return err;
}

/* ---- before 5.10 ------------------------------------------------------------ */

struct plog {
	uint64_t hdr_size;
	uint32_t ts, len, text_len, facility;
	struct bits level;
};

static int sym_u32(struct qvmi_linux *lx, const char *name, uint32_t *ret)
{
	uint64_t va;
	int err = qvmi_linux_sym_addr(lx, name, &va);

	return err ? err : qvmi__lx_kread(lx, va, ret, 4);
}

static int plog_walk(struct qvmi_linux *lx, const struct plog *pl,
		     const uint8_t *buf, uint32_t size, uint32_t first,
		     uint32_t next, uint64_t seq, qvmi_linux_log_fn fn,
		     void *arg)
{
	uint32_t idx = first, wraps = 0;
	int n = 0, r;

	/* Each record is at least a header long: size / hdr bounds them. */
	for (uint64_t k = 0; idx != next && k <= size / pl->hdr_size; k++) {
		struct qvmi_linux_log_rec rec = { 0 };
		const uint8_t *h = buf + idx;
		uint16_t len, tl;

		if ((uint64_t)idx + pl->len + 2 > size)
			return qvmi__err(lx->ctx, -EBADMSG, "dmesg: bad index");
		len = (uint16_t)(h[pl->len] | h[pl->len + 1] << 8);
		if (!len) { /* wrap marker */
			if (++wraps > 1 || idx == 0)
				return qvmi__err(lx->ctx, -ELOOP,
						 "dmesg: log_buf wraps twice");
			idx = 0;
			continue;
		}
		tl = (uint16_t)(h[pl->text_len] | h[pl->text_len + 1] << 8);
		/* Only the len of a wrap marker must fit before the end. */
		if (len < pl->hdr_size || (uint64_t)idx + len > size ||
		    tl > len - pl->hdr_size)
			return qvmi__err(lx->ctx, -EBADMSG,
					 "dmesg: bad record at %u", idx);
		rec.seq = seq++;
		rec.ts_nsec = qvmi__lx_u64(h, pl->ts);
		rec.text = (const char *)h + pl->hdr_size;
		rec.text_len = tl;
		rec.facility = h[pl->facility];
		rec.level = bits_get(h, &pl->level);
		r = fn(&rec, arg);
		if (r)
			return r;
		n++;
		idx += len;
	}
	if (idx != next) /* more records than the buffer can hold */
		return qvmi__err(lx->ctx, -ELOOP,
				 "dmesg: log_next_idx %u not reached: partial "
				 "log",
				 next);
	return n;
}

static int dmesg_logbuf(struct qvmi_linux *lx, qvmi_linux_log_fn fn, void *arg)
{
	struct plog pl = { 0 };
	uint32_t size = 0, first = 0, next = 0, seq32[2] = { 0, 0 };
	uint64_t bufp_va, bufp = 0, seq = 0, seq_va;
	uint8_t *buf = NULL;
	int err = qvmi_linux_type_size(lx, "printk_log", &pl.hdr_size);

	if (!err)
		err = qvmi__lx_off(lx, "printk_log", "ts_nsec", &pl.ts);
	if (!err)
		err = qvmi__lx_off(lx, "printk_log", "len", &pl.len);
	if (!err)
		err = qvmi__lx_off(lx, "printk_log", "text_len", &pl.text_len);
	if (!err)
		err = qvmi__lx_off(lx, "printk_log", "facility", &pl.facility);
	if (!err)
		err = level_field(lx, "printk_log", &pl.level);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "log_buf", &bufp_va);
	if (!err)
		err = qvmi__lx_kread_ptr(lx, bufp_va, &bufp);
	if (!err)
		err = sym_u32(lx, "log_buf_len", &size);
	if (!err)
		err = sym_u32(lx, "log_first_idx", &first);
	if (!err)
		err = sym_u32(lx, "log_next_idx", &next);
	if (err)
		return err;
	if (!qvmi_linux_sym_addr(lx, "log_first_seq", &seq_va) &&
	    !qvmi__lx_kread(lx, seq_va, seq32, 8))
		memcpy(&seq, seq32, 8);
	qvmi__clear_err(lx->ctx);
	if (pl.hdr_size < 16 || pl.hdr_size > 256 || !size ||
	    size > LOG_BUF_MAX || first >= size || next >= size)
		return qvmi__err(lx->ctx, -EBADMSG, "dmesg: bad log_buf");
	err = read_array(lx, bufp, size, 1, &buf);
	if (!err)
		err = plog_walk(lx, &pl, buf, size, first, next, seq, fn, arg);
	free(buf);
	return err;
}

QVMI_API int qvmi_linux_dmesg(struct qvmi_linux *lx, qvmi_linux_log_fn fn,
			      void *arg)
{
	struct qvmi_linux_views *v = NULL;
	int err;

	if (!lx || !fn)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "dmesg: NULL") :
			    -EINVAL;
	err = qvmi__lx_views(lx, &v);
	if (err)
		return err;
	if (qvmi__lx_has(lx, "printk_ringbuffer", "desc_ring"))
		return dmesg_prb(lx, fn, arg);
	if (qvmi__lx_has(lx, "printk_log", "text_len"))
		return dmesg_logbuf(lx, fn, arg);
	/* No types at all: that error says what is missing and how to get
	 * it (kernel.c); else the types lack both log layouts. */
	err = qvmi__lx_off(lx, "task_struct", "pid", &(uint32_t){ 0 });
	if (err)
		return err;
	return qvmi__err(lx->ctx, -ENOENT,
			 "dmesg: the kernel's types have neither struct "
			 "printk_ringbuffer (5.10+) nor struct printk_log "
			 "(before 5.10)");
}
