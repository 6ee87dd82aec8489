// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing guest RAM to a dump file: an ELF core (dumpwrite-elf.c) or a
 * raw image (file offset == GPA).  What goes in is RAM plus the ROM and
 * BIOS-shadow ranges QEMU's dump-guest-memory writes too.  The copy costs
 * O(data), not O(RAM): holes of a sparse RAM file are skipped with
 * SEEK_DATA without being read, and all-zero pages are not written, so the
 * output stays sparse.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumpwrite.h"

/* ---- what to write ------------------------------------------------------ */

struct span {
	uint64_t gpa, last;
};

/* Add [gpa, last]; merge with the previous range when they touch or
 * overlap (input is sorted), so PT_LOADs never overlap: the reader rejects
 * that. */
static int push_range(struct qvmi_ctx *ctx, struct qvmi__wrange **r, size_t *n,
		      size_t *cap, uint64_t gpa, uint64_t last)
{
	struct qvmi__wrange *p = *n ? &(*r)[*n - 1] : NULL;

	if (last == UINT64_MAX && gpa == 0)
		return qvmi__err(ctx, -EFBIG,
				 "dump: a range covers all of 2^64");
	if (p &&
	    (p->gpa + (p->size - 1) == UINT64_MAX || gpa <= p->gpa + p->size)) {
		uint64_t plast = p->gpa + (p->size - 1);

		p->size = QVMI_MAX(plast, last) - p->gpa + 1;
		return 0;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct qvmi__wrange *nr = realloc(*r, c * sizeof(*nr));

		if (!nr)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		*r = nr;
		*cap = c;
	}
	(*r)[(*n)++] = (struct qvmi__wrange){ gpa, last - gpa + 1, 0, gpa };
	return 0;
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/*
 * RAM as the VM describes it, plus each mapped range wholly below 4 GiB:
 * there QEMU's memory tree has the ROMs, the BIOS shadow 0xc0000-0xfffff
 * (ACPI and SMBIOS tables) and the BIOS at 0xfffc0000, which QEMU's
 * dump-guest-memory writes too (guest_phys_blocks takes every RAM-backed
 * region).  Without a RAM list: what is mapped, leaving out a catch-all
 * over all of 2^64 (16 EiB of nothing).
 */
static int gather(struct qvmi_ctx *ctx, struct span **ret, size_t *nret)
{
	size_t i, n = 0;
	struct span *s = calloc(ctx->nram + ctx->nsegs + 1, sizeof(*s));

	if (!s)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	for (i = 0; i < ctx->nram; i++) {
		const struct qvmi_ram_range *m = &ctx->ram[i];

		if (!m->size)
			continue;
		if (m->gpa + (m->size - 1) < m->gpa) {
			free(s);
			return qvmi__err(ctx, -EINVAL,
					 "dump: RAM range at 0x%" PRIx64
					 " wraps past 2^64",
					 m->gpa);
		}
		s[n++] = (struct span){ m->gpa, m->gpa + (m->size - 1) };
	}
	for (i = 0; i < ctx->nsegs; i++) {
		const struct qvmi_seg *g = &ctx->segs[i];

		if ((g->start == 0 && g->last == UINT64_MAX) ||
		    (ctx->nram && g->last > 0xffffffffull))
			continue;
		s[n++] = (struct span){ g->start, g->last };
	}
	qsort(s, n, sizeof(*s), span_cmp);
	*ret = s;
	*nret = n;
	return 0;
}

static int collect(struct qvmi_ctx *ctx, struct qvmi__wrange **ret,
		   size_t *nret)
{
	size_t i, n = 0, cap = 0, ns = 0;
	struct qvmi__wrange *r = NULL;
	struct span *s = NULL;
	int err;

	err = gather(ctx, &s, &ns);
	if (err)
		return err;
	for (i = 0; i < ns && !err; i++)
		err = push_range(ctx, &r, &n, &cap, s[i].gpa, s[i].last);
	free(s);
	if (!err && !n)
		err = qvmi__err(ctx, -ENOENT, "dump: no guest memory to write");
	if (err) {
		free(r);
		return err;
	}
	*ret = r;
	*nret = n;
	return 0;
}

/* ---- output ------------------------------------------------------------- */

int qvmi__dump_put(struct qvmi__writer *w, const void *buf, size_t len,
		   uint64_t off)
{
	const uint8_t *p = buf;

	if (off > (uint64_t)INT64_MAX - len)
		return qvmi__err(w->ctx, -EFBIG,
				 "dump: file offset 0x%" PRIx64 " too large",
				 off);
	while (len) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return qvmi__err(w->ctx, n < 0 ? -errno : -EIO,
					 "dump: writing %s failed: %s", w->path,
					 strerror(n < 0 ? errno : EIO));
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool page_zero(const uint8_t *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/* Write buf[0, len) at off, skipping all-zero pages (left as holes). */
static int put_sparse(struct qvmi__writer *w, const uint8_t *buf, size_t len,
		      uint64_t off)
{
	size_t i = 0;

	while (i < len) {
		size_t run = 0, pg;
		int err;

		while (i < len &&
		       page_zero(buf + i,
				 QVMI_MIN(len - i, (size_t)QVMI_PAGE_SIZE)))
			i += QVMI_MIN(len - i, (size_t)QVMI_PAGE_SIZE);
		while (i + run < len) {
			pg = QVMI_MIN(len - i - run, (size_t)QVMI_PAGE_SIZE);
			if (page_zero(buf + i + run, pg))
				break;
			run += pg;
		}
		if (run) {
			err = qvmi__dump_put(w, buf + i, run, off + i);
			if (err)
				return err;
		}
		i += run;
	}
	return 0;
}

/*
 * Bytes from gpa on (at most len) that the backing file holds no data
 * for: they read as zeros, so they need neither a read nor a write.  Only
 * SEEK_DATA, never SEEK_HOLE: on tmpfs SEEK_HOLE walks the page cache
 * from the offset (see source/shm.c).  0 when it cannot tell.
 */
uint64_t qvmi__dump_hole(struct qvmi__writer *w, uint64_t gpa, uint64_t len)
{
	struct qvmi_pa_file f;
	off_t d;

	if (qvmi__pa_file(w->ctx, gpa,
			  (size_t)QVMI_MIN(len, (uint64_t)SIZE_MAX), &f) ||
	    f.fd < 0 || f.off > (uint64_t)INT64_MAX)
		return 0;
	d = lseek(f.fd, (off_t)f.off, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO ? f.len : 0; /* no data after off */
	if ((uint64_t)d <= f.off)
		return 0;
	return QVMI_MIN((uint64_t)d - f.off, (uint64_t)f.len);
}

void qvmi__dump_tick(struct qvmi__writer *w, uint64_t n)
{
	w->done += n;
	if (w->progress)
		w->progress(w->done, w->total, w->progress_arg);
}

static int copy_range(struct qvmi__writer *w, const struct qvmi__wrange *r)
{
	uint64_t pos = 0, hole;
	size_t n;
	int err;

	while (pos < r->size) {
		hole = qvmi__dump_hole(w, r->gpa + pos, r->size - pos);
		if (hole) {
			pos += hole;
			qvmi__dump_tick(w, hole);
			continue;
		}
		n = (size_t)QVMI_MIN((uint64_t)QVMI__DUMP_CHUNK, r->size - pos);
		err = qvmi_read_pa(w->ctx, r->gpa + pos, w->buf, n);
		if (err)
			return err; /* keeps the fault address */
		err = put_sparse(w, w->buf, n, r->off + pos);
		if (err)
			return err;
		pos += n;
		qvmi__dump_tick(w, n);
	}
	return 0;
}

int qvmi__dump_copy_all(struct qvmi__writer *w, const struct qvmi__wrange *r,
			size_t n, uint64_t file_size)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		w->total += r[i].size;
	if (w->progress)
		w->progress(0, w->total, w->progress_arg);
	for (i = 0; i < n; i++) {
		err = copy_range(w, &r[i]);
		if (err)
			return err;
	}
	/* Trailing zero pages were skipped: give the file its full size. */
	if (ftruncate(w->fd, (off_t)file_size))
		return qvmi__err(w->ctx, -errno, "dump: sizing %s failed: %s",
				 w->path, strerror(errno));
	return 0;
}

/* ---- formats ------------------------------------------------------------ */

static int write_raw(struct qvmi__writer *w, struct qvmi__wrange *r, size_t n)
{
	uint64_t end = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].off = r[i].gpa;
		/* last < 2^63 keeps last + 1 from wrapping */
		end = QVMI_MAX(end, QVMI_MIN(r[i].gpa + (r[i].size - 1),
					     (uint64_t)INT64_MAX) +
					    1);
	}
	if (end > (uint64_t)INT64_MAX)
		return qvmi__err(w->ctx, -EFBIG,
				 "dump: raw image would be 0x%" PRIx64 " bytes",
				 end);
	return qvmi__dump_copy_all(w, r, n, end);
}

/*
 * LiME (LiME's src/lime.h, what Volatility reads): per range a header
 * {u32 0x4C694D45, u32 version 1, u64 start, u64 end (inclusive), u8[8]}
 * then the bytes.  Data follows its header directly, so a zero page is a
 * hole only where it happens to cover whole file pages.
 */
static int write_lime(struct qvmi__writer *w, struct qvmi__wrange *r, size_t n)
{
	uint64_t pos = 0;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		uint8_t h[32] = { 0x45, 0x4d, 0x69, 0x4c, 1 };
		uint64_t last = r[i].gpa + (r[i].size - 1);

		memcpy(h + 8, &r[i].gpa, 8);
		memcpy(h + 16, &last, 8);
		err = qvmi__dump_put(w, h, sizeof(h), pos);
		if (err)
			return err;
		r[i].off = pos + sizeof(h);
		pos = r[i].off + r[i].size;
	}
	return qvmi__dump_copy_all(w, r, n, pos);
}

/*
 * Write into "PATH.XXXXXX" beside the target and rename it over PATH at the
 * end: no half-written dump is ever visible, and writing over the very
 * file a source reads from (a dump, a RAM backend file) cannot truncate it
 * under that source, which keeps the old inode.
 */
static int open_tmp(struct qvmi_ctx *ctx, const char *path, char **ret)
{
	struct stat st;
	char *tmp;
	int fd;

	if (!stat(path, &st) && !S_ISREG(st.st_mode))
		return qvmi__err(ctx, -EINVAL,
				 "dump: %s exists and is not a regular file",
				 path);
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600: a dump holds secrets */
	if (fd < 0) {
		int err = qvmi__err(ctx, -errno, "dump: cannot create %s: %s",
				    tmp, strerror(errno));

		free(tmp);
		return err;
	}
	*ret = tmp;
	return fd;
}

static int write_file(struct qvmi__writer *w, enum qvmi_dump_format fmt,
		      struct qvmi__wrange **r, size_t *n)
{
	char *tmp = NULL;
	int err;

	w->fd = open_tmp(w->ctx, w->path, &tmp);
	if (w->fd < 0)
		return w->fd;
	if (fmt == QVMI_DUMP_ELF)
		err = qvmi__dump_write_elf(w, r, n);
	else if (fmt == QVMI_DUMP_KDUMP)
		err = qvmi__dump_write_kdump(w, *r, *n);
	else if (fmt == QVMI_DUMP_LIME)
		err = write_lime(w, *r, *n);
	else
		err = write_raw(w, *r, *n);
	if (close(w->fd) && !err)
		err = qvmi__err(w->ctx, -errno, "dump: closing %s failed: %s",
				tmp, strerror(errno));
	if (!err && rename(tmp, w->path))
		err = qvmi__err(w->ctx, -errno, "dump: renaming %s failed: %s",
				tmp, strerror(errno));
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

/* Pause a running VM for the write; *paused says whether to resume. */
static int pause_vm(struct qvmi_ctx *ctx, bool *paused)
{
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err = qvmi_vm_state(ctx, &st);

	*paused = false;
	if (err)
		return err;
	if (st != QVMI_VM_RUNNING)
		return 0; /* paused, frozen or gone: nothing to hold still */
	err = qvmi_vm_pause(ctx);
	if (!err)
		*paused = true;
	return err;
}

/* Free pages are found before they are copied: a running guest would
 * allocate and fill some in between, and they would be lost. */
static int still_vm(struct qvmi_ctx *ctx)
{
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err = qvmi_vm_state(ctx, &st);

	if (err || (st != QVMI_VM_PAUSED && st != QVMI_VM_FROZEN &&
		    st != QVMI_VM_SHUTDOWN))
		return qvmi__err(ctx, -EINVAL,
				 "dump_write: leaving out free pages needs a "
				 "VM that holds still (pause)");
	return 0;
}

static int write_locked(struct qvmi__writer *w, enum qvmi_dump_format fmt,
			bool pause)
{
	struct qvmi__wrange *r = NULL;
	bool paused = false;
	size_t n;
	int err, rerr;

	err = pause ? pause_vm(w->ctx, &paused) : 0;
	if (!err && !pause && (w->dump_level & QVMI_DUMP_LEVEL_FREE))
		err = still_vm(w->ctx);
	if (!err)
		err = collect(w->ctx, &r, &n);
	if (!err)
		err = write_file(w, fmt, &r, &n);
	free(r);
	if (paused) {
		/* Resume even after a failure, keeping the first error. */
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", qvmi_errmsg(w->ctx));
		rerr = qvmi_vm_resume(w->ctx);
		if (err)
			qvmi__err(w->ctx, err, "%s", msg);
		else
			err = rerr;
	}
	return err;
}

/* The dump level: what is supported, with what it needs. */
static int check_level(struct qvmi__writer *w, enum qvmi_dump_format fmt)
{
	unsigned int l = w->dump_level;

	if (l & ~31u)
		return qvmi__err(w->ctx, -EINVAL,
				 "dump_write: dump level %u is not in 0-31", l);
	if (l & 14u)
		return qvmi__err(w->ctx, -EOPNOTSUPP,
				 "dump_write: dump level %u: page cache and "
				 "user pages (2, 4, 8) are not filtered; "
				 "1 (zero pages) and 16 (free pages) are",
				 l);
	if (l && fmt != QVMI_DUMP_KDUMP)
		return qvmi__err(w->ctx, -EINVAL,
				 "dump_write: a dump level is for kdump only");
	if ((l & QVMI_DUMP_LEVEL_FREE) &&
	    (!w->lx || !w->kernel || !w->kernel->vmcoreinfo))
		return qvmi__err(w->ctx, -EINVAL,
				 "dump_write: leaving out free pages needs "
				 "the Linux kernel and its VMCOREINFO");
	return 0;
}

QVMI_API int qvmi_dump_write(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmi_dump_write_opts *opts)
{
	enum qvmi_dump_format fmt = QVMI_OPTS_GET(opts, format, QVMI_DUMP_ELF);
	struct qvmi__writer w = { .ctx = ctx, .path = path, .fd = -1 };
	int err;

	if (!ctx)
		return -EINVAL;
	if (!path || !*path ||
	    !QVMI_OPTS_VALID(opts, struct qvmi_dump_write_opts) ||
	    (unsigned int)fmt > QVMI_DUMP_KDUMP ||
	    (unsigned int)QVMI_OPTS_GET(opts, compress, 0) > QVMI_DUMP_ZSTD)
		return qvmi__err(ctx, -EINVAL, "dump_write: bad arguments");
	w.progress = QVMI_OPTS_GET(opts, progress, NULL);
	w.progress_arg = QVMI_OPTS_GET(opts, progress_arg, NULL);
	w.kernel = QVMI_OPTS_GET(opts, kernel, NULL);
	w.compress = (int)QVMI_OPTS_GET(opts, compress, QVMI_DUMP_ZLIB);
	if (w.kernel && fmt != QVMI_DUMP_ELF && fmt != QVMI_DUMP_KDUMP)
		return qvmi__err(ctx, -EINVAL,
				 "dump_write: a kernel layout is for ELF and "
				 "kdump only");
	w.dump_level = QVMI_OPTS_GET(opts, dump_level, 0);
	w.lx = QVMI_OPTS_GET(opts, lx, NULL);
	err = check_level(&w, fmt);
	if (err)
		return err;
	w.buf = malloc(QVMI__DUMP_CHUNK);
	if (!w.buf)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	err = write_locked(&w, fmt, QVMI_OPTS_GET(opts, pause, 0) != 0);
	if (!err)
		qvmi__clear_err(ctx); /* vCPUs without registers were logged */
	free(w.buf);
	return err;
}

QVMI_API void qvmi_dump_kernel_deinit(struct qvmi_dump_kernel *k)
{
	if (!k)
		return;
	free(k->image);
	free(k->vmcoreinfo);
	memset(k, 0, sizeof(*k));
}
