// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi_find_pa skips what the backing holds no data for (holes of a sparse
 * RAM file, anonymous memory never touched) and must still find every
 * match a scan of all the bytes finds: inside data, reaching from data
 * into a hole or from a hole into data, across a short hole, and a
 * pattern of zero bytes in a hole.  The oracle is memmem over the whole
 * memory read byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/sources.h"

enum { MEM = 64 << 20, MAX_HITS = 256 };

struct hits {
	uint64_t v[MAX_HITS];
	size_t n;
	uint64_t last_done, total;
	int progress_calls;
};

static int on_hit(uint64_t gpa, void *arg)
{
	struct hits *h = arg;

	h->v[h->n++] = gpa;
	return h->n == MAX_HITS;
}

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	struct hits *h = arg;

	CHECK(done >= h->last_done && done <= total);
	h->last_done = done;
	h->total = total;
	h->progress_calls++;
}

/* Every match of pat in mem (at most MAX_HITS), overlapping ones too. */
static void oracle(const uint8_t *mem, size_t size, const uint8_t *pat,
		   size_t plen, struct hits *h)
{
	const uint8_t *p = mem, *end = mem + size;

	h->n = 0;
	while (h->n < MAX_HITS && (size_t)(end - p) >= plen &&
	       (p = memmem(p, (size_t)(end - p), pat, plen))) {
		h->v[h->n++] = (uint64_t)(p - mem);
		p++;
	}
}

/* The places patterns are planted: data pages far apart, in holes. */
static const uint64_t data_pages[] = { 0x0,	  0x200000,  0x201000,
				       0x1000000, 0x1010000, 0x3fff000 };

static void plant(uint8_t *m)
{
	/* inside data */
	memcpy(m + 0x100, "needle", 6);
	/* data running into the hole after page 0x201000: "ab" then zeros */
	memcpy(m + 0x201ffe, "ab", 2);
	/* a hole running into data: zeros then "cd" at 0x1000000 */
	memcpy(m + 0x1000000, "cd", 2);
	/* across the short (60 KiB) hole between 0x1000000 and 0x1010000 */
	memcpy(m + 0x1000ffc, "lo", 2);
	memcpy(m + 0x1010000, "ng", 2);
	/* the last page, at the end */
	memcpy(m + MEM - 6, "needle", 6);
}

static void check_pattern(struct qvmi_ctx *ctx, const uint8_t *all,
			  const void *pat, size_t plen)
{
	struct hits want, got = { 0 };
	QVMI_OPTS(qvmi_find_opts, o, .progress = on_progress,
		  .progress_arg = &got);
	int rc;

	oracle(all, MEM, pat, plen, &want);
	rc = qvmi_find_pa_opts(ctx, pat, plen, on_hit, &got, &o);
	CHECK_INT(rc, >=, 0);
	CHECK_MSG(got.n == want.n, "pattern of %zu bytes: %zu hits, want %zu",
		  plen, got.n, want.n);
	for (size_t i = 0; i < want.n && i < got.n; i++)
		CHECK_U64(got.v[i], ==, want.v[i]);
	if (rc == 0) { /* not stopped early: the whole RAM was scanned */
		CHECK_U64(got.last_done, ==, (uint64_t)MEM);
		CHECK_U64(got.total, ==, (uint64_t)MEM);
	}
}

static void check_all(struct qvmi_ctx *ctx, const uint8_t *all)
{
	static const uint8_t zeros[8];

	check_pattern(ctx, all, "needle", 6);
	check_pattern(ctx, all, "ab\0\0\0", 5);
	check_pattern(ctx, all, "\0\0\0cd", 5);
	check_pattern(ctx, all, "lo", 2); /* + zeros + "ng": see below */
	check_pattern(ctx, all, zeros, 8); /* every place: stops at 256 */
	{
		/* "lo", 61438 zero bytes, "ng": longer than the pattern limit,
		 * so the match across the short hole is checked in parts */
		uint8_t p[4096] = { 0 };

		memcpy(p + 4094, "ng", 2);
		check_pattern(ctx, all, p, sizeof(p));
		memset(p, 0, sizeof(p));
		memcpy(p, "lo", 2);
		check_pattern(ctx, all, p, sizeof(p));
		/* the longest patterns into and out of a skipped hole */
		memset(p, 0, sizeof(p));
		memcpy(p + 4094, "cd", 2);
		check_pattern(ctx, all, p, sizeof(p));
		memset(p, 0, sizeof(p));
		memcpy(p, "ab", 2);
		check_pattern(ctx, all, p, sizeof(p));
	}
}

/* A sparse memfd on shm: find leaves it sparse. */
static void test_shm_holes(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_source *src;
	struct stat st0, st1;
	uint8_t *m, *all = malloc(MEM);
	int fd = memfd_create("qvmi-find", MFD_CLOEXEC);

	CHECK(fd >= 0 && all);
	CHECK_OK(ftruncate(fd, MEM));
	m = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(data_pages); i++)
		m[data_pages[i] + 4095] = 0x5a; /* allocate the page */
	plant(m);
	CHECK_OK(fstat(fd, &st0));
	CHECK(pread(fd, all, MEM, 0) == MEM);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__source_shm_create(ctx, dup(fd), true, &src));
	CHECK_OK(qvmi__map_add_host(ctx, src, 0, MEM, 0,
				    qvmi__shm_host(src, 0)));
	CHECK_OK(qvmi__ram_add(ctx, 0, MEM));
	check_all(ctx, all);
	CHECK_OK(fstat(fd, &st1));
	CHECK_U64((uint64_t)st1.st_blocks, ==, (uint64_t)st0.st_blocks);
	qvmi_ctx_destroy(ctx);
	munmap(m, MEM);
	close(fd);
	free(all);
}

/* Anonymous memory of a process (here ours), pages touched here and
 * there: pagemap tells the rest reads as zeros. */
static void test_procmem_anon(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_source *src;
	uint8_t *m = mmap(NULL, MEM, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t s, e;

	CHECK(m != MAP_FAILED);
	/* no huge pages: a touch would make 2 MiB of data */
	madvise(m, MEM, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(data_pages); i++)
		m[data_pages[i] + 4095] = 0x5a;
	plant(m);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__source_procmem_create(ctx, getpid(), &src));
	qvmi__procmem_set_anon(src, (uintptr_t)m, MEM);
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, (uintptr_t)m));
	CHECK_OK(qvmi__ram_add(ctx, 0, MEM));
	/* the pagemap answer itself: the hole after page 0x201000 */
	qvmi__pa_next_data(ctx, 0x202000, MEM - 0x202000, &s, &e);
	if (s == 0x202000) /* pagemap unreadable here: all data */
		SKIP("no /proc/self/pagemap");
	CHECK_U64(s, ==, 0x1000000);
	CHECK_U64(e, ==, 0x1001000);
	check_all(ctx, m);
	qvmi_ctx_destroy(ctx);
	munmap(m, MEM);
}

static void test_bad_opts(void)
{
	struct qvmi_ctx *ctx;
	struct {
		struct qvmi_find_opts o;
		uint64_t future;
	} big = { .o.sz = sizeof(big), .future = 1 };
	struct hits h = { 0 };

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi_find_pa_opts(ctx, "x", 1, on_hit, &h, &big.o), ==,
		  -EINVAL);
	CHECK_INT(qvmi_find_pa_opts(ctx, "", 0, on_hit, &h, NULL), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test find_tests[] = {
	{ "shm_holes", test_shm_holes },
	{ "procmem_anon", test_procmem_anon },
	{ "bad_opts", test_bad_opts },
};
QVMI_SUITE(find, find_tests);
