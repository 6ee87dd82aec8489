// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * LiME dumps (the format Volatility and LiME users exchange; LiME's
 * src/lime.h): per RAM range a 32-byte header {u32 magic 0x4C694D45
 * "EMiL", u32 version 1, u64 s_addr, u64 e_addr (inclusive), u8
 * reserved[8]}, little-endian, then e_addr - s_addr + 1 bytes, until the
 * end of the file.  Read in place through the file source.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/dump.h"

enum { LIME_HDR = 32 };
#define LIME_MAGIC 0x4C694D45u

struct lime_scan {
	struct qvmi__dpiece *p;
	size_t n, cap;
};

static int lbad(struct qvmi_ctx *ctx, const char *what, uint64_t pos)
{
	return qvmi__err(ctx, -EBADMSG, "LiME: %s at file offset 0x%" PRIx64,
			 what, pos);
}

static int push(struct qvmi_ctx *ctx, struct lime_scan *l,
		struct qvmi__dpiece pc)
{
	if (l->n == QVMI_DUMP_MAX_LOADS)
		return qvmi__err(ctx, -EBADMSG, "LiME: too many ranges");
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 16;
		struct qvmi__dpiece *np = realloc(l->p, c * sizeof(*np));

		if (!np)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		l->p = np;
		l->cap = c;
	}
	l->p[l->n++] = pc;
	return 0;
}

static int scan(struct qvmi_ctx *ctx, int fd, uint64_t fsize,
		struct lime_scan *l)
{
	uint64_t pos = 0;

	while (pos < fsize) {
		uint8_t h[LIME_HDR];
		uint64_t s, e, len;
		uint32_t magic, ver;
		int err;

		if (fsize - pos < LIME_HDR)
			return lbad(ctx, "truncated header", pos);
		if (pread(fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h))
			return qvmi__err(ctx, -EIO, "LiME: read failed");
		memcpy(&magic, h, 4);
		memcpy(&ver, h + 4, 4);
		memcpy(&s, h + 8, 8);
		memcpy(&e, h + 16, 8);
		if (magic != LIME_MAGIC || ver != 1)
			return lbad(ctx, "bad range header", pos);
		if (e < s || e >= QVMI_DUMP_MAX_PADDR)
			return lbad(ctx, "bad range", pos);
		len = e - s + 1;
		pos += LIME_HDR;
		if (len > fsize - pos)
			return lbad(ctx, "range past the end (truncated?)",
				    pos);
		err = push(ctx, l,
			   (struct qvmi__dpiece){ s, len, pos, (uint32_t)l->n,
						  false });
		if (err)
			return err;
		pos += len;
	}
	return l->n ? 0 : qvmi__err(ctx, -EBADMSG, "LiME: no ranges");
}

int qvmi__attach_lime_fd(struct qvmi_ctx *ctx, int fd)
{
	struct lime_scan l = { 0 };
	struct qvmi_source *src;
	struct stat st;
	size_t i, n;
	int err;

	if (fstat(fd, &st) || st.st_size < 0)
		err = qvmi__err(ctx, -errno, "LiME: cannot stat the file");
	else
		err = scan(ctx, fd, (uint64_t)st.st_size, &l);
	if (!err)
		err = qvmi__source_file_create(ctx, "raw", fd,
					       (uint64_t)st.st_size, &src);
	if (err) {
		free(l.p);
		close(fd);
		return err;
	}
	n = qvmi__dump_index(l.p, l.n);
	for (i = 0; i < n && !err; i++) {
		err = qvmi_map_add(ctx, src, l.p[i].pa, l.p[i].size,
				   l.p[i].off);
		if (!err)
			err = qvmi__ram_add_merged(ctx, l.p[i].pa, l.p[i].size);
	}
	free(l.p);
	if (!err)
		err = qvmi__ctl_set(ctx, &qvmi__frozen_ctl_ops, NULL);
	return err;
}
