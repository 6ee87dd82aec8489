// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Dump formats told by content: kdump-compressed (every compression
 * through its library), its flattened form, LiME, raw, and "unknown dump
 * format".  The kdump files are built here the way makedumpfile lays them
 * out (diskdump_mod.h); the fuzz corpus holds real ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "dumpcore.h"
#include "format/dumpwrite.h"
#include "source/dump.h"

enum { BS = 4096, NPFN = 64, SUB = 1, BMB = 2 };
static const char vmci[] = "OSRELEASE=6.1.0-kd\nPAGESIZE=4096\n";

/* Page pfn's contents: pfn 3 is all zeros, pfn 5 is not in the file
 * (filtered), pfn >= 48 does not exist. */
static void page_of(uint64_t pfn, uint8_t *p)
{
	for (size_t i = 0; i < BS; i++)
		p[i] = pfn == 3 ? 0 :
				  (uint8_t)(pfn * 7 + (i % 61 ? i / 97 : i));
}

static bool exists(uint64_t pfn)
{
	return pfn < 48;
}

static bool dumped(uint64_t pfn)
{
	return exists(pfn) && pfn != 5;
}

static size_t compress_page(uint32_t flag, const uint8_t *in, uint8_t *out)
{
	unsigned long zl = 2 * BS;
	static uint8_t wrk[LZO1X_1_MEM_COMPRESS];
	lzo_uint ll = 2 * BS;
	size_t sl = 2 * BS;

	switch (flag) {
	case 1:
		CHECK_INT(compress2(out, &zl, in, BS, 6), ==, Z_OK);
		return zl;
	case 2:
		CHECK_INT(lzo_init(), ==, LZO_E_OK);
		CHECK_INT(lzo1x_1_compress(in, BS, out, &ll, wrk), ==,
			  LZO_E_OK);
		return ll;
	case 4:
		CHECK_INT(snappy_compress((const char *)in, BS, (char *)out,
					  &sl),
			  ==, SNAPPY_OK);
		return sl;
	case 0x20:
		return ZSTD_compress(out, 2 * BS, in, BS, 3);
	}
	memcpy(out, in, BS);
	return BS;
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

static uint32_t le32(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return v;
}

static uint64_t get64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

/* A kdump file with every page compressed by flag (0: stored). */
static uint8_t *make_kdump(uint32_t flag, size_t *len)
{
	size_t hdr = (1 + SUB + BMB) * BS, desc = hdr, data, n = 0;
	uint8_t *b = calloc(1, hdr + NPFN * 24 + NPFN * 2 * BS), page[BS];
	uint64_t pfn;

	CHECK(b);
	memcpy(b, "KDUMP   ", 8);
	put32(b, 8, 6);
	put32(b, 424, flag);
	put32(b, 428, BS);
	put32(b, 432, SUB);
	put32(b, 436, BMB);
	put32(b, 440, NPFN);
	put64(b, BS, 0x4600000); /* phys_base, unused */
	put64(b, BS + 32, BS + 512); /* VMCOREINFO */
	put64(b, BS + 40, sizeof(vmci) - 1);
	put64(b, BS + 96, NPFN);
	memcpy(b + BS + 512, vmci, sizeof(vmci) - 1);
	for (pfn = 0; pfn < NPFN; pfn++) {
		if (exists(pfn))
			b[2 * BS + pfn / 8] |= (uint8_t)(1u << (pfn % 8));
		if (dumped(pfn)) {
			b[3 * BS + pfn / 8] |= (uint8_t)(1u << (pfn % 8));
			n++;
		}
	}
	data = desc + n * 24;
	for (pfn = 0; pfn < NPFN; pfn++) {
		size_t c;

		if (!dumped(pfn))
			continue;
		page_of(pfn, page);
		c = compress_page(pfn == 9 ? 0 : flag, page, b + data);
		CHECK(c > 0 && c <= 2 * BS);
		if (c >=
		    BS) { /* as makedumpfile: stored when it does not shrink */
			memcpy(b + data, page, BS);
			c = BS;
		}
		put64(b, desc, data);
		put32(b, desc + 8, (uint32_t)c);
		put32(b, desc + 12, c == BS ? 0 : flag);
		desc += 24;
		data += c;
	}
	*len = data;
	return b;
}

/* The same file flattened: 4 KiB header, {offset, size} records (big
 * endian), out of order, then the end record. */
static uint8_t *flatten(const uint8_t *k, size_t klen, size_t *len)
{
	uint8_t *f = calloc(1, 4096 + klen + (klen / 2048 + 2) * 16 + 16);
	size_t pos = 4096, off;

	CHECK(f);
	memcpy(f, "makedumpfile", 12);
	f[23] = 1;
	f[31] = 1;
	for (int pass = 1; pass >= 0; pass--)
		for (off = (size_t)pass * 2048; off < klen; off += 4096) {
			size_t n = QVMI_MIN((size_t)2048, klen - off);

			for (int i = 0; i < 8; i++) {
				f[pos + i] = (uint8_t)((uint64_t)off >>
						       (56 - 8 * i));
				f[pos + 8 + i] =
					(uint8_t)((uint64_t)n >> (56 - 8 * i));
			}
			memcpy(f + pos + 16, k + off, n);
			pos += 16 + n;
		}
	memset(f + pos, 0xff, 16);
	*len = pos + 16;
	return f;
}

static void check_pages(struct qvmi_ctx *ctx)
{
	uint8_t page[BS], out[BS];

	for (uint64_t pfn = 0; pfn < 48; pfn++) {
		CHECK_OK(qvmi_read_pa(ctx, pfn * BS, out, BS));
		if (pfn == 5)
			memset(page, 0, BS); /* filtered: zeros */
		else
			page_of(pfn, page);
		CHECK_MSG(!memcmp(out, page, BS), "pfn %llu",
			  (unsigned long long)pfn);
	}
	/* across pages, unaligned */
	CHECK_OK(qvmi_read_pa(ctx, 7 * BS - 10, out, 20));
	page_of(7, page);
	CHECK(!memcmp(out + 10, page, 10));
	CHECK_INT(qvmi_read_pa(ctx, 48 * BS, out, 1), ==, -EFAULT);
	CHECK_INT(qvmi_ram_count(ctx), ==, 1);
	CHECK_STR(qvmi_vmcoreinfo(ctx), vmci);
}

static void test_kdump_compressions(void)
{
	static const uint32_t flags[] = { 0, 1, 2, 4, 0x20 };

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(flags); i++) {
		struct qvmi_ctx *ctx = new_ctx();
		struct qvmi_vm_info info;
		size_t len, flen;
		uint8_t *k = make_kdump(flags[i], &len), *f;

		CHECK_OK(attach_buf(ctx, k, len, NULL));
		CHECK_OK(qvmi_vm_info(ctx, &info));
		CHECK_STR(info.backend, "kdump");
		check_pages(ctx);
		qvmi_ctx_destroy(ctx);
		f = flatten(k, len, &flen);
		ctx = new_ctx();
		CHECK_OK(attach_buf(ctx, f, flen, NULL));
		CHECK_OK(qvmi_vm_info(ctx, &info));
		CHECK_STR(info.backend, "flattened");
		check_pages(ctx);
		qvmi_ctx_destroy(ctx);
		free(f);
		free(k);
	}
}

static int attach_err(uint8_t *b, size_t len)
{
	struct qvmi_ctx *ctx = new_ctx();
	int err = attach_buf(ctx, b, len, NULL);

	if (err) {
		CHECK(qvmi_errmsg(ctx)[0]);
		CHECK_INT(qvmi_map_count(ctx), ==, 0);
	}
	qvmi_ctx_destroy(ctx);
	return err;
}

/* A page that fails only when read. */
static int read_err(uint8_t *b, size_t len, uint64_t pa)
{
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t out[16];
	int err;

	CHECK_OK(attach_buf(ctx, b, len, NULL));
	err = qvmi_read_pa(ctx, pa, out, sizeof(out));
	qvmi_ctx_destroy(ctx);
	return err;
}

static void test_kdump_bad(void)
{
	size_t len, desc = (1 + SUB + BMB) * BS;
	uint8_t *k = make_kdump(1, &len), *c = malloc(len);

	CHECK(c);
#define MUT(stmt, want)                                  \
	do {                                             \
		memcpy(c, k, len);                       \
		stmt;                                    \
		CHECK_INT(attach_err(c, len), ==, want); \
	} while (0)
	MUT(put32(c, 428, 1000), -EBADMSG); /* block_size */
	MUT(put32(c, 428, 1 << 20), -EBADMSG);
	MUT(put32(c, 432, 0), -EBADMSG); /* sub-header */
	MUT(put32(c, 436, 3), -EBADMSG); /* odd bitmap */
	MUT(put64(c, BS + 96, 1ull << 30), -EBADMSG); /* bitmap too small */
	MUT(put64(c, BS + 96, 1ull << 50), -EBADMSG);
	MUT(put32(c, 436, 0x10000000), -EBADMSG); /* bitmap past the end */
	MUT(put64(c, BS + 40, 2u << 20), -EBADMSG); /* VMCOREINFO size */
	MUT(put64(c, BS + 32, len), -EBADMSG); /* VMCOREINFO offset */
	CHECK_INT(attach_err(k, desc - 1), ==, -EBADMSG); /* truncated */
	CHECK_INT(attach_err(k, desc + 24 * 47 - 1), ==, -EBADMSG);
	CHECK_OK(attach_err(k, desc + 24 * 47));
#undef MUT
	/* pages: a descriptor past the file, a size over block_size, data
	 * that does not decompress, an unknown compression */
	memcpy(c, k, len);
	put64(c, desc, len);
	CHECK_INT(read_err(c, len, 0), ==, -EBADMSG);
	memcpy(c, k, len);
	put32(c, desc + 8, BS + 1);
	CHECK_INT(read_err(c, len, 0), ==, -EBADMSG);
	memcpy(c, k, len);
	c[get64(c, desc) + 2] ^= 0xff;
	CHECK_INT(read_err(c, len, 0), ==, -EBADMSG);
	memcpy(c, k, len);
	put32(c, desc + 12, 0x40);
	CHECK_INT(read_err(c, len, 0), ==, -EBADMSG);
	free(c);
	free(k);
}

static void test_flat_bad(void)
{
	size_t len, flen;
	uint8_t *k = make_kdump(1, &len), *f = flatten(k, len, &flen);
	uint8_t *c = malloc(flen);

	CHECK(c);
	memcpy(c, f, flen);
	c[31] = 2; /* version */
	CHECK_INT(attach_err(c, flen), ==, -EBADMSG);
	/* no end record */
	CHECK_INT(attach_err(f, flen - 16), ==, -EBADMSG);
	/* no record at all, only the end (fuzz/kdump found qsort(NULL)) */
	memcpy(c, f, 4096);
	memset(c + 4096, 0xff, 16);
	CHECK_INT(attach_err(c, 4096 + 16), ==, -EBADMSG);
	/* a record past the end of the file */
	memcpy(c, f, flen);
	c[4096 + 8] = 0x10;
	CHECK_INT(attach_err(c, flen), ==, -EBADMSG);
	/* two records for the same bytes */
	memcpy(c, f, flen);
	c[4096 + 16 + 2048 + 6] = 0;
	c[4096 + 16 + 2048 + 7] = 0x10;
	CHECK_INT(attach_err(c, flen), ==, -EBADMSG);
	free(c);
	free(f);
	free(k);
}

/* ---- LiME, raw and unknown ---------------------------------------------- */

static struct qvmi_ctx *two_ranges(uint8_t *lo, uint8_t *hi)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *a, *b;

	for (size_t i = 0; i < 0x3000; i++)
		lo[i] = i >= 0x1000 && i < 0x2000 ? 0 : pat(4, i);
	for (size_t i = 0; i < 0x1000; i++)
		hi[i] = pat(8, i);
	CHECK_OK(qvmi_source_testmem_create(ctx, lo, 0x3000, 1, &a));
	CHECK_OK(qvmi_source_testmem_create(ctx, hi, 0x1000, 1, &b));
	CHECK_OK(qvmi_map_add(ctx, a, 0, 0x3000, 0));
	CHECK_OK(qvmi_map_add(ctx, b, 0x100000000ull, 0x1000, 0));
	CHECK_OK(qvmi__ram_add(ctx, 0, 0x3000));
	CHECK_OK(qvmi__ram_add(ctx, 0x100000000ull, 0x1000));
	return ctx;
}

static void test_lime_roundtrip(void)
{
	static uint8_t lo[0x3000], hi[0x1000];
	uint8_t out[0x3000], h[32];
	struct qvmi_ctx *ctx = two_ranges(lo, hi), *back;
	struct qvmi_vm_info info;
	char path[128];
	int fd;

	tmp_path(path, sizeof(path), "rt.lime");
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_LIME);
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, h, 32, 0) == 32);
	close(fd);
	CHECK(!memcmp(h, "EMiL\1\0\0\0", 8));
	CHECK_U64(get64(h, 16), ==, 0x2fff); /* end is inclusive */
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_vm_info(back, &info));
	CHECK_STR(info.backend, "lime");
	CHECK_OK(qvmi_read_pa(back, 0, out, 0x3000));
	CHECK(!memcmp(out, lo, 0x3000));
	CHECK_OK(qvmi_read_pa(back, 0x100000000ull, out, 0x1000));
	CHECK(!memcmp(out, hi, 0x1000));
	CHECK_INT(qvmi_ram_count(back), ==, 2);
	CHECK_INT(qvmi_read_pa(back, 0x3000, out, 1), ==, -EFAULT);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
}

static void test_lime_bad(void)
{
	uint8_t f[32 + 0x1000] = { 0x45, 0x4d, 0x69, 0x4c, 1 };
	uint64_t s = 0x1000, e = 0x1fff;

	memcpy(f + 8, &s, 8);
	memcpy(f + 16, &e, 8);
	CHECK_OK(attach_err(f, sizeof(f)));
	CHECK_INT(attach_err(f, sizeof(f) - 1), ==, -EBADMSG); /* truncated */
	e = 0xfff; /* end before start */
	memcpy(f + 16, &e, 8);
	CHECK_INT(attach_err(f, sizeof(f)), ==, -EBADMSG);
	e = 1ull << 52;
	memcpy(f + 16, &e, 8);
	CHECK_INT(attach_err(f, sizeof(f)), ==, -EBADMSG);
	e = 0x1fff;
	memcpy(f + 16, &e, 8);
	f[4] = 2; /* version */
	CHECK_INT(attach_err(f, sizeof(f)), ==, -EBADMSG);
}

/* Raw only with a BIOS vector table at 0 (or when asked); anything else
 * is "unknown dump format", never read as memory. */
static void test_detect(void)
{
	uint8_t *img = calloc(1, (1 << 20) + 1);
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_vm_info info;

	CHECK(img);
	CHECK_INT(attach_buf(ctx, img, 1 << 20, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "unknown dump format"));
	for (int i = 0; i < 256; i++) { /* SeaBIOS: F000:FF53 */
		img[4 * i] = 0x53, img[4 * i + 1] = 0xff;
		img[4 * i + 2] = 0x00, img[4 * i + 3] = 0xf0;
	}
	CHECK_OK(attach_buf(ctx, img, 1 << 20, NULL));
	CHECK_OK(qvmi_vm_info(ctx, &info));
	CHECK_STR(info.backend, "raw");
	qvmi_ctx_destroy(ctx);
	/* not a multiple of the page size: not a RAM image */
	ctx = new_ctx();
	CHECK_INT(attach_buf(ctx, img, (1 << 20) + 1, NULL), ==, -EBADMSG);
	qvmi_ctx_destroy(ctx);
	/* a DISKDUMP (the format before kdump) and text are unknown */
	ctx = new_ctx();
	memcpy(img, "DISKDUMP", 8);
	CHECK_INT(attach_buf(ctx, img, 4096, NULL), ==, -EBADMSG);
	CHECK_INT(attach_buf(ctx, "hello\n", 6, NULL), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "unknown dump format"));
	/* a raw map says what it is */
	QVMI_OPTS(qvmi_dump_opts, m, .raw_map = "0:6");
	CHECK_OK(attach_buf(ctx, "hello\n", 6, &m));
	qvmi_ctx_destroy(ctx);
	free(img);
}

/* qvmi's kdump writer, read back: every compression; zero pages share one
 * stored page; a kernel layout gives VMCOREINFO. */
static void test_kdump_write(void)
{
	static uint8_t lo[0x3000], hi[0x1000];
	static const enum qvmi_dump_compress cs[] = {
		QVMI_DUMP_ZLIB, QVMI_DUMP_LZO, QVMI_DUMP_SNAPPY, QVMI_DUMP_ZSTD
	};
	static const uint32_t flag[] = { 1, 2, 4, 0x20 };
	struct qvmi_dump_kernel kl = { .page_offset = 0xffff888000000000ull,
				       .vmcoreinfo = (char *)vmci,
				       .vmcoreinfo_len = sizeof(vmci) - 1 };
	struct qvmi_ctx *ctx = two_ranges(lo, hi), *back;
	uint8_t out[0x3000], h[4096 + 128];
	char path[128];
	int fd;

	tmp_path(path, sizeof(path), "w.kdump");
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(cs); i++) {
		QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_KDUMP,
			  .compress = cs[i], .kernel = &kl);
		CHECK_OK(qvmi_dump_write(ctx, path, &o));
		fd = open(path, O_RDONLY);
		CHECK(fd >= 0 && pread(fd, h, sizeof(h), 0) == sizeof(h));
		close(fd);
		CHECK(!memcmp(h, "KDUMP   ", 8));
		CHECK_U64(le32(h + 424), ==, flag[i]);
		/* no guest utsname here: the fallback is never empty */
		CHECK_STR((char *)h + 12 + 2 * 65, "6.1.0-kd");
		CHECK_STR((char *)h + 12 + 4 * 65, "x86_64");
		CHECK(h[12 + 3 * 65]);
		CHECK_U64(get64(h, 4096 + 96), ==, 0x100001); /* max_mapnr */
		back = new_ctx();
		CHECK_OK(qvmi_attach_dump(back, path, NULL));
		CHECK_OK(qvmi_read_pa(back, 0, out, 0x3000));
		CHECK(!memcmp(out, lo, 0x3000));
		CHECK_OK(qvmi_read_pa(back, 0x100000000ull, out, 0x1000));
		CHECK(!memcmp(out, hi, 0x1000));
		CHECK_STR(qvmi_vmcoreinfo(back), vmci);
		CHECK_INT(qvmi_ram_count(back), ==, 2);
		CHECK_INT(qvmi_read_pa(back, 0x3000, out, 1), ==, -EFAULT);
		qvmi_ctx_destroy(back);
	}
	unlink(path);
	QVMI_OPTS(qvmi_dump_write_opts, bad, .format = QVMI_DUMP_KDUMP,
		  .compress = 4);
	CHECK_INT(qvmi_dump_write(ctx, path, &bad), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
}

/*
 * Where a kdump ends: the end of RAM rounded up to a memory section, as
 * makedumpfile 1.7.2 cuts max_mapnr before it finds the second bitmap.
 */
static void test_kdump_end(void)
{
	static const struct qvmi_ram_range lo[] = { { 0, 0x20000000 } },
					   two[] = { { 0, 0xc0000000 },
						     { 0x100000000ull,
						       0x40000000 } },
					   odd[] = { { 0, 0x1f400000 } },
					   wrap[] = { { UINT64_MAX - 0xfff,
							0x1000 } };
	const uint64_t g4 = 0x100000000ull;

	/* RAM below 4 GiB: the BIOS at 0xfffc0000 is cut off */
	CHECK_U64(qvmi__kdump_end(lo, 1, g4, 27, 0), ==, 0x20000000);
	/* RAM above the BIOS keeps it */
	CHECK_U64(qvmi__kdump_end(two, 2, 0x140000000ull, 27, 0), ==,
		  0x140000000ull);
	/* a partial last section: no further than the ranges go */
	CHECK_U64(qvmi__kdump_end(odd, 1, 0x1f400000, 27, 0), ==, 0x1f400000);
	CHECK_U64(qvmi__kdump_end(odd, 1, g4, 27, 0), ==, 0x20000000);
	/* no RAM list, nonsense section sizes, a section past 2^64 */
	CHECK_U64(qvmi__kdump_end(NULL, 0, g4, 27, 0), ==, g4);
	CHECK_U64(qvmi__kdump_end(lo, 1, g4, 5, 0), ==, g4);
	CHECK_U64(qvmi__kdump_end(lo, 1, g4, 63, 0), ==, g4);
	CHECK_U64(qvmi__kdump_end(wrap, 1, g4, 27, 0), ==, g4);
	/* mem=300M on 512 MiB: max_pfn 0x12c00 ends the kdump at the end of
	 * its section (384 MiB), where makedumpfile cuts; a max_pfn above
	 * RAM or of 2^52 pages changes nothing */
	CHECK_U64(qvmi__kdump_end(lo, 1, g4, 27, 0x12c00), ==, 0x18000000);
	CHECK_U64(qvmi__kdump_end(lo, 1, 0x10000000, 27, 0x12c00), ==,
		  0x10000000);
	CHECK_U64(qvmi__kdump_end(lo, 1, g4, 27, 0x40000), ==, 0x20000000);
	CHECK_U64(qvmi__kdump_end(lo, 1, g4, 27, 1ull << 52), ==, 0x20000000);
}

/*
 * RAM at 0-0x3000 and a ROM page at 0xfffc0000 (the BIOS): the kdump
 * stops within the first 128 MiB section, here at the end of RAM.  makedumpfile then finds
 * the second bitmap where the header's bitmap_blocks puts it; before the
 * fix max_mapnr was 0x100000 and it looked 0x1000 bytes after the first.
 */
static void test_kdump_past_ram(void)
{
	static uint8_t lo[0x3000], rom[0x1000];
	struct qvmi_ctx *ctx = new_ctx(), *back;
	struct qvmi_source *a, *b;
	uint8_t h[2 * BS], out[0x3000];
	uint64_t mapnr, mk_half;
	char path[128];
	int fd;

	for (size_t i = 0; i < sizeof(lo); i++)
		lo[i] = pat(4, i);
	memset(rom, 0x5a, sizeof(rom));
	CHECK_OK(qvmi_source_testmem_create(ctx, lo, sizeof(lo), 1, &a));
	CHECK_OK(qvmi_source_testmem_create(ctx, rom, sizeof(rom), 1, &b));
	CHECK_OK(qvmi_map_add(ctx, a, 0, sizeof(lo), 0));
	CHECK_OK(qvmi_map_add(ctx, b, 0xfffc0000ull, sizeof(rom), 0));
	CHECK_OK(qvmi__ram_add(ctx, 0, sizeof(lo)));
	tmp_path(path, sizeof(path), "e.kdump");
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_KDUMP);
	CHECK_OK(qvmi_dump_write(ctx, path, &o));
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, h, sizeof(h), 0) == sizeof(h));
	close(fd);
	mapnr = get64(h, BS + 96); /* max_mapnr_64 */
	CHECK_U64(mapnr, ==, 3); /* the ROM is out: RAM's pages only */
	CHECK_U64(le32(h + 440), ==, 3);
	/* makedumpfile's half bitmap (prepare_bitmap2_buffer) from mapnr
	 * cut to the section's end is the header's */
	mk_half = ((QVMI_MIN(mapnr, 0x8000) + 7) / 8 + BS - 1) / BS * BS;
	CHECK_U64(mk_half * 2, ==, (uint64_t)le32(h + 436) * BS);
	back = new_ctx();
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_read_pa(back, 0, out, sizeof(lo)));
	CHECK(!memcmp(out, lo, sizeof(lo)));
	CHECK_INT(qvmi_read_pa(back, 0xfffc0000ull, out, 1), ==, -EFAULT);
	qvmi_ctx_destroy(back);
	unlink(path);
	qvmi_ctx_destroy(ctx);
}

/* ---- registers from the sub-header's ELF notes ---------------------------- */

enum { NOTE_OFF = BS + 1024 };

/* An ELF note at b + off: header, name (padded to 4), descriptor. */
static size_t put_note(uint8_t *b, size_t off, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, descsz, type };
	size_t nal = (strlen(name) + 1 + 3) & ~(size_t)3;

	memcpy(b + off, h, sizeof(h));
	memcpy(b + off + 12, name, strlen(name));
	memcpy(b + off + 12 + nal, desc, descsz);
	return 12 + nal + ((descsz + 3) & ~(size_t)3);
}

/* make_kdump's file with notes (offset_note, size_note) for two vCPUs:
 * NT_PRSTATUS and QEMU notes, or prstatus only (as makedumpfile copies a
 * crash kernel's). */
static size_t add_notes(uint8_t *b, const struct qvmi_regs_x86 *r, bool qemu)
{
	size_t n = 0;

	for (unsigned int v = 0; v < 2; v++) {
		struct qvmi_prstatus64 p;

		qvmi__regs_to_prstatus(&r[v], v + 1, &p);
		n += put_note(b, NOTE_OFF + n, "CORE", 1, &p, sizeof(p));
	}
	for (unsigned int v = 0; qemu && v < 2; v++) {
		struct qvmi_qemu_cpustate c;

		qvmi__regs_to_cpustate(&r[v], &c);
		n += put_note(b, NOTE_OFF + n, "QEMU", 0, &c, sizeof(c));
	}
	put64(b, BS + 48, NOTE_OFF);
	put64(b, BS + 56, n);
	return n;
}

static void regs_fill(struct qvmi_regs_x86 *r)
{
	memset(r, 0, 2 * sizeof(*r));
	for (unsigned int v = 0; v < 2; v++) {
		r[v].rip = 0xffffffff81001000ull + v;
		r[v].rsp = 0xffffc90000010000ull - v * 8;
		r[v].rax = 0x1234 + v;
		r[v].cr3 = 0x1000000 + v * 0x1000;
		r[v].cr0 = 0x80050033;
		r[v].cr4 = 0x6f0;
		r[v].cs = 0x10;
	}
}

static void test_kdump_regs(void)
{
	struct qvmi_regs_x86 r[2], got;
	size_t len;
	uint8_t *k = make_kdump(1, &len);
	struct qvmi_ctx *ctx;

	regs_fill(r);
	memcpy(k + 12 + 4 * 65, "x86_64", 6); /* utsname.machine */
	for (int qemu = 1; qemu >= 0; qemu--) {
		add_notes(k, r, qemu);
		ctx = new_ctx();
		CHECK_OK(attach_buf(ctx, k, len, NULL));
		CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
		for (unsigned int v = 0; v < 2; v++) {
			CHECK_OK(qvmi_get_regs(ctx, v, &got));
			CHECK_U64(got.rip, ==, r[v].rip);
			CHECK_U64(got.rsp, ==, r[v].rsp);
			CHECK_U64(got.rax, ==, r[v].rax);
			CHECK_U64(got.cs, ==, 0x10);
			/* control registers are in the QEMU note only */
			CHECK_U64(got.cr3, ==, qemu ? r[v].cr3 : 0);
			/* long mode from utsname.machine "x86_64" */
			CHECK_U64(got.efer, ==, qemu ? 0xd00 : 0);
		}
		CHECK_INT(qvmi_get_regs(ctx, 2, &got), ==, -EINVAL);
		check_pages(ctx);
		qvmi_ctx_destroy(ctx);
	}
	free(k);
}

/* Notes that do not parse cost the registers, not the memory. */
static void kdump_no_regs(uint8_t *k, size_t len)
{
	struct qvmi_regs_x86 got;
	struct qvmi_ctx *ctx = new_ctx();

	CHECK_OK(attach_buf(ctx, k, len, NULL));
	CHECK_INT(qvmi_vcpu_count(ctx) > 0, ==, 0);
	CHECK(qvmi_get_regs(ctx, 0, &got) < 0);
	check_pages(ctx);
	qvmi_ctx_destroy(ctx);
}

static void test_kdump_regs_bad(void)
{
	struct qvmi_regs_x86 r[2];
	size_t len, n;
	uint8_t *k = make_kdump(1, &len);

	regs_fill(r);
	n = add_notes(k, r, true);
	/* NT_PRSTATUS of another size (not x86) */
	put32(k, NOTE_OFF + 4, 300);
	kdump_no_regs(k, len);
	add_notes(k, r, true);
	/* a descriptor that runs past size_note */
	put64(k, BS + 56, n - 4);
	kdump_no_regs(k, len);
	/* notes past the end of the file, too large, none at all */
	put64(k, BS + 48, len - 16);
	put64(k, BS + 56, n);
	kdump_no_regs(k, len);
	put64(k, BS + 48, NOTE_OFF);
	put64(k, BS + 56, 1ull << 40);
	kdump_no_regs(k, len);
	put64(k, BS + 56, 0);
	kdump_no_regs(k, len);
	/* a bad QEMUCPUState version */
	add_notes(k, r, true);
	put32(k, NOTE_OFF + n - 440, 2);
	kdump_no_regs(k, len);
	free(k);
}

static const struct qvmi_test dumpfmt_tests[] = {
	{ "kdump_compressions", test_kdump_compressions },
	{ "kdump_bad", test_kdump_bad },
	{ "flat_bad", test_flat_bad },
	{ "lime_roundtrip", test_lime_roundtrip },
	{ "lime_bad", test_lime_bad },
	{ "detect", test_detect },
	{ "kdump_write", test_kdump_write },
	{ "kdump_end", test_kdump_end },
	{ "kdump_past_ram", test_kdump_past_ram },
	{ "kdump_regs", test_kdump_regs },
	{ "kdump_regs_bad", test_kdump_regs_bad },
};

QVMI_SUITE(dumpfmt, dumpfmt_tests);
