// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kdump-compressed dumps ("KDUMP   ", makedumpfile's diskdump_mod.h, as
 * makedumpfile -c/-l/-p/-z and QEMU's dump-guest-memory -format kdump-*
 * write them) and their flattened form ("makedumpfile" magic: makedumpfile
 * -F, and every kdump QEMU 7.2 writes).
 *
 * Layout, in blocks of block_size: the disk_dump_header, sub_hdr_size
 * blocks of kdump_sub_header (phys_base, VMCOREINFO and ELF notes
 * offsets, 64-bit max_mapnr from header_version 6), bitmap_blocks of
 * bitmap (first half: pages that exist, second half: pages in the file),
 * then one page_desc {offset, size, flags, page_flags} per page in the
 * file, in pfn order, pointing at its data, compressed with zlib, LZO,
 * snappy or zstd (flags) through those libraries, or stored.
 *
 * The sub-header's ELF notes give the vCPU registers (NT_PRSTATUS, QEMU
 * notes; dump-notes.c).
 *
 * A page that exists but is not in the file was filtered (makedumpfile -d:
 * zero, cache, user or free pages) and reads as zeros.  The sub-header's
 * phys_base is not used: QEMU 7.2 fills it from VMCOREINFO's
 * NUMBER(phys_base) parsed as hex (the kernel prints it in decimal), and
 * reading physical memory does not need it.
 */
#include <elf.h>
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "source/dump.h"

enum {
	HDR_STATUS = 424, /* after the 8-aligned struct timeval */
	HDR_MIN = 464,
	SUB_MIN = 56, /* up to size_note (header_version 4) */
	SUB_V6 = 104, /* with start_pfn_64, end_pfn_64, max_mapnr_64 */
	DESC_SIZE = 24,
	F_ZLIB = 0x1,
	F_LZO = 0x2,
	F_SNAPPY = 0x4,
	F_ZSTD = 0x20,
	RANK_BITS = 4096, /* bits per rank entry */
	MAX_RUNS = QVMI_DUMP_MAX_LOADS,
};
/* 2^40 pages of 4 KiB: 4 PiB, more than x86's 52-bit physical space. */
#define MAX_MAPNR (1ull << 40)

struct kdump {
	struct qvmi_ctx *ctx;
	struct qvmi__dfile *df;
	uint32_t block_size;
	uint64_t max_mapnr;
	uint64_t bitmap_off, bitmap_half; /* bytes per half */
	uint64_t desc_off, ndesc;
	uint8_t *bm1, *bm2;
	uint64_t *rank; /* set bits of bm2 before each RANK_BITS block */
	uint8_t *cbuf; /* compressed page */
	char *vmcoreinfo;
	uint64_t note_off, note_size; /* the ELF notes (version 4+) */
	uint16_t machine; /* e_machine from utsname.machine */
};

static int kbad(struct qvmi_ctx *ctx, const char *what)
{
	return qvmi__err(ctx, -EBADMSG, "kdump: %s", what);
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool bit(const uint8_t *bm, uint64_t pfn)
{
	return bm[pfn >> 3] & (1u << (pfn & 7));
}

/* ---- headers ------------------------------------------------------------ */

static int read_header(struct kdump *k, uint32_t *bitmap_blocks,
		       uint32_t *sub_blocks, int32_t *version)
{
	uint8_t h[HDR_MIN];
	int32_t bs, sub;
	size_t mlen;
	int err = qvmi__dfile_read(k->df, 0, h, sizeof(h));

	if (err)
		return err;
	if (memcmp(h, "KDUMP   ", 8))
		return kbad(k->ctx, "no KDUMP signature");
	*version = (int32_t)le32(h + 8);
	bs = (int32_t)le32(h + HDR_STATUS + 4);
	sub = (int32_t)le32(h + HDR_STATUS + 8);
	*bitmap_blocks = le32(h + HDR_STATUS + 12);
	k->max_mapnr = le32(h + HDR_STATUS + 16);
	/* makedumpfile writes the page size; crash accepts 4 KiB..64 KiB */
	if (bs < 4096 || bs > 65536 || (bs & (bs - 1)))
		return kbad(k->ctx, "bad block_size");
	if (sub < 1 || sub > 1024 || *version < 1 || *version > 64)
		return kbad(k->ctx, "bad sub-header size or version");
	k->block_size = (uint32_t)bs;
	*sub_blocks = (uint32_t)sub;
	/* utsname.machine, e.g. "x86_64" (qvmi_vm_info's arch); kept only
	 * when it fits */
	mlen = strnlen((const char *)h + 12 + 4 * 65, 65);
	k->machine = mlen == 6 && !memcmp(h + 12 + 4 * 65, "x86_64", 6) ?
			     EM_X86_64 :
			     EM_386;
	if (mlen < sizeof(k->ctx->vm_arch)) {
		memcpy(k->ctx->vm_arch, h + 12 + 4 * 65, mlen);
		k->ctx->vm_arch[mlen] = '\0';
	}
	return 0;
}

/* The sub-header: 64-bit max_mapnr (version 6+) and VMCOREINFO. */
static int read_sub(struct kdump *k, int32_t version)
{
	uint8_t s[SUB_V6];
	uint64_t off, size, m;
	int err;

	if (version < 3)
		return 0;
	err = qvmi__dfile_read(k->df, k->block_size, s,
			       version >= 6 ? SUB_V6 : SUB_MIN);
	if (err)
		return err;
	if (version >= 6) {
		m = le64(s + 96);
		if (m)
			k->max_mapnr = m;
	}
	if (version >= 4) {
		k->note_off = le64(s + 48);
		k->note_size = le64(s + 56);
	}
	off = le64(s + 32);
	size = le64(s + 40);
	if (!size)
		return 0;
	if (size > QVMI_DUMP_MAX_VMCOREINFO)
		return kbad(k->ctx, "VMCOREINFO too large");
	k->vmcoreinfo = calloc(1, size + 1);
	if (!k->vmcoreinfo)
		return qvmi__err(k->ctx, -ENOMEM, "out of memory");
	err = qvmi__dfile_read(k->df, off, k->vmcoreinfo, size);
	if (err)
		return err;
	/* like the ELF reader: the text up to the first NUL */
	return 0;
}

/* Both bitmaps, and a rank index over the second. */
static int read_bitmaps(struct kdump *k, uint32_t bitmap_blocks)
{
	uint64_t need = (k->max_mapnr + 7) / 8, i, nr, sum = 0;
	int err;

	k->bitmap_half = (uint64_t)bitmap_blocks * k->block_size / 2;
	/* Past MAX_MAPNR the bitmaps need 256 GiB, so the stored-size check
	 * below refuses any smaller file first: this bound is for the
	 * rank index, not testable on its own. */
	if (!k->max_mapnr || k->max_mapnr > MAX_MAPNR ||
	    need > k->bitmap_half || (bitmap_blocks & 1))
		return kbad(k->ctx, "bitmap does not cover max_mapnr");
	/* both halves are stored in the file: that bounds the allocations */
	if (2 * need > qvmi__dfile_stored(k->df))
		return kbad(k->ctx, "bitmap larger than the file");
	k->bm1 = malloc(need);
	k->bm2 = malloc(need);
	nr = (k->max_mapnr + RANK_BITS - 1) / RANK_BITS;
	k->rank = calloc(nr + 1, sizeof(*k->rank));
	if (!k->bm1 || !k->bm2 || !k->rank)
		return qvmi__err(k->ctx, -ENOMEM, "out of memory");
	err = qvmi__dfile_read(k->df, k->bitmap_off, k->bm1, need);
	if (!err)
		err = qvmi__dfile_read(k->df, k->bitmap_off + k->bitmap_half,
				       k->bm2, need);
	if (err)
		return err;
	/* bits past max_mapnr in the last byte do not count */
	if (k->max_mapnr & 7) {
		k->bm1[need - 1] &= (uint8_t)((1u << (k->max_mapnr & 7)) - 1);
		k->bm2[need - 1] &= (uint8_t)((1u << (k->max_mapnr & 7)) - 1);
	}
	for (i = 0; i < need; i++) {
		if (!(i % (RANK_BITS / 8)))
			k->rank[i / (RANK_BITS / 8)] = sum;
		sum += (uint64_t)__builtin_popcount(k->bm2[i]);
	}
	k->ndesc = sum;
	return 0;
}

/* ---- pages -------------------------------------------------------------- */

/* Index of pfn's page_desc: the set bits of bm2 before it. */
static uint64_t desc_index(const struct kdump *k, uint64_t pfn)
{
	uint64_t r = k->rank[pfn / RANK_BITS], b = pfn / RANK_BITS * RANK_BITS;

	for (; b + 8 <= pfn; b += 8)
		r += (uint64_t)__builtin_popcount(k->bm2[b >> 3]);
	for (; b < pfn; b++)
		r += bit(k->bm2, b);
	return r;
}

static int inflate_page(struct kdump *k, uint32_t flags, size_t clen,
			uint8_t *out)
{
	size_t bs = k->block_size;
	unsigned long zl = bs;
	lzo_uint ll = bs;
	size_t sl = bs;
	bool ok;

	if (flags & F_ZLIB)
		ok = uncompress(out, &zl, k->cbuf, clen) == Z_OK && zl == bs;
	else if (flags & F_LZO)
		ok = lzo1x_decompress_safe(k->cbuf, clen, out, &ll, NULL) ==
			     LZO_E_OK &&
		     ll == bs;
	else if (flags & F_SNAPPY)
		ok = snappy_uncompress((const char *)k->cbuf, clen, (char *)out,
				       &sl) == SNAPPY_OK &&
		     sl == bs;
	else if (flags & F_ZSTD)
		ok = ZSTD_decompress(out, bs, k->cbuf, clen) == bs;
	else
		return kbad(k->ctx, "unknown page compression");
	return ok ? 0 : kbad(k->ctx, "page does not decompress");
}

/* One whole page into out (block_size bytes). */
static int read_page(struct kdump *k, uint64_t pfn, uint8_t *out)
{
	uint8_t d[DESC_SIZE];
	uint64_t idx, off;
	uint32_t size, flags;
	int err;

	/* Reads come through the map, which ends at max_mapnr pages; the
	 * bound stays in case a caller ever reads past it. */
	if (pfn >= k->max_mapnr || !bit(k->bm2, pfn)) {
		memset(out, 0, k->block_size); /* filtered */
		return 0;
	}
	idx = desc_index(k, pfn);
	err = qvmi__dfile_read(k->df, k->desc_off + idx * DESC_SIZE, d,
			       sizeof(d));
	if (err)
		return err;
	off = le64(d);
	size = le32(d + 8);
	flags = le32(d + 12);
	if (!size || size > k->block_size)
		return kbad(k->ctx, "bad page descriptor size");
	if (size == k->block_size &&
	    !(flags & (F_ZLIB | F_LZO | F_SNAPPY | F_ZSTD)))
		return qvmi__dfile_read(k->df, off, out, size);
	err = qvmi__dfile_read(k->df, off, k->cbuf, size);
	return err ? err : inflate_page(k, flags, size, out);
}

static int kdump_read(struct qvmi_source *s, uint64_t addr, void *buf,
		      size_t len)
{
	struct kdump *k = qvmi_source_priv(s);
	uint8_t *p = buf, *page = NULL;
	int err = 0;

	while (len && !err) {
		uint64_t pfn = addr / k->block_size;
		size_t in = addr % k->block_size;
		size_t n = QVMI_MIN(len, (size_t)k->block_size - in);

		if (!in && n == k->block_size) {
			err = read_page(k, pfn, p);
		} else {
			if (!page && !(page = malloc(k->block_size)))
				return qvmi__err(k->ctx, -ENOMEM,
						 "out of memory");
			err = read_page(k, pfn, page);
			if (!err)
				memcpy(p, page + in, n);
		}
		p += n;
		addr += n;
		len -= n;
	}
	free(page);
	return err;
}

static void kdump_free(struct kdump *k)
{
	if (!k)
		return;
	qvmi__dfile_destroy(k->df);
	free(k->bm1);
	free(k->bm2);
	free(k->rank);
	free(k->cbuf);
	free(k->vmcoreinfo);
	free(k);
}

static void kdump_destroy(struct qvmi_source *s)
{
	kdump_free(qvmi_source_priv(s));
}

static const struct qvmi_source_ops kdump_ops = {
	.name = "kdump",
	.read = kdump_read,
	.destroy = kdump_destroy,
};

/* ---- attach --------------------------------------------------------------- */

/*
 * The vCPU registers from the sub-header's ELF notes (offset_note,
 * size_note: makedumpfile copies the crash kernel's per-CPU NT_PRSTATUS,
 * QEMU and qvmi write NT_PRSTATUS and QEMU notes per vCPU).  NULL when
 * there are none.  Notes that do not parse cost the registers only: the
 * memory is read as before, with a warning.
 */
static struct qvmi__dnotes *read_notes(struct kdump *k)
{
	struct qvmi__dnotes *n = NULL;
	uint8_t *buf = NULL;
	size_t count = 0;
	int err = 0;

	if (!k->note_size)
		return NULL;
	if (k->note_size > QVMI_DUMP_MAX_NOTES_BYTES)
		err = kbad(k->ctx, "ELF notes too large");
	if (!err &&
	    (!(buf = malloc(k->note_size)) || !(n = calloc(1, sizeof(*n)))))
		err = qvmi__err(k->ctx, -ENOMEM, "out of memory");
	if (!err)
		err = qvmi__dfile_read(k->df, k->note_off, buf, k->note_size);
	if (!err)
		err = qvmi__dnotes_parse(k->ctx, n, buf, k->note_size, &count);
	free(buf);
	if (!err && !n->nqemu && !n->nprs)
		err = -ENOENT;
	if (err) {
		if (err != -ENOENT)
			qvmi__log(k->ctx, QVMI_LOG_WARN,
				  "kdump: no registers: %s",
				  qvmi_errmsg(k->ctx));
		qvmi__dnotes_free(n);
		return NULL;
	}
	qvmi__dnotes_finish(k->ctx, n, k->machine);
	return n;
}

/* Runs of existing pages (first bitmap), counted or registered. */
static int runs(struct kdump *k, struct qvmi_source *src, uint64_t *count)
{
	uint64_t pfn = 0, start, bs = k->block_size;
	int err = 0;

	*count = 0;
	while (pfn < k->max_mapnr && !err) {
		while (pfn < k->max_mapnr && !bit(k->bm1, pfn))
			pfn++;
		start = pfn;
		while (pfn < k->max_mapnr && bit(k->bm1, pfn))
			pfn++;
		if (pfn == start)
			break;
		++*count;
		if (!src)
			continue;
		err = qvmi_map_add(k->ctx, src, start * bs, (pfn - start) * bs,
				   start * bs);
		if (!err)
			err = qvmi__ram_add_merged(k->ctx, start * bs,
						   (pfn - start) * bs);
	}
	return err;
}

/* RAM: the runs of existing pages; with too many, one range over all. */
static int map_runs(struct kdump *k, struct qvmi_source *src)
{
	uint64_t n, all = k->max_mapnr * k->block_size;
	int err;

	runs(k, NULL, &n);
	if (n <= MAX_RUNS)
		return runs(k, src, &n);
	qvmi__log(k->ctx, QVMI_LOG_WARN,
		  "kdump: %" PRIu64 " RAM runs, one range", n);
	err = qvmi_map_add(k->ctx, src, 0, all, 0);
	return err ? err : qvmi__ram_add_merged(k->ctx, 0, all);
}

static int kdump_parse(struct kdump *k)
{
	uint32_t bitmap_blocks, sub;
	int32_t version;
	int err = read_header(k, &bitmap_blocks, &sub, &version);

	if (!err)
		err = read_sub(k, version);
	if (err)
		return err;
	k->bitmap_off = (1 + (uint64_t)sub) * k->block_size;
	k->desc_off = k->bitmap_off + (uint64_t)bitmap_blocks * k->block_size;
	err = read_bitmaps(k, bitmap_blocks);
	if (err)
		return err;
	/* ndesc < 2^40: no overflow */
	if (k->desc_off + k->ndesc * DESC_SIZE > qvmi__dfile_size(k->df))
		return kbad(k->ctx,
			    "page descriptors past the end (truncated?)");
	k->cbuf = malloc(k->block_size);
	if (!k->cbuf)
		return qvmi__err(k->ctx, -ENOMEM, "out of memory");
	return 0;
}

int qvmi__attach_kdump_fd(struct qvmi_ctx *ctx, int fd, bool flat)
{
	struct kdump *k = calloc(1, sizeof(*k));
	struct qvmi_source *src;
	int err;

	if (!k) {
		close(fd);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	k->ctx = ctx;
	err = qvmi__dfile_create(ctx, fd, flat, &k->df); /* owns fd */
	if (!err)
		err = kdump_parse(k);
	if (err) {
		kdump_free(k);
		return err;
	}
	err = qvmi_source_create(ctx, &kdump_ops, k,
				 QVMI_SOURCE_FROZEN | QVMI_SOURCE_SLOW, &src);
	if (err) {
		kdump_free(k);
		return err;
	}
	err = map_runs(k, src);
	if (!err) {
		struct qvmi__dnotes *n = read_notes(k);

		err = n ? qvmi__ctl_set(ctx, &qvmi__dnotes_ctl_ops, n) :
			  qvmi__ctl_set(ctx, &qvmi__frozen_ctl_ops, NULL);
		if (err)
			qvmi__dnotes_free(n);
	}
	/* qvmi_vmcoreinfo(): the source owns the text until detach */
	if (!err)
		ctx->vmcoreinfo = k->vmcoreinfo;
	return err;
}
