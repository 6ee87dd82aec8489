// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing kdump-compressed dumps, the layout makedumpfile writes
 * (diskdump_mod.h, header_version 6) and crash and drgn read: the
 * disk_dump_header, a kdump_sub_header followed by the ELF notes (per
 * vCPU NT_PRSTATUS and QEMU notes, and VMCOREINFO, which the sub-header
 * points into), the two bitmaps (pages that exist, pages in the file),
 * one page_desc per page in the file, then the compressed pages.
 *
 * All-zero pages share one stored zero page, as makedumpfile -d 1 does
 * (crash 8 refuses to read a page left out of the second bitmap: "page
 * excluded").  Pages the guest never wrote (holes of a sparse RAM file)
 * are left out of the second bitmap, as makedumpfile -d 16 leaves out free
 * pages, and not even read: dump_level 17.  One pass: the descriptor
 * table is sized for every existing page; only its first entries are
 * written, the rest stays a hole.  With QVMI_DUMP_LEVEL_FREE the pages
 * the guest's buddy allocator holds free (os/linux/freepages.c) are left
 * out of the second bitmap too, unread, as makedumpfile -d 16 does:
 * dump_level 17.
 */
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <zlib.h>
#include <zstd.h>

#include "dumpwrite.h"
#include "os/linux/freepages.h"

enum {
	BS = 4096,
	DESC = 24,
	F_ZLIB = 0x1,
	F_LZO = 0x2,
	F_SNAPPY = 0x4,
	F_ZSTD = 0x20,
	/* compressed pages buffered before a write */
	OUT_CAP = 2 << 20,
};

struct kw {
	struct qvmi__writer *w;
	uint64_t max_mapnr;
	uint8_t *bm1, *bm2;
	uint8_t *bmf; /* free pages (QVMI_DUMP_LEVEL_FREE), or NULL */
	uint64_t nfree;
	uint64_t desc_off, data_off, ndesc;
	uint8_t *out; /* compressed pages, OUT_CAP */
	size_t nout;
	uint8_t *descs; /* their descriptors */
	size_t ndescs_buf, desc_cap;
	uint8_t *cbuf; /* one compressed page */
	size_t cbuf_cap;
	uint32_t flag;
	uint8_t zdesc[DESC]; /* the shared zero page's; [8] == 0: none yet */
	void *lzo_wrk;
	ZSTD_CCtx *zc;
	z_stream zs; /* one deflate state: compress2() allocates 256 KiB and
		      * more per call, 20x slower over a 512 MiB guest */
	bool zs_ok;
};

static void set_bit(uint8_t *bm, uint64_t pfn)
{
	bm[pfn >> 3] |= (uint8_t)(1u << (pfn & 7));
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* Compress one page into k->cbuf; its size, or BS to store it. */
static size_t squeeze(struct kw *k, const uint8_t *page)
{
	unsigned long zl = k->cbuf_cap;
	lzo_uint ll = k->cbuf_cap;
	size_t sl = k->cbuf_cap, zs;

	switch (k->flag) {
	case F_ZLIB:
		if (deflateReset(&k->zs) != Z_OK)
			return BS;
		k->zs.next_in = (Bytef *)page;
		k->zs.avail_in = BS;
		k->zs.next_out = k->cbuf;
		k->zs.avail_out = (uInt)zl;
		if (deflate(&k->zs, Z_FINISH) != Z_STREAM_END)
			return BS;
		return k->zs.total_out < BS ? k->zs.total_out : BS;
	case F_LZO:
		if (lzo1x_1_compress(page, BS, k->cbuf, &ll, k->lzo_wrk) !=
		    LZO_E_OK)
			return BS;
		return ll < BS ? ll : BS;
	case F_SNAPPY:
		if (snappy_compress((const char *)page, BS, (char *)k->cbuf,
				    &sl) != SNAPPY_OK)
			return BS;
		return sl < BS ? sl : BS;
	default:
		zs = ZSTD_compressCCtx(k->zc, k->cbuf, k->cbuf_cap, page, BS,
				       1);
		return ZSTD_isError(zs) || zs >= BS ? BS : zs;
	}
}

static int flush(struct kw *k)
{
	int err = 0;

	if (k->nout)
		err = qvmi__dump_put(k->w, k->out, k->nout, k->data_off);
	if (!err && k->ndescs_buf)
		err = qvmi__dump_put(k->w, k->descs, k->ndescs_buf * DESC,
				     k->desc_off +
					     (k->ndesc - k->ndescs_buf) * DESC);
	k->data_off += k->nout;
	k->nout = 0;
	k->ndescs_buf = 0;
	return err;
}

static bool zero_page(const uint8_t *p)
{
	return !p[0] && !memcmp(p, p + 1, BS - 1);
}

static bool is_free(const struct kw *k, uint64_t pfn)
{
	return k->bmf && pfn < k->max_mapnr &&
	       (k->bmf[pfn >> 3] >> (pfn & 7) & 1);
}

/* Bytes of free pages from pfn on, at most len: skipped unread. */
static uint64_t free_run(const struct kw *k, uint64_t pfn, uint64_t len)
{
	uint64_t n = 0;

	while (n < len && is_free(k, pfn + n / BS))
		n += BS;
	return QVMI_MIN(n, len);
}

static int add_page(struct kw *k, uint64_t pfn, const uint8_t *page)
{
	bool zero = zero_page(page), share = zero && k->zdesc[8];
	size_t c = share ? 0 : squeeze(k, page);
	uint8_t *d;
	int err;

	if (k->nout + BS > OUT_CAP || k->ndescs_buf == k->desc_cap) {
		err = flush(k);
		if (err)
			return err;
	}
	d = k->descs + k->ndescs_buf * DESC;
	if (share) {
		memcpy(d, k->zdesc, DESC);
	} else {
		memcpy(k->out + k->nout, c < BS ? k->cbuf : page, c);
		put64(d, 0, k->data_off + k->nout);
		put32(d, 8, (uint32_t)c);
		put32(d, 12, c < BS ? k->flag : 0);
		put64(d, 16, 0);
		k->nout += c;
		if (zero)
			memcpy(k->zdesc, d, DESC);
	}
	k->ndescs_buf++;
	k->ndesc++;
	set_bit(k->bm2, pfn);
	return 0;
}

/* One range, page by page; its pages exist (first bitmap). */
static int pages(struct kw *k, const struct qvmi__wrange *r)
{
	uint64_t pos = 0, hole;
	int err;

	while (pos < r->size) {
		size_t n = (size_t)QVMI_MIN((uint64_t)QVMI__DUMP_CHUNK,
					    r->size - pos);

		/* whole pages only: pfns must stay aligned */
		hole = qvmi__dump_hole(k->w, r->gpa + pos, r->size - pos) &
		       ~(uint64_t)(BS - 1);
		if (!hole)
			hole = free_run(k, (r->gpa + pos) / BS, r->size - pos);
		if (hole) {
			pos += hole;
			qvmi__dump_tick(k->w, hole);
			continue;
		}
		err = qvmi_read_pa(k->w->ctx, r->gpa + pos, k->w->buf, n);
		if (err)
			return err;
		for (size_t i = 0; i < n; i += BS) {
			if (is_free(k, (r->gpa + pos + i) / BS))
				continue;
			err = add_page(k, (r->gpa + pos + i) / BS,
				       k->w->buf + i);
			if (err)
				return err;
		}
		pos += n;
		qvmi__dump_tick(k->w, n);
	}
	return 0;
}

/* ---- headers ------------------------------------------------------------ */

/* "KEY=value" of the VMCOREINFO text into buf (cut at size - 1). */
static void vmci_value(const char *t, size_t len, const char *key, char *buf,
		       size_t size)
{
	size_t kl = strlen(key), i = 0;

	buf[0] = '\0';
	while (i < len) {
		const char *l = t + i, *nl = memchr(l, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - l) : len - i;

		if (ll > kl && !memcmp(l, key, kl) && l[kl] == '=') {
			ll = QVMI_MIN(ll - kl - 1, size - 1);
			memcpy(buf, l + kl + 1, ll);
			buf[ll] = '\0';
			return;
		}
		i += ll + 1;
	}
}

/*
 * The guest's struct new_utsname (init_uts_ns.name), through VMCOREINFO's
 * SYMBOL(init_uts_ns) and OFFSET(uts_namespace.name) and the kernel
 * image's place.  libkdumpfile (drgn) takes the architecture from it and
 * wants release, version and machine non-empty and NUL-terminated.
 */
static bool guest_uts(struct kw *k, const char *v, size_t vl, uint8_t *uts)
{
	const struct qvmi_dump_kernel *kl = k->w->kernel;
	char sym[32], off[32];
	uint64_t va, pa = 0;
	bool found = false;

	vmci_value(v, vl, "SYMBOL(init_uts_ns)", sym, sizeof(sym));
	vmci_value(v, vl, "OFFSET(uts_namespace.name)", off, sizeof(off));
	if (!kl || !sym[0] || !off[0])
		return false;
	va = strtoull(sym, NULL, 16) + strtoull(off, NULL, 10);
	for (size_t i = 0; i < kl->nimage && !found; i++)
		if (va >= kl->image[i].va &&
		    va - kl->image[i].va < kl->image[i].size) {
			pa = kl->image[i].pa + (va - kl->image[i].va);
			found = true;
		}
	if (!found || qvmi_read_pa(k->w->ctx, pa, uts, 6 * 65))
		return false;
	for (int f = 0; f < 6; f++)
		if (uts[f * 65 + 64])
			return false;
	return !memcmp(uts, "Linux", 6) && uts[2 * 65] && uts[3 * 65] &&
	       uts[4 * 65];
}

/*
 * disk_dump_header: signature, header_version 6, new_utsname (6 x 65:
 * sysname, nodename, release, version, machine, domainname), the
 * timestamp at 408 (8-aligned struct timeval), then status (the
 * compression), block_size, sub_hdr_size, bitmap_blocks, max_mapnr
 * (32-bit; the full one is in the sub-header), ..., nr_cpus at 460.
 */
static void fill_header(struct kw *k, const struct qvmi__notes *nt, uint8_t *h,
			uint32_t sub_blocks, uint32_t bm_blocks)
{
	const char *v = nt->vmci_off ? (const char *)nt->buf + nt->vmci_off :
				       NULL;
	size_t vl = v ? strnlen(v, nt->len - nt->vmci_off) : 0;
	struct timeval tv;

	memcpy(h, "KDUMP   ", 8);
	put32(h, 8, 6);
	if (!v || !guest_uts(k, v, vl, h + 12)) {
		memset(h + 12, 0, 6 * 65);
		memcpy(h + 12, "Linux", 5);
		if (v)
			vmci_value(v, vl, "OSRELEASE", (char *)h + 12 + 2 * 65,
				   65);
		memcpy(h + 12 + 3 * 65, "unknown", 7); /* never empty */
		memcpy(h + 12 + 4 * 65, "x86_64", 6);
	}
	gettimeofday(&tv, NULL);
	put64(h, 408, (uint64_t)tv.tv_sec);
	put64(h, 416, (uint64_t)tv.tv_usec);
	put32(h, 424, k->flag);
	put32(h, 428, BS);
	put32(h, 432, sub_blocks);
	put32(h, 436, bm_blocks);
	put32(h, 440, (uint32_t)QVMI_MIN(k->max_mapnr, (uint64_t)UINT32_MAX));
	put32(h, 460, (uint32_t)nt->nvcpus);
}

/* kdump_sub_header, then the notes in the blocks after it. */
static void fill_sub(struct kw *k, const struct qvmi__notes *nt, uint8_t *s)
{
	const char *v = nt->vmci_off ? (const char *)nt->buf + nt->vmci_off :
				       NULL;
	size_t vl = v ? strnlen(v, nt->len - nt->vmci_off) : 0;
	uint64_t notes = BS + 128; /* file offset of the notes */
	char pb[32];

	if (v) {
		vmci_value(v, vl, "NUMBER(phys_base)", pb, sizeof(pb));
		put64(s, 0, (uint64_t)strtoll(pb, NULL, 10)); /* decimal */
		put64(s, 32, notes + nt->vmci_off);
		put64(s, 40, vl);
	}
	/* dump_level: zero pages (unwritten out, written ones shared), and
	 * free pages if they were left out */
	put32(s, 8, k->bmf ? 17 : 1);
	put64(s, 24, QVMI_MIN(k->max_mapnr, (uint64_t)UINT32_MAX));
	put64(s, 48, notes);
	put64(s, 56, nt->len);
	put64(s, 88, k->max_mapnr); /* end_pfn_64 */
	put64(s, 96, k->max_mapnr); /* max_mapnr_64 */
	memcpy(s + 128, nt->buf, nt->len);
}

static int write_heads(struct kw *k, const struct qvmi__notes *nt,
		       uint32_t sub_blocks, uint32_t bm_blocks)
{
	size_t hlen = (size_t)(1 + sub_blocks) * BS;
	uint64_t half = (uint64_t)bm_blocks * BS / 2,
		 bml = (k->max_mapnr + 7) / 8;
	uint8_t *h = calloc(1, hlen);
	int err;

	if (!h)
		return qvmi__err(k->w->ctx, -ENOMEM, "out of memory");
	fill_header(k, nt, h, sub_blocks, bm_blocks);
	fill_sub(k, nt, h + BS);
	err = qvmi__dump_put(k->w, h, hlen, 0);
	free(h);
	if (!err)
		err = qvmi__dump_put(k->w, k->bm1, bml, hlen);
	if (!err)
		err = qvmi__dump_put(k->w, k->bm2, bml, hlen + half);
	return err;
}

/* ---- the file ----------------------------------------------------------- */

/*
 * makedumpfile 1.7.2 re-filtering a kdump (get_mm_sparsemem(), then
 * prepare_bitmap2_buffer() and copy_bitmap_file()) cuts max_mapnr to the
 * end of the kernel's last present memory section, and looks for the
 * second bitmap that far after the first, ignoring the header's
 * bitmap_blocks, which crash and drgn follow.  Past that section it reads
 * the first bitmap as the second; what it then finds dumpable is nothing,
 * and it fails without a message.  So no page may lie past the end of RAM
 * rounded up to a section: the BIOS at 0xfffc0000 of a guest whose RAM is
 * all below 4 GiB stays out of a kdump (the kernel has no struct page for
 * it; the ELF dump keeps it).  The end is the kernel's RAM where it knows
 * its max_pfn: a guest booted with mem=300M on 512 MiB has sections up to
 * 384 MiB, and a kdump to 512 MiB made makedumpfile fail ("read_pfn:
 * Can't get the page data"); RAM it does not use stays out of a kdump.
 */
uint64_t qvmi__kdump_end(const struct qvmi_ram_range *ram, size_t nram,
			 uint64_t end, unsigned int section_bits,
			 uint64_t max_pfn)
{
	uint64_t top = 0, mask;

	if (!nram || section_bits < 12 || section_bits > 62)
		return end;
	for (size_t i = 0; i < nram; i++)
		if (ram[i].size && ram[i].gpa <= UINT64_MAX - ram[i].size)
			top = QVMI_MAX(top, ram[i].gpa + ram[i].size);
	/* The kernel's own end where it knows less RAM than QEMU has
	 * (mem=300M on 512 MiB): its last present section is the one that
	 * holds max_pfn - 1, and makedumpfile cuts there. */
	if (max_pfn && max_pfn < (1ull << 52))
		top = QVMI_MIN(top, max_pfn * QVMI_PAGE_SIZE);
	mask = (1ull << section_bits) - 1;
	if (!top || top > UINT64_MAX - mask)
		return end;
	return QVMI_MIN(end, (top + mask) & ~mask);
}

/* NUMBER(SECTION_SIZE_BITS) of the guest, or x86_64's 27 (since 2.6.24). */
static unsigned int section_bits(const struct qvmi__writer *w)
{
	char v[16];
	unsigned long b;

	if (!w->kernel || !w->kernel->vmcoreinfo)
		return 27;
	vmci_value(w->kernel->vmcoreinfo,
		   strnlen(w->kernel->vmcoreinfo, w->kernel->vmcoreinfo_len),
		   "NUMBER(SECTION_SIZE_BITS)", v, sizeof(v));
	b = strtoul(v, NULL, 10);
	return v[0] && b >= 12 && b <= 62 ? (unsigned int)b : 27;
}

/* The guest kernel's max_pfn, or 0 (unknown: the end is QEMU's RAM). */
static uint64_t kernel_max_pfn(struct qvmi__writer *w)
{
	uint64_t pfn = 0;

	if (!w->lx || !w->kernel)
		return 0;
	if (qvmi__linux_max_pfn(w->lx, &pfn)) {
		qvmi__log(w->ctx, QVMI_LOG_INFO,
			  "dump: kdump: the kernel's max_pfn unknown (%s): "
			  "ends at the guest's RAM",
			  qvmi_errmsg(w->ctx));
		qvmi__clear_err(w->ctx);
		return 0;
	}
	return pfn;
}

/* The ranges cut at the kdump's end (lim bytes); how many remain. */
static size_t clip(struct qvmi__writer *w, const struct qvmi__wrange *r,
		   size_t n, uint64_t lim, struct qvmi__wrange *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (r[i].gpa + r[i].size > lim)
			qvmi__log(w->ctx, QVMI_LOG_INFO,
				  "dump: kdump leaves out 0x%" PRIx64
				  "-0x%" PRIx64 ", past the guest's last "
				  "memory section",
				  QVMI_MAX(r[i].gpa, lim),
				  r[i].gpa + r[i].size - 1);
		if (r[i].gpa >= lim)
			continue;
		out[m] = r[i];
		out[m++].size = QVMI_MIN(r[i].size, lim - r[i].gpa);
	}
	return m;
}

static int kw_init(struct kw *k, struct qvmi__writer *w,
		   const struct qvmi__wrange *r, size_t n)
{
	static const uint32_t flags[] = { F_ZLIB, F_LZO, F_SNAPPY, F_ZSTD };
	uint64_t end = 0, bml;

	for (size_t i = 0; i < n; i++) {
		if (r[i].gpa % BS || r[i].size % BS)
			return qvmi__err(w->ctx, -EINVAL,
					 "dump: kdump needs page-aligned "
					 "ranges (0x%" PRIx64 ")",
					 r[i].gpa);
		end = QVMI_MAX(end, r[i].gpa + r[i].size);
	}
	k->w = w;
	k->flag = flags[w->compress];
	k->max_mapnr = end / BS; /* the caller clipped them (clip()) */
	bml = (k->max_mapnr + 7) / 8;
	k->bm1 = calloc(1, bml + 1);
	k->bm2 = calloc(1, bml + 1);
	k->out = malloc(OUT_CAP);
	k->desc_cap = OUT_CAP / BS;
	k->descs = malloc(k->desc_cap * DESC);
	k->cbuf_cap = 2 * BS + 1024; /* zstd/snappy/lzo worst case */
	k->cbuf = malloc(k->cbuf_cap);
	if (k->flag == F_LZO && lzo_init() == LZO_E_OK)
		k->lzo_wrk = malloc(LZO1X_1_MEM_COMPRESS);
	if (k->flag == F_ZSTD)
		k->zc = ZSTD_createCCtx();
	if (k->flag == F_ZLIB)
		k->zs_ok = deflateInit(&k->zs, 1) == Z_OK;
	if (!k->bm1 || !k->bm2 || !k->out || !k->descs || !k->cbuf ||
	    (k->flag == F_LZO && !k->lzo_wrk) ||
	    (k->flag == F_ZSTD && !k->zc) || (k->flag == F_ZLIB && !k->zs_ok))
		return qvmi__err(w->ctx, -ENOMEM, "out of memory");
	return 0;
}

/* Find the free pages of every range, the VM held still by now. */
static int find_free(struct kw *k, const struct qvmi__wrange *r, size_t n)
{
	struct qvmi__writer *w = k->w;
	uint64_t nf;
	int err = 0;

	k->bmf = calloc(1, (k->max_mapnr + 7) / 8 + 1);
	if (!k->bmf)
		return qvmi__err(w->ctx, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !err; i++) {
		err = qvmi__linux_free_pages(w->lx, w->kernel->vmcoreinfo,
					     r[i].gpa / BS,
					     (r[i].gpa + r[i].size) / BS,
					     k->bmf, k->max_mapnr, &nf);
		k->nfree += nf;
	}
	if (!err)
		qvmi__log(w->ctx, QVMI_LOG_INFO,
			  "dump: %" PRIu64 " free pages left out", k->nfree);
	return err;
}

static void kw_deinit(struct kw *k)
{
	free(k->bmf);
	free(k->bm1);
	free(k->bm2);
	free(k->out);
	free(k->descs);
	free(k->cbuf);
	free(k->lzo_wrk);
	ZSTD_freeCCtx(k->zc);
	if (k->zs_ok)
		deflateEnd(&k->zs);
}

static int write_kdump(struct qvmi__writer *w, const struct qvmi__wrange *r,
		       size_t n)
{
	struct qvmi__notes nt = { 0 };
	struct kw k = { 0 };
	uint32_t sub_blocks, bm_blocks;
	uint64_t present = 0, bml;
	int err;

	err = kw_init(&k, w, r, n);
	if (!err && (w->dump_level & QVMI_DUMP_LEVEL_FREE))
		err = find_free(&k, r, n);
	if (!err)
		err = qvmi__dump_notes(w, &nt);
	if (err)
		goto out;
	bml = (k.max_mapnr + 7) / 8;
	sub_blocks = (uint32_t)((128 + nt.len + BS - 1) / BS);
	bm_blocks = (uint32_t)(2 * ((bml + BS - 1) / BS));
	for (size_t i = 0; i < n; i++) {
		w->total += r[i].size;
		for (uint64_t p = r[i].gpa / BS;
		     p < (r[i].gpa + r[i].size) / BS; p++)
			set_bit(k.bm1, p);
		present += r[i].size / BS;
	}
	k.desc_off = (1 + (uint64_t)sub_blocks + bm_blocks) * BS;
	k.data_off = k.desc_off + present * DESC; /* room for them all */
	if (w->progress)
		w->progress(0, w->total, w->progress_arg);
	for (size_t i = 0; i < n && !err; i++)
		err = pages(&k, &r[i]);
	if (!err)
		err = flush(&k);
	if (!err)
		err = write_heads(&k, &nt, sub_blocks, bm_blocks);
out:
	free(nt.buf);
	kw_deinit(&k);
	return err;
}

int qvmi__dump_write_kdump(struct qvmi__writer *w, const struct qvmi__wrange *r,
			   size_t n)
{
	struct qvmi__wrange *c = calloc(n ? n : 1, sizeof(*c));
	uint64_t end = 0;
	size_t m;
	int err;

	if (!c)
		return qvmi__err(w->ctx, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		end = QVMI_MAX(end, r[i].gpa + r[i].size);
	m = clip(w, r, n,
		 qvmi__kdump_end(w->ctx->ram, w->ctx->nram, end,
				 section_bits(w), kernel_max_pfn(w)),
		 c);
	err = m ? write_kdump(w, c, m) :
		  qvmi__err(w->ctx, -ENOENT, "dump: no guest memory to write");
	free(c);
	return err;
}
