// SPDX-License-Identifier: LGPL-2.1-or-later
/* Guest-physical reads and writes over the segment map; pattern scans. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Bytes of seg available from gpa on, capped at len (no overflow when the
 * segment reaches 2^64). */
static size_t seg_chunk(const struct qvmi_seg *seg, uint64_t gpa, size_t len)
{
	uint64_t avail = seg->last - gpa; /* one less than the real count */

	return (uint64_t)(len - 1) <= avail ? len : (size_t)(avail + 1);
}

static int range_check(struct qvmi_ctx *ctx, uint64_t pa, size_t len)
{
	if (len && pa + (len - 1) < pa)
		return qvmi__err(ctx, -EINVAL,
				 "range at 0x%" PRIx64 " wraps past 2^64", pa);
	return 0;
}

/*
 * A source may say exactly where in its own address space it faulted (via
 * qvmi__fault); translate that back to a guest-physical address inside the
 * chunk [pa, pa + len) it was asked for.  Otherwise blame the chunk start.
 */
static int source_failed(struct qvmi_ctx *ctx, int err,
			 const struct qvmi_seg *seg, uint64_t pa, size_t len)
{
	uint64_t src = seg->src_addr + (pa - seg->start);

	if (err == -EFAULT && ctx->err == -EFAULT &&
	    ctx->fault_addr != UINT64_MAX && ctx->fault_addr >= src &&
	    ctx->fault_addr - src < len)
		return qvmi__fault(ctx, pa + (ctx->fault_addr - src),
				   qvmi_source_name(seg->src));
	if (err == -EFAULT)
		return qvmi__fault(ctx, pa, qvmi_source_name(seg->src));
	if (!ctx->err || ctx->err != err)
		qvmi__err(ctx, err, "%s: failed at 0x%" PRIx64,
			  qvmi_source_name(seg->src), pa);
	return err;
}

QVMI_API int qvmi_read_pa(struct qvmi_ctx *ctx, uint64_t pa, void *buf,
			  size_t len)
{
	uint8_t *out = buf;
	int err = range_check(ctx, pa, len);

	if (err)
		return err;
	qvmi__layout_check(ctx);
	while (len) {
		const struct qvmi_seg *seg = qvmi__seg_find(ctx, pa);
		struct qvmi_source *src;
		size_t chunk;
		uint64_t off;

		if (!seg)
			return qvmi__fault(ctx, pa,
					   "no memory behind guest-physical");
		chunk = seg_chunk(seg, pa, len);
		off = pa - seg->start;
		src = seg->src;
		if (seg->host && chunk < QVMI_BULK_MIN &&
		    (!src->host_ok ||
		     src->host_ok(src, seg->src_addr + off, chunk))) {
			memcpy(out, seg->host + off, chunk);
		} else {
			ctx->err = 0;
			ctx->fault_addr = UINT64_MAX;
			/* Bulk reads (scans, dumps) go straight to the
			 * source: caching them page by page only evicts the
			 * small hot reads the cache is for. */
			if ((src->flags & QVMI_SOURCE_SLOW) &&
			    chunk < QVMI_BULK_MIN &&
			    qvmi__cache_usable(ctx, src))
				err = qvmi__cache_read(ctx, seg, pa, out,
						       chunk);
			else
				err = src->ops->read(src, seg->src_addr + off,
						     out, chunk);
			if (err < 0)
				return source_failed(ctx, err, seg, pa, chunk);
		}
		out += chunk;
		pa += chunk;
		len -= chunk;
	}
	return 0;
}

int qvmi__pa_file(struct qvmi_ctx *ctx, uint64_t gpa, size_t len,
		  struct qvmi_pa_file *ret)
{
	const struct qvmi_seg *seg;
	uint64_t off;

	if (!len)
		return -EINVAL;
	qvmi__layout_check(ctx);
	seg = qvmi__seg_find(ctx, gpa);
	if (!seg)
		return -EFAULT;
	off = seg->src_addr + (gpa - seg->start);
	ret->fd = -1;
	ret->off = 0;
	ret->len = seg_chunk(seg, gpa, len);
	/* sendfile takes an off_t: a source offset past it is no file's. */
	if (seg->src->file_fd < 0 || off < seg->src_addr || off > INT64_MAX)
		return -EOPNOTSUPP;
	/* the check costs a syscall: bulk reads only, as for the source */
	if (len >= QVMI_BULK_MIN && seg->src->file_gone &&
	    seg->src->file_gone(seg->src))
		return -EIO;
	ret->fd = seg->src->file_fd;
	ret->off = off;
	if (ret->len - 1 > INT64_MAX - off)
		ret->len = (size_t)(INT64_MAX - off) + 1;
	return 0;
}

QVMI_API int qvmi_write_pa(struct qvmi_ctx *ctx, uint64_t pa, const void *buf,
			   size_t len)
{
	const uint8_t *in = buf;
	int err = range_check(ctx, pa, len);

	if (err)
		return err;
	qvmi__layout_check(ctx);
	qvmi__cache_invalidate(ctx, pa, len);
	while (len) {
		const struct qvmi_seg *seg = qvmi__seg_find(ctx, pa);
		struct qvmi_source *src;
		size_t chunk;

		if (!seg)
			return qvmi__fault(ctx, pa,
					   "no memory behind guest-physical");
		src = seg->src;
		if (!src->ops->write)
			return qvmi__err(
				ctx, -EOPNOTSUPP,
				"%s: source is read-only at 0x%" PRIx64,
				qvmi_source_name(src), pa);
		chunk = seg_chunk(seg, pa, len);
		ctx->err = 0;
		ctx->fault_addr = UINT64_MAX;
		err = src->ops->write(src, seg->src_addr + (pa - seg->start),
				      in, chunk);
		if (err < 0)
			return source_failed(ctx, err, seg, pa, chunk);
		in += chunk;
		pa += chunk;
		len -= chunk;
	}
	return 0;
}

void qvmi__pa_next_data(struct qvmi_ctx *ctx, uint64_t gpa, uint64_t len,
			uint64_t *start, uint64_t *end)
{
	const struct qvmi_seg *seg = qvmi__seg_find(ctx, gpa);
	uint64_t n, off, s, e;

	*start = gpa;
	*end = gpa + len;
	if (!seg || !len)
		return;
	n = seg->last - gpa >= len - 1 ? len : seg->last - gpa + 1;
	*end = gpa + n;
	if (!seg->src->next_data)
		return;
	off = seg->src_addr + (gpa - seg->start);
	if (off + (n - 1) < off ||
	    seg->src->next_data(seg->src, off, n, &s, &e) < 0 || s < off ||
	    e < s || e - off > n)
		return;
	*start = gpa + (s - off);
	*end = s == off + n ? gpa + n : gpa + (e - off);
}

void qvmi__map_stale(struct qvmi_ctx *ctx)
{
	if (ctx->lay)
		ctx->lay_stale = true;
}

/* ---- pattern scan ------------------------------------------------------ */

enum {
	FIND_CHUNK = 1 << 20,
	FIND_PATTERN_MAX = 4096,
	/* Holes shorter than this are read (as zeros) rather than skipped:
	 * a query of the backing costs more than scanning them.  At least
	 * twice FIND_PATTERN_MAX (see find_hole). */
	FIND_SKIP_MIN = 64 << 10,
};

struct find_state {
	const uint8_t *pat;
	size_t plen;
	bool skip; /* the pattern has a non-zero byte: holes can be skipped */
	uint8_t *buf; /* FIND_CHUNK + FIND_PATTERN_MAX */
	size_t carry; /* bytes at buf standing for those just before pos */
	qvmi_find_fn fn;
	void *arg;
	qvmi_progress_fn progress;
	void *progress_arg;
	uint64_t done, total;
};

/* Scan the n bytes at buf + carry, which are guest-physical [pos, pos +
 * n); keep the last plen - 1 bytes as the next carry, so that a match
 * straddling two pieces is found once. */
static int find_scan(struct find_state *st, uint64_t pos, size_t n)
{
	size_t have = st->carry + n, i = 0, keep;

	while (have - i >= st->plen) {
		const uint8_t *hit =
			memmem(st->buf + i, have - i, st->pat, st->plen);
		int rc;

		if (!hit)
			break;
		i = (size_t)(hit - st->buf);
		rc = st->fn(pos - st->carry + i, st->arg);
		if (rc)
			return rc;
		i++;
	}
	keep = QVMI_MIN(st->plen - 1, have);
	memmove(st->buf, st->buf + have - keep, keep);
	st->carry = keep;
	return 0;
}

/*
 * Skip the hole [pos, end) (>= FIND_SKIP_MIN bytes of zeros) for a pattern
 * with a non-zero byte, which no match inside the hole can be.  A match
 * may still begin before it and end in its first plen - 1 zeros (scanned
 * here), or begin in its last plen - 1 zeros and end after it (the carry
 * for what follows).  The hole is longer than twice that, so no match is
 * seen twice.
 */
static int find_hole(struct find_state *st, uint64_t pos)
{
	size_t z = st->plen - 1;
	int rc;

	memset(st->buf + st->carry, 0, z);
	rc = find_scan(st, pos, z);
	if (rc)
		return rc;
	memset(st->buf, 0, z);
	st->carry = z;
	return 0;
}

/* pread exactly n bytes (a hole reads as zeros, and stays a hole). */
static int pread_all(int fd, uint8_t *out, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, out, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		out += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Read [pos, pos + n) for a scan.  Shared RAM is pread from its file, as
 * a dump or pmemaccess does: a scan reads each page once, and a first
 * touch through a fresh mapping costs a fault per page (~10 us in a
 * nested VM: 0.3 s for the 115 MiB of a booted 512 MiB guest, against
 * 55 ms for pread).  Other sources go through qvmi_read_pa.
 */
static int find_read(struct qvmi_ctx *ctx, uint64_t pos, uint8_t *out, size_t n)
{
	while (n) {
		struct qvmi_pa_file f;
		int err = qvmi__pa_file(ctx, pos, n, &f);

		if (err == -EOPNOTSUPP)
			err = qvmi_read_pa(ctx, pos, out, f.len);
		else if (!err && pread_all(f.fd, out, f.len, f.off))
			err = qvmi__err(
				ctx, -EIO,
				"find: RAM file unreadable at 0x%" PRIx64, pos);
		else if (err == -EFAULT)
			err = qvmi__fault(ctx, pos, "find: not mapped");
		else if (err)
			err = qvmi__err(ctx, err,
					"find: the RAM file's QEMU exited");
		if (err)
			return err;
		out += f.len;
		pos += f.len;
		n -= f.len;
	}
	return 0;
}

static void find_progress(struct find_state *st, uint64_t n)
{
	st->done += n;
	if (st->progress)
		st->progress(st->done, st->total, st->progress_arg);
}

/* Scan [start, start + size), reading only what the backing holds. */
static int find_range(struct qvmi_ctx *ctx, struct find_state *st,
		      uint64_t start, uint64_t size)
{
	uint64_t pos = start, end = start + size;
	int rc;

	st->carry = 0;
	while (pos < end) {
		uint64_t ds = pos, de = end, n;
		int err;

		if (st->skip)
			qvmi__pa_next_data(ctx, pos, end - pos, &ds, &de);
		if (ds - pos >= FIND_SKIP_MIN) {
			rc = find_hole(st, pos);
			if (rc)
				return rc;
			find_progress(st, ds - pos);
			pos = ds;
			continue;
		}
		/* from pos (a short hole, then data) to the data's end */
		n = QVMI_MIN((uint64_t)FIND_CHUNK, (de > ds ? de : end) - pos);
		err = find_read(ctx, pos, st->buf + st->carry, (size_t)n);
		if (err) {
			qvmi__log(ctx, QVMI_LOG_WARN, "find: skipping %s",
				  qvmi_errmsg(ctx));
			st->carry = 0;
		} else if ((rc = find_scan(st, pos, (size_t)n))) {
			return rc;
		}
		find_progress(st, n);
		pos += n;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

QVMI_API int qvmi_find_pa_opts(struct qvmi_ctx *ctx, const void *pattern,
			       size_t len, qvmi_find_fn fn, void *arg,
			       const struct qvmi_find_opts *opts)
{
	struct find_state st = { pattern, len, false, NULL, 0, fn, arg };
	int rc = 0;
	size_t i;

	if (!ctx)
		return -EINVAL;
	if (!QVMI_OPTS_VALID(opts, struct qvmi_find_opts))
		return qvmi__err(ctx, -EINVAL,
				 "find: unknown non-zero option fields");
	if (!pattern || !len || len > FIND_PATTERN_MAX || !fn)
		return qvmi__err(ctx, -EINVAL,
				 "find: pattern must be 1..%d bytes",
				 FIND_PATTERN_MAX);
	st.progress = QVMI_OPTS_GET(opts, progress, NULL);
	st.progress_arg = QVMI_OPTS_GET(opts, progress_arg, NULL);
	st.skip = !all_zero(pattern, len);
	st.buf = malloc(FIND_CHUNK + FIND_PATTERN_MAX);
	if (!st.buf)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	qvmi__layout_check(ctx);
	for (i = 0; i < ctx->nram; i++)
		st.total += ctx->ram[i].size;
	if (ctx->nram) {
		for (i = 0; i < ctx->nram && !rc; i++)
			rc = find_range(ctx, &st, ctx->ram[i].gpa,
					ctx->ram[i].size);
	} else {
		/* No RAM list (custom sources): scan what is mapped.  Copy the
		 * bounds first; callbacks may not change the map, but be safe. */
		for (i = 0; i < ctx->nsegs; i++)
			st.total += ctx->segs[i].last - ctx->segs[i].start + 1;
		for (i = 0; i < ctx->nsegs && !rc; i++) {
			uint64_t s = ctx->segs[i].start;
			uint64_t sz = ctx->segs[i].last - s + 1;

			if (!sz) /* a catch-all over all of 2^64 */
				continue;
			rc = find_range(ctx, &st, s, sz);
		}
	}
	free(st.buf);
	return rc;
}

QVMI_API int qvmi_find_pa(struct qvmi_ctx *ctx, const void *pattern, size_t len,
			  qvmi_find_fn fn, void *arg)
{
	return qvmi_find_pa_opts(ctx, pattern, len, fn, arg, NULL);
}

/* ---- testmem: a source over a caller buffer ---------------------------- */

struct testmem {
	uint8_t *buf;
	size_t size;
};

static int testmem_read(struct qvmi_source *s, uint64_t addr, void *buf,
			size_t len)
{
	struct testmem *t = qvmi_source_priv(s);

	if (addr > t->size || len > t->size - addr)
		return -EFAULT;
	memcpy(buf, t->buf + addr, len);
	return 0;
}

static int testmem_write(struct qvmi_source *s, uint64_t addr, const void *buf,
			 size_t len)
{
	struct testmem *t = qvmi_source_priv(s);

	if (addr > t->size || len > t->size - addr)
		return -EFAULT;
	memcpy(t->buf + addr, buf, len);
	return 0;
}

static void testmem_destroy(struct qvmi_source *s)
{
	free(qvmi_source_priv(s));
}

static const struct qvmi_source_ops testmem_ops = {
	.name = "testmem",
	.read = testmem_read,
	.write = testmem_write,
	.destroy = testmem_destroy,
};

static const struct qvmi_source_ops testmem_ro_ops = {
	.name = "testmem",
	.read = testmem_read,
	.destroy = testmem_destroy,
};

QVMI_API int qvmi_source_testmem_create(struct qvmi_ctx *ctx, void *buf,
					size_t size, int writable,
					struct qvmi_source **ret)
{
	struct testmem *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	t->buf = buf;
	t->size = size;
	err = qvmi_source_create(ctx, writable ? &testmem_ops : &testmem_ro_ops,
				 t, 0, ret);
	if (err)
		free(t);
	return err;
}
