// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading a dump file that may be flattened, and the control backend of
 * dumps without registers.
 *
 * The flattened format (makedumpfile -F, and QEMU 7.2's kdump output,
 * written so that it can go down a pipe): a 4 KiB header starting
 * "makedumpfile" with big-endian type 1 and version 1, then records of a
 * big-endian {int64 offset, int64 size} followed by size bytes that belong
 * at offset of the real file, until an offset of -1.  makedumpfile -R
 * rebuilds the file; here the records are indexed and read in place.  A
 * gap between records reads as zeros (-R leaves a hole there).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/dump.h"

enum { FLAT_HDR = 4096, FLAT_REC = 16 };
/* Records: a real 512 MiB kdump has a few thousand. */
#define FLAT_MAX_RECS (16u << 20)

struct frec {
	uint64_t off, size, fpos; /* in the real file, and in ours */
};

struct qvmi__dfile {
	struct qvmi_ctx *ctx;
	int fd;
	uint64_t size; /* of the real file */
	uint64_t stored; /* bytes of the file on disk */
	bool flat;
	struct frec *r; /* flattened: sorted by off, disjoint */
	size_t n;
};

static int fbad(struct qvmi_ctx *ctx, const char *what)
{
	return qvmi__err(ctx, -EBADMSG, "dump: %s", what);
}

static int pread_all(struct qvmi__dfile *f, uint64_t pos, void *buf, size_t len)
{
	int err = qvmi__pread_full(f->fd, buf, len, pos);

	if (err == -ENODATA)
		return fbad(f->ctx, "file ends early (truncated?)");
	return err ? qvmi__err(f->ctx, err, "dump: read failed") : 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct frec *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Walk the records once: their place in the real file and in ours. */
static int index_flat(struct qvmi__dfile *f, uint64_t fsize)
{
	uint64_t pos = FLAT_HDR;
	size_t cap = 0;
	uint8_t h[FLAT_REC];

	for (;;) {
		uint64_t off, size;
		int err;

		if (pos > fsize || fsize - pos < FLAT_REC)
			return fbad(f->ctx, "flattened: no end record");
		err = pread_all(f, pos, h, sizeof(h));
		if (err)
			return err;
		off = be64(h);
		size = be64(h + 8);
		pos += FLAT_REC;
		if (off == UINT64_MAX)
			break; /* END_FLAG_FLAT_HEADER */
		if (off > INT64_MAX || size > fsize - pos ||
		    size > INT64_MAX - off)
			return fbad(f->ctx, "flattened: bad record");
		if (f->n == FLAT_MAX_RECS)
			return fbad(f->ctx, "flattened: too many records");
		if (f->n == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct frec *nr = realloc(f->r, c * sizeof(*nr));

			if (!nr)
				return qvmi__err(f->ctx, -ENOMEM,
						 "out of memory");
			f->r = nr;
			cap = c;
		}
		if (size)
			f->r[f->n++] = (struct frec){ off, size, pos };
		pos += size;
	}
	if (f->n) /* qsort(NULL, 0, ...) is undefined (UBSan, fuzz/kdump) */
		qsort(f->r, f->n, sizeof(*f->r), cmp_rec);
	for (size_t i = 1; i < f->n; i++)
		if (f->r[i].off < f->r[i - 1].off + f->r[i - 1].size)
			return fbad(f->ctx, "flattened: records overlap");
	f->size = f->n ? f->r[f->n - 1].off + f->r[f->n - 1].size : 0;
	return 0;
}

int qvmi__dfile_create(struct qvmi_ctx *ctx, int fd, bool flat,
		       struct qvmi__dfile **ret)
{
	struct qvmi__dfile *f = calloc(1, sizeof(*f));
	struct stat st;
	uint8_t h[32];
	int err;

	if (!f) {
		close(fd);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	f->ctx = ctx;
	f->fd = fd;
	f->flat = flat;
	if (fstat(fd, &st) || st.st_size < 0) {
		err = qvmi__err(ctx, -errno, "dump: cannot stat the file");
	} else {
		f->size = f->stored = (uint64_t)st.st_size;
		err = 0;
	}
	if (!err && flat) {
		err = f->size < FLAT_HDR ? fbad(ctx, "flattened: no header") :
					   pread_all(f, 0, h, sizeof(h));
		if (!err && (memcmp(h, "makedumpfile", 13) ||
			     be64(h + 16) != 1 || be64(h + 24) != 1))
			err = fbad(ctx, "flattened: bad header");
		if (!err)
			err = index_flat(f, (uint64_t)st.st_size);
	}
	if (err) {
		qvmi__dfile_destroy(f);
		return err;
	}
	*ret = f;
	return 0;
}

/* First record ending after off (records are sorted and disjoint). */
static size_t find_rec(const struct qvmi__dfile *f, uint64_t off)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->r[mid].off + f->r[mid].size <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int qvmi__dfile_read(struct qvmi__dfile *f, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	if (off > f->size || len > f->size - off)
		return fbad(f->ctx,
			    "offset past the end of the file (truncated?)");
	if (!f->flat)
		return pread_all(f, off, buf, len);
	for (i = find_rec(f, off); len; i++) {
		const struct frec *r = i < f->n ? &f->r[i] : NULL;
		size_t n;
		int err;

		if (!r || r->off > off) { /* a gap: zeros */
			n = r ? (size_t)QVMI_MIN((uint64_t)len, r->off - off) :
				len;
			memset(p, 0, n);
			i--;
		} else {
			n = (size_t)QVMI_MIN((uint64_t)len,
					     r->off + r->size - off);
			err = pread_all(f, r->fpos + (off - r->off), p, n);
			if (err)
				return err;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

uint64_t qvmi__dfile_size(const struct qvmi__dfile *f)
{
	return f->size;
}

uint64_t qvmi__dfile_stored(const struct qvmi__dfile *f)
{
	return f->stored;
}

void qvmi__dfile_destroy(struct qvmi__dfile *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->r);
	free(f);
}

/* ---- dumps without registers: only a state ------------------------------ */

static int frozen_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	(void)c;
	*ret = QVMI_VM_FROZEN;
	return 0;
}

const struct qvmi_ctl_ops qvmi__frozen_ctl_ops = {
	.name = "dump",
	.state = frozen_state,
};
